"""Durable file operations: temporary names, fsync, atomic rename, checksums, a folder lock.

A file becomes visible under its final name only once its bytes are on disk: it is written to a
temporary name in the same folder (``os.replace`` is atomic only within one file system), flushed
with ``fsync``, renamed, and the folder itself is then flushed so that the rename survives a
power cut.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX advisory locks; elsewhere the folder lock is a no-op
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TEMPORARY_SUFFIX = ".tmp"
LOCK_NAME = ".lock"
_READ_BLOCK_BYTES = 1 << 20


def temporary_path(folder: Path, stem: str) -> Path:
    """Return an unused hidden temporary file name in ``folder``."""
    return folder / f".{stem}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}"


def fsync_file(path: Path) -> None:
    """Flush a written file's bytes to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames, deletions) to disk, where the platform allows it."""
    if os.name != "posix":  # pragma: no cover - folders cannot be opened on Windows
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sha256_of(path: Path) -> tuple[str, int]:
    """Return (hex SHA-256, size in bytes) of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK_BYTES):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def commit(temporary: Path, final: Path) -> None:
    """Flush ``temporary`` and rename it to ``final`` (replacing it); flush the folder."""
    fsync_file(temporary)
    os.replace(temporary, final)
    fsync_folder(final.parent)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``; readers see the old file or the new, never half."""
    temporary = temporary_path(path.parent, path.name)
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        commit(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def folder_lock(folder: Path, *, exclusive: bool, lock_name: str = LOCK_NAME) -> Iterator[None]:
    """Hold an advisory lock on ``folder`` across processes (shared to read, exclusive to write).

    A writer deletes files that the manifest no longer names; the lock keeps it from doing so
    while another process is between reading the manifest and opening the files it names.
    ``lock_name`` is the lock file: another name is another, independent lock on the folder
    (a lock that may be held while this one is taken needs its own name, since one process's
    two locks on one file would exclude each other).
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        handle = open(folder / lock_name, "a+b")  # noqa: SIM115 - closed below
    except OSError:
        if exclusive:
            raise
        yield  # a read-only folder: nobody can be writing to it
        return
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
