"""Bytes in and out: bounded reads of an evidence source and atomic writes of a result file."""

from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

from ballistics.errors import LimitExceededError, UnreadableFileError
from ballistics.io.limits import DEFAULT_LIMITS, ReadLimits

#: What a parser of untrusted bytes may raise (zipfile, zlib, struct, numpy, Pillow, tifffile,
#: defusedxml). Readers turn these into an :class:`~ballistics.errors.EvidenceError` with a
#: one-line message; anything else is a bug and is left to propagate. zipfile raises
#: NotImplementedError for an unknown compression method and RuntimeError for an encrypted entry.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ValueError,
    KeyError,
    IndexError,
    EOFError,
    SyntaxError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
)

Source = str | os.PathLike[str] | bytes | bytearray | memoryview


def one_line(error: BaseException) -> str:
    """Return an exception's text on one line (messages reach a terminal and a JSON field)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def load_source(
    source: Source, *, name: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> tuple[bytes, str]:
    """Return the bytes of an evidence source and the name to report it by.

    Parameters
    ----------
    source
        A path (``str`` or ``os.PathLike``) or the file's bytes (an upload).
    name
        The name used in messages and stored as ``Surface.source``; defaults to the path as
        given, or ``"upload"`` for bytes.
    limits
        ``max_file_bytes`` is checked before the file is read (and again while reading, in case
        the file grows or is not a regular file).

    Returns
    -------
    tuple of (bytes, str)
        The content and the name.

    Raises
    ------
    UnreadableFileError
        The path does not exist, is a folder or cannot be read, or the file is empty.
    LimitExceededError
        The file is larger than ``limits.max_file_bytes``.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        label = name if name is not None else "upload"
        data = bytes(source)
        if len(data) > limits.max_file_bytes:
            raise LimitExceededError(
                label, f"file of {len(data)} bytes is past the limit of {limits.max_file_bytes}"
            )
    else:
        path = Path(source)
        label = name if name is not None else os.fspath(source)
        data = _read_path(path, label, limits)
    if not data:
        raise UnreadableFileError(label, "the file is empty")
    return data, label


def _read_path(path: Path, label: str, limits: ReadLimits) -> bytes:
    try:
        if path.is_dir():
            raise UnreadableFileError(label, "is a folder, not a file")
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise LimitExceededError(
                label, f"file of {size} bytes is past the limit of {limits.max_file_bytes}"
            )
        with path.open("rb") as stream:
            # read() allocates the size asked for before it reads: ask for the file's size,
            # and for the rest only if the file turns out longer (it grew, or is not regular)
            data = stream.read(size + 1)
            if len(data) > size:
                data += stream.read(limits.max_file_bytes + 1 - len(data))
    except OSError as error:
        reason = error.strerror or one_line(error)
        raise UnreadableFileError(label, f"cannot be read ({reason})") from error
    if len(data) > limits.max_file_bytes:
        raise LimitExceededError(label, f"file is past the limit of {limits.max_file_bytes} bytes")
    return data


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    The bytes go to a temporary file in the same folder, are flushed to disk (``fsync``) and the
    temporary file then replaces ``path`` in one rename (``os.replace``).

    Returns
    -------
    Path
        The path written.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp creates the file private (0600); give it the permissions a plain write would.
        os.chmod(temporary, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_folder(folder)
    return target


def _sync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not every platform can open a folder, which is harmless.
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
