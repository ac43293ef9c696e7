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
