"""Errors raised for bad evidence files.

Every error that reaches a user names the file (or field) and the problem in one line, so that
the command line can print ``str(error)`` and the API can answer it as ``{"detail": ...}``.
"""

from __future__ import annotations


class EvidenceError(ValueError):
    """An evidence file or item cannot be used; the message names it and says why.

    Parameters
    ----------
    source
        The file name (or field) the problem is in; empty when there is none.
    problem
        What is wrong, phrased so that the user knows what to fix.
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}" if self.source else problem)


class UnreadableFileError(EvidenceError):
    """The bytes are not a valid file of the format they claim (corrupt, truncated, wrong type).

    The HTTP layer answers it with 415 (unsupported or unrecognised format) or 422.
    """


class LimitExceededError(EvidenceError):
    """The file is past a configured limit (bytes, points, decompressed size).

    The HTTP layer answers it with 413.
    """


class MissingMetadataError(EvidenceError):
    """Something the engine needs is not in the file and was not given (e.g. µm per pixel)."""


class ResolutionOutOfRangeError(EvidenceError):
    """The scan's micrometres per pixel are outside what its kind of mark can be compared at.

    Too coarse, the marks are not in the scan (or the spacing is in the wrong unit); too fine,
    resampling it to the working resolution costs more than any real scan needs. The command
    line exits 2 and the HTTP layer answers 422.
    """


class UnusablePhotographError(EvidenceError):
    """A photograph holds nothing usable: blank, or most of its breech face clipped.

    The message says what to change when taking it again. The command line exits 2 and the HTTP
    layer answers 422.
    """


def check_resolution(
    pixel_um: float, *, allowed_um: tuple[float, float], name: str, what: str
) -> None:
    """Refuse a grid spacing outside ``allowed_um`` (inclusive), naming the file and why.

    Parameters
    ----------
    pixel_um
        The scan's micrometres per pixel.
    allowed_um
        (finest, coarsest) micrometres per pixel accepted.
    name
        The file, for the message.
    what
        The kind of mark, for the message (``"cartridge case"``, ``"bullet land"``).

    Raises
    ------
    ResolutionOutOfRangeError
        ``pixel_um`` is below the finest or above the coarsest spacing accepted.
    """
    finest_um, coarsest_um = allowed_um
    if pixel_um > coarsest_um:
        raise ResolutionOutOfRangeError(
            name,
            f"{pixel_um:.6g} µm per pixel is coarser than the {coarsest_um:g} µm per pixel a "
            f"{what} scan must have ({finest_um:g}-{coarsest_um:g} accepted): its marks are "
            "not in the scan; give the scanner's own file at its measured resolution, or check "
            "that the grid spacing's unit is right",
        )
    if pixel_um < finest_um:
        raise ResolutionOutOfRangeError(
            name,
            f"{pixel_um:.6g} µm per pixel is finer than the {finest_um:g} µm per pixel a "
            f"{what} scan may have ({finest_um:g}-{coarsest_um:g} accepted): no scanner of "
            "these marks works so fine, so the grid spacing's unit is likely wrong; correct "
            "it, or downsample the scan",
        )
