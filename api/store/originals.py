"""The original evidence files, stored by content: ``originals/ab/cd/<sha256>``.

A file's name is the SHA-256 of its bytes, so that the chain of custody can always show that the
bytes are those that were submitted: every write is hashed and every read is verified. A blob
is written once and never replaced. It appears under its final name only once its bytes are on
disk (written to a temporary name in the same folder, flushed, then linked into place), so a
crash leaves either no blob or a complete one, never half of one.

The originals live in a folder (:class:`OriginalStore`, the default ``<store>/originals``) or,
for processes on several machines, on any fsspec file system such as an S3-compatible object
store (:class:`FsspecOriginalStore`); :func:`open_originals` picks one from a location
(``$BALLISTICS_ORIGINALS_URL``), and both keep the promises above.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from api.store.errors import IntegrityCheckError, NotFoundError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

logger = logging.getLogger(__name__)

#: the environment variable the command line and the server read the originals' location from
ORIGINALS_URL_VARIABLE = "BALLISTICS_ORIGINALS_URL"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: the protocol of a URL (two letters at least: "C://x" is a Windows path)
_PROTOCOL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
_CHAINED_PROTOCOL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)::")
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


class Originals(Protocol):
    """What the service needs of a store of originals (a folder or an fsspec file system)."""

    @property
    def location(self) -> str:
        """Where the originals are: a folder or a URL that :func:`open_originals` opens again
        (in a worker process, or on another machine)."""
        ...

    def contains(self, sha256: str) -> bool:
        """Return True when a blob of ``sha256`` is stored (without verifying it)."""
        ...

    def put_bytes(self, data: bytes, *, name: str = "") -> StoredOriginal:
        """Store ``data`` (unless an intact copy is already there) and return its address."""
        ...

    def put_file(self, path: Path | str, *, name: str | None = None) -> StoredOriginal:
        """Store the file at ``path`` (streamed) and return its address."""
        ...

    def read(self, sha256: str) -> bytes:
        """Return the bytes of the blob ``sha256``, after checking that they hash to it."""
        ...


def open_originals(location: Path | str, **storage_options: Any) -> Originals:
    """Return the store of originals at ``location``: a folder, or an fsspec URL.

    Parameters
    ----------
    location
        A folder path, a ``file://`` URL (the same folder store), or the URL of another fsspec
        file system, e.g. ``s3://bucket/originals`` (with the ``s3fs`` package) or
        ``memory://originals``.
    **storage_options
        Passed to the fsspec file system (credentials, an endpoint URL); fsspec also reads them
        from its configuration, e.g. ``$FSSPEC_S3_ENDPOINT_URL``.

    Raises
    ------
    ValueError
        The URL's protocol is unknown, or the package that implements it is not installed.
    """
    if isinstance(location, Path):
        return OriginalStore(location)
    protocol, path = _split_protocol(location)
    if protocol is None or protocol == "file":
        # a folder keeps the folder store's stronger promises (no-replace links, fsync,
        # read-only blobs) whether it is given as a path or as a file:// URL
        return OriginalStore(path)
    return FsspecOriginalStore(location, **storage_options)


class _ContentAddressed(ABC):
    """Storing by content, shared by the folder and the fsspec stores: each says how it checks
    for an intact blob and how it writes one without ever replacing one."""

    def put_bytes(self, data: bytes, *, name: str = "") -> StoredOriginal:
        """Store ``data`` (unless an intact copy is already there) and return its address.

        Raises
        ------
        IntegrityCheckError
            A blob of the same digest is stored but its bytes no longer match it.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        if not self._already_stored(sha256):
            self._write(sha256, [data])
        return StoredOriginal(sha256=sha256, size_bytes=len(data), name=name)

    def put_file(self, path: Path | str, *, name: str | None = None) -> StoredOriginal:
        """Store the local file at ``path`` (streamed, never whole in memory) and return its
        address.

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
        if not self._already_stored(sha256):
            with open(path, "rb") as handle:
                self._write(sha256, _blocks(handle), source=str(path))
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
        try:
            data, where = self._read_stored(sha256)
        except FileNotFoundError:
            raise NotFoundError("original", sha256) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise _damaged(where, sha256, actual)
        return data

    @abstractmethod
    def _read_stored(self, sha256: str) -> tuple[bytes, str]:
        """The stored bytes of the blob ``sha256`` (unchecked) and where they are, for
        messages; FileNotFoundError when there is none."""

    @abstractmethod
    def _already_stored(self, sha256: str) -> bool:
        """True when an intact blob of ``sha256`` is stored; IntegrityCheckError when a damaged
        one is (never silently replaced: it is an incident in the chain of custody)."""

    @abstractmethod
    def _write(
        self, sha256: str, blocks: Iterable[bytes], *, source: str = "submitted bytes"
    ) -> None:
        """Store the bytes of ``blocks`` as the blob ``sha256``: whole or not at all, hashed as
        written (IntegrityCheckError from :func:`_changed_while_stored` if they differ), never
        replacing a blob."""


class OriginalStore(_ContentAddressed):
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

    @property
    def location(self) -> str:
        """The folder, as :func:`open_originals` takes it."""
        return str(self.folder)

    def path_for(self, sha256: str) -> Path:
        """Return where the blob of ``sha256`` is (or would be) stored."""
        check_sha256(sha256)
        return self.folder / sha256[:2] / sha256[2:4] / sha256

    def contains(self, sha256: str) -> bool:
        """Return True when a blob of ``sha256`` is stored (without verifying it)."""
        return self.path_for(sha256).is_file()

    def _read_stored(self, sha256: str) -> tuple[bytes, str]:
        path = self.path_for(sha256)
        return path.read_bytes(), str(path)

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

    def _already_stored(self, sha256: str) -> bool:
        final = self.path_for(sha256)
        try:
            actual, _ = _hash_file(final)
        except FileNotFoundError:
            return False
        if actual != sha256:
            # never silently replaced: a damaged blob is an incident in the chain of custody
            raise _damaged(final, sha256, actual)
        return True

    def _write(
        self, sha256: str, blocks: Iterable[bytes], *, source: str = "submitted bytes"
    ) -> None:
        final = self.path_for(sha256)
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
                raise _changed_while_stored(source, sha256, digest.hexdigest())
            os.chmod(temporary, _BLOB_MODE)
            _link_into_place(temporary, final)
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_folder(final.parent)
        logger.debug("stored original %s", sha256)


class FsspecOriginalStore(_ContentAddressed):
    """The content-addressed original files on an fsspec file system (e.g. an S3 bucket).

    Blobs have the same names as in a folder (``<url>/ab/cd/<sha256>``), and the same promises:
    every write is hashed, every read verified, a blob is never replaced, and a crash never
    leaves part of one under its name. A blob is written to a temporary key beside its final
    one (``.incoming-<random>``, hashed while written), then moved to its final key only if no
    blob is there. On a file system (``sftp://``, ``local://``) the move is a rename; on an
    object store (``s3://``, ``gs://``) it is a server-side copy, which makes the object appear
    whole or not at all, then the deletion of the temporary key. Two processes storing the same
    content at once both move bytes that hash to the key, so whichever lands last changes
    nothing. A crash leaves at worst a temporary key, never part of a blob.

    Parameters
    ----------
    url
        The fsspec URL of the originals, e.g. ``s3://bucket/originals``.
    **storage_options
        Passed to the fsspec file system (see :func:`open_originals`).

    Raises
    ------
    ValueError
        The URL's protocol is unknown, or the package that implements it is not installed.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url
        self.filesystem, root = _filesystem(url, storage_options)
        self._root = root.rstrip("/")

    def __repr__(self) -> str:
        return f"FsspecOriginalStore({self.url!r})"

    @property
    def location(self) -> str:
        """The URL, as :func:`open_originals` takes it."""
        return self.url

    def key_for(self, sha256: str) -> str:
        """Return the file system path of the blob of ``sha256`` (stored or not)."""
        check_sha256(sha256)
        return f"{self._root}/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def contains(self, sha256: str) -> bool:
        """Return True when a blob of ``sha256`` is stored (without verifying it)."""
        key = self.key_for(sha256)
        self._forget_listing(key)
        return bool(self.filesystem.isfile(key))

    def _read_stored(self, sha256: str) -> tuple[bytes, str]:
        key = self.key_for(sha256)
        self._forget_listing(key)
        return bytes(self.filesystem.cat_file(key)), self.filesystem.unstrip_protocol(key)

    def _forget_listing(self, key: str) -> None:
        # object store clients cache folder listings; another machine may have stored the blob
        # since this process last listed its folder
        self.filesystem.invalidate_cache(key.rsplit("/", 1)[0])

    def _already_stored(self, sha256: str) -> bool:
        key = self.key_for(sha256)
        self._forget_listing(key)
        try:
            with self.filesystem.open(key, "rb") as handle:
                actual, _ = _hash_handle(handle)
        except FileNotFoundError:
            return False
        if actual != sha256:
            # never silently replaced: a damaged blob is an incident in the chain of custody
            raise _damaged(self.filesystem.unstrip_protocol(key), sha256, actual)
        return True

    def _write(
        self, sha256: str, blocks: Iterable[bytes], *, source: str = "submitted bytes"
    ) -> None:
        key = self.key_for(sha256)
        folder = key.rsplit("/", 1)[0]
        temporary = f"{folder}/{_TEMPORARY_PREFIX}{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        moved = False
        try:
            try:
                handle = self.filesystem.open(temporary, "wb")
            except FileNotFoundError:
                # a file system with folders (local, sftp) makes them once; object stores have
                # none, and asking for one costs a request on every write
                self.filesystem.makedirs(folder, exist_ok=True)
                handle = self.filesystem.open(temporary, "wb")
            with handle:
                for block in blocks:
                    digest.update(block)
                    handle.write(block)
            if digest.hexdigest() != sha256:
                raise _changed_while_stored(source, sha256, digest.hexdigest())
            moved = _move_into_place(self.filesystem, temporary, key)
        finally:
            if not moved:
                with contextlib.suppress(FileNotFoundError):
                    self.filesystem.rm_file(temporary)
        logger.debug("stored original %s in %s", sha256, self.url)


def _move_into_place(filesystem: AbstractFileSystem, temporary: str, key: str) -> bool:
    """Move ``temporary`` to ``key`` unless a blob is there (never replacing a blob); return
    whether it moved (else ``temporary`` is still there)."""
    filesystem.invalidate_cache(key.rsplit("/", 1)[0])
    if filesystem.exists(key):
        # another writer stored the same content first: its blob has the same bytes (checked
        # before this write), and replacing it would only risk a damaged copy
        return False
    filesystem.mv(temporary, key)
    return True


def _split_protocol(location: str) -> tuple[str | None, str]:
    """``("s3", "bucket/x")`` of ``"s3://bucket/x"``; ``(None, location)`` of a plain path."""
    chained = _CHAINED_PROTOCOL.match(location)
    if chained is not None:  # a chained fsspec URL, e.g. "simplecache::s3://bucket/x"
        return chained.group(1).lower(), location
    match = _PROTOCOL.match(location)
    if match is None:
        return None, location
    return match.group(1).lower(), location[match.end() :]


def _filesystem(url: str, storage_options: dict[str, Any]) -> tuple[AbstractFileSystem, str]:
    """The fsspec file system of ``url`` and the path in it, or a one-line ValueError."""
    import fsspec
    import fsspec.core
    from fsspec.registry import known_implementations

    for protocol in (part.partition("://")[0].lower() for part in url.split("::")):
        try:
            fsspec.get_filesystem_class(protocol)
        except ValueError:
            raise ValueError(
                f"{ORIGINALS_URL_VARIABLE}={url!r}: unknown protocol {protocol!r}; give a "
                "folder path or an fsspec URL such as s3://bucket/originals or file:///srv/x"
            ) from None
        except ImportError as error:
            implementation = known_implementations.get(protocol, {}).get("class", "")
            package = implementation.split(".", 1)[0]
            if package and package != "fsspec":
                extra = " (this package's [s3] extra)" if package == "s3fs" else ""
                advice = f"install `{package}`{extra}"
            else:
                advice = str(error)
            raise ValueError(
                f"{ORIGINALS_URL_VARIABLE}={url!r}: the {protocol}:// file system is not "
                f"installed; {advice}"
            ) from None
    filesystem, root = fsspec.core.url_to_fs(url, **storage_options)
    return filesystem, str(root)


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
    with open(path, "rb") as handle:
        return _hash_handle(handle)


def _hash_handle(handle: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
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


def _changed_while_stored(source: str, expected: str, copied: str) -> IntegrityCheckError:
    return IntegrityCheckError(
        f"{source}: changed while being stored (SHA-256 {expected} when first read, {copied} "
        "when copied); store it again once it is no longer being written."
    )


def _damaged(path: Path | str, expected: str, actual: str) -> IntegrityCheckError:
    return IntegrityCheckError(
        f"{path}: stored original is damaged: its bytes hash to {actual}, not {expected}; "
        "restore it from a backup and report the incident (chain of custody)."
    )
