"""The original evidence files, stored by content: ``originals/ab/cd/<sha256>``.

A file's name is the SHA-256 of its bytes, so that the chain of custody can always show that the
bytes are those that were submitted: every write is hashed and every read is verified. A blob
is written once and never replaced. It appears under its final name only once its bytes are on
disk (written to a temporary name in the same folder, flushed, then linked into place), so a
crash leaves either no blob or a complete one, never half of one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from api.store.errors import IntegrityCheckError, NotFoundError

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BLOCK_BYTES = 1 << 20
_TEMPORARY_PREFIX = ".incoming-"
#: blobs are made read-only, so that a careless tool cannot edit one in place
_BLOB_MODE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True)
class StoredOriginal:
    """One stored original file.

    Parameters
    ----------
    sha256
        Hex SHA-256 of its bytes: its address in the store.
    size_bytes
        Its length.
    name
        The file name it was submitted under (for messages and the exhibit's file list).
    """

    sha256: str
    size_bytes: int
    name: str = ""


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lower-case hex digits, else raise ValueError."""
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise ValueError(
            f"{sha256!r} is not a SHA-256 digest; give 64 lower-case hexadecimal digits."
        )
    return sha256


class OriginalStore:
    """The content-addressed folder of original files.

    Parameters
    ----------
    folder
        The ``originals`` folder of a store; created on the first write.
    """

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"OriginalStore({str(self.folder)!r})"

    def path_for(self, sha256: str) -> Path:
        """Return where the blob of ``sha256`` is (or would be) stored."""
        check_sha256(sha256)
        return self.folder / sha256[:2] / sha256[2:4] / sha256

    def contains(self, sha256: str) -> bool:
        """Return True when a blob of ``sha256`` is stored (without verifying it)."""
        return self.path_for(sha256).is_file()

    def put_bytes(self, data: bytes, *, name: str = "") -> StoredOriginal:
        """Store ``data`` (unless an intact copy is already there) and return its address.

        Raises
        ------
        IntegrityCheckError
            A blob of the same digest is stored but its bytes no longer match it.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        final = self.path_for(sha256)
        if not self._already_stored(final, sha256):
            self._write(final, sha256, [data])
        return StoredOriginal(sha256=sha256, size_bytes=len(data), name=name)

    def put_file(self, path: Path | str, *, name: str | None = None) -> StoredOriginal:
        """Store the file at ``path`` (streamed, never whole in memory) and return its address.

        The file is hashed once to find its address and again while it is copied; the two must
        agree, so that a file changed during the copy is refused rather than mis-filed.

        Raises
        ------
        OSError
            The file cannot be read.
        IntegrityCheckError
            The file changed while it was being stored, or a stored blob of the same digest is
            damaged.
        """
        path = Path(path)
        name = path.name if name is None else name
        sha256, size_bytes = _hash_file(path)
        final = self.path_for(sha256)
        if not self._already_stored(final, sha256):
            with open(path, "rb") as handle:
                self._write(final, sha256, _blocks(handle), source=str(path))
        return StoredOriginal(sha256=sha256, size_bytes=size_bytes, name=name)

    def read(self, sha256: str) -> bytes:
        """Return the bytes of the blob ``sha256``, after checking that they hash to it.

        Raises
        ------
        NotFoundError
            No blob of that digest is stored.
        IntegrityCheckError
            The stored bytes do not hash to ``sha256``: the blob was altered or damaged.
        """
        path = self.path_for(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError("original", sha256) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise _damaged(path, sha256, actual)
        return data

    def verify(self, sha256: str) -> Path:
        """Check the blob ``sha256`` against its digest and return its path (for file readers).

        Raises
        ------
        NotFoundError, IntegrityCheckError
            As :meth:`read`.
        """
        path = self.path_for(sha256)
        try:
            actual, _ = _hash_file(path)
        except FileNotFoundError:
            raise NotFoundError("original", sha256) from None
        if actual != sha256:
            raise _damaged(path, sha256, actual)
        return path

    def _already_stored(self, final: Path, sha256: str) -> bool:
        try:
            actual, _ = _hash_file(final)
        except FileNotFoundError:
            return False
        if actual != sha256:
            # never silently replaced: a damaged blob is an incident in the chain of custody
            raise _damaged(final, sha256, actual)
        return True

    def _write(
        self, final: Path, sha256: str, blocks: Iterable[bytes], *, source: str = "submitted bytes"
    ) -> None:
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.parent / f"{_TEMPORARY_PREFIX}{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        try:
            with open(temporary, "xb") as handle:
                for block in blocks:
                    digest.update(block)
                    handle.write(block)
                handle.flush()
                os.fsync(handle.fileno())
            if digest.hexdigest() != sha256:
                raise IntegrityCheckError(
                    f"{source}: changed while being stored (SHA-256 {sha256} when first read, "
                    f"{digest.hexdigest()} when copied); store it again once it is no longer "
                    "being written."
                )
            os.chmod(temporary, _BLOB_MODE)
            _link_into_place(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_folder(final.parent)
        logger.debug("stored original %s", sha256)


def _link_into_place(temporary: Path, final: Path) -> None:
    """Give ``temporary`` the name ``final`` unless that name exists (never replacing a blob)."""
    try:
        # a hard link fails when the name exists, where os.replace would overwrite it
        os.link(temporary, final)
    except FileExistsError:
        # another writer stored the same content first: its blob has the same bytes
        pass
    except OSError:
        # file systems without hard links; checked first, and the bytes are the same anyway
        if not final.exists():
            os.replace(temporary, final)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in _blocks(handle):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    while block := handle.read(_BLOCK_BYTES):
        yield block


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":  # pragma: no cover - folders cannot be opened on Windows
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _damaged(path: Path, expected: str, actual: str) -> IntegrityCheckError:
    return IntegrityCheckError(
        f"{path}: stored original is damaged: its bytes hash to {actual}, not {expected}; "
        "restore it from a backup and report the incident (chain of custody)."
    )
