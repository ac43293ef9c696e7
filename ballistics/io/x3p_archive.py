"""A zip archive read within the limits: entry count, declared and actual decompressed sizes and
compression ratios are checked before and while an entry is inflated (X3P files are zip
archives; see :mod:`ballistics.io.x3p`).
"""

from __future__ import annotations

import zipfile

from ballistics.errors import LimitExceededError, UnreadableFileError
from ballistics.io.limits import ReadLimits

_CHUNK_BYTES = 1024 * 1024


class Archive:
    """A zip archive whose entries are read within the limits, however they declare themselves."""

    def __init__(self, archive: zipfile.ZipFile, name: str, limits: ReadLimits) -> None:
        self.name = name
        self.limits = limits
        self._archive = archive
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise LimitExceededError(
                name,
                f"archive lists {len(entries)} entries, past the limit of {limits.max_zip_entries}",
            )
        names = [entry.filename for entry in entries]
        if len(set(names)) != len(names):
            twice = sorted({member for member in names if names.count(member) > 1})
            # Different readers would pick different copies: the content would be ambiguous.
            raise UnreadableFileError(name, f"archive lists {', '.join(twice)} more than once")
        declared = sum(entry.file_size for entry in entries)
        if declared > limits.max_decompressed_bytes:
            raise LimitExceededError(
                name,
                f"archive declares {declared} bytes once decompressed, past the limit of "
                f"{limits.max_decompressed_bytes}",
            )
        for entry in entries:
            ratio = entry.file_size / max(entry.compress_size, 1)
            if (
                entry.file_size >= limits.ratio_checked_from_bytes
                and ratio > limits.max_compression_ratio
            ):
                raise LimitExceededError(
                    name,
                    f"archive entry {entry.filename} expands {ratio:.0f}-fold, past the limit "
                    f"of {limits.max_compression_ratio:g} (a zip bomb?)",
                )
        self._budget = limits.max_decompressed_bytes

    def has(self, member: str) -> bool:
        try:
            self._archive.getinfo(member)
        except KeyError:
            return False
        return True

    def size(self, member: str) -> int:
        """Return the decompressed size an entry declares."""
        try:
            return self._archive.getinfo(member).file_size
        except KeyError:
            raise UnreadableFileError(self.name, f"the archive has no {member}") from None

    def read(self, member: str, *, max_bytes: int, exact: bool = False) -> bytes:
        """Return an entry's bytes, refusing as soon as more than ``max_bytes`` come out.

        With ``exact``, an entry whose declared or actual size is not ``max_bytes`` is refused
        as malformed (the grid in ``main.xml`` and the data block disagree).
        """
        try:
            entry = self._archive.getinfo(member)
        except KeyError:
            raise UnreadableFileError(self.name, f"the archive has no {member}") from None
        if exact and entry.file_size != max_bytes:
            raise UnreadableFileError(
                self.name, f"{member} holds {entry.file_size} bytes where {max_bytes} are needed"
            )
        cap = min(max_bytes, self._budget)
        chunks: list[bytes] = []
        produced = 0
        # Declared sizes can lie: count what the decompressor actually produces.
        with self._archive.open(entry) as stream:
            while chunk := stream.read(min(_CHUNK_BYTES, cap + 1 - produced)):
                produced += len(chunk)
                if produced > cap:
                    raise LimitExceededError(
                        self.name,
                        f"{member} decompresses past {cap} bytes, the most allowed here",
                    )
                chunks.append(chunk)
        self._budget -= produced
        if exact and produced != max_bytes:
            raise UnreadableFileError(
                self.name, f"{member} holds {produced} bytes where {max_bytes} are needed"
            )
        return b"".join(chunks)
