"""Original files stored by content, in a folder or on an fsspec file system: atomic, verified on
write and read, never replaced."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.store import originals as originals_module
from api.store.errors import IntegrityCheckError, NotFoundError
from api.store.originals import (
    ORIGINALS_URL_VARIABLE,
    FsspecOriginalStore,
    Originals,
    OriginalStore,
    check_sha256,
    open_originals,
)

CONTENT = b"X3P scan bytes \x00\x01\x02" * 1000
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def originals(tmp_path: Path) -> OriginalStore:
    return OriginalStore(tmp_path / "originals")


def _make_writable(path: Path) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_bytes_are_stored_under_their_sha256_and_read_back(originals: OriginalStore) -> None:
    stored = originals.put_bytes(CONTENT, name="case1.x3p")
    assert (stored.sha256, stored.size_bytes, stored.name) == (DIGEST, len(CONTENT), "case1.x3p")
    path = originals.folder / DIGEST[:2] / DIGEST[2:4] / DIGEST
    assert path.read_bytes() == CONTENT
    assert originals.read(DIGEST) == CONTENT
    assert originals.verify(DIGEST) == path
    # read-only: a tool that opens it for writing fails instead of editing evidence
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def test_a_file_is_streamed_in_and_named_after_itself(
    originals: OriginalStore, tmp_path: Path
) -> None:
    source = tmp_path / "exhibit-7.x3p"
    source.write_bytes(CONTENT)
    stored = originals.put_file(source)
    assert (stored.sha256, stored.size_bytes, stored.name) == (DIGEST, len(CONTENT), source.name)
    assert originals.read(DIGEST) == CONTENT


def test_storing_the_same_content_again_keeps_the_first_blob(originals: OriginalStore) -> None:
    originals.put_bytes(CONTENT)
    path = originals.path_for(DIGEST)
    before = path.stat()
    again = originals.put_bytes(CONTENT, name="again.x3p")
    assert again.sha256 == DIGEST
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in path.parent.iterdir()) == [DIGEST]  # no temporary left


def test_a_damaged_blob_is_detected_on_read_and_never_replaced(originals: OriginalStore) -> None:
    originals.put_bytes(CONTENT)
    path = originals.path_for(DIGEST)
    _make_writable(path)
    damaged = bytearray(CONTENT)
    damaged[100] ^= 0x01  # one flipped bit
    path.write_bytes(bytes(damaged))

    with pytest.raises(IntegrityCheckError, match=f"{DIGEST}.*damaged"):
        originals.read(DIGEST)
    with pytest.raises(IntegrityCheckError, match="damaged"):
        originals.verify(DIGEST)
    with pytest.raises(IntegrityCheckError, match="damaged"):
        originals.put_bytes(CONTENT)
    assert path.read_bytes() == bytes(damaged)  # left as found, for the investigation


def _put_a_file_that_changes(
    originals: Originals, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store a file of ``folder`` that grows between its hashing and its copy: refused."""
    source = folder / "growing.x3p"
    source.write_bytes(CONTENT)
    hash_file = originals_module._hash_file

    def hash_then_change(path: Path) -> tuple[str, int]:
        result = hash_file(path)
        if path == source:
            source.write_bytes(CONTENT + b"appended")
        return result

    monkeypatch.setattr(originals_module, "_hash_file", hash_then_change)
    with pytest.raises(IntegrityCheckError, match=r"growing\.x3p: changed while being stored"):
        originals.put_file(source)
    assert not originals.contains(DIGEST)


def test_a_file_that_changes_while_it_is_stored_is_refused(
    originals: OriginalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_a_file_that_changes(originals, tmp_path, monkeypatch)
    folder = originals.path_for(DIGEST).parent
    assert list(folder.iterdir()) == []  # the temporary copy is gone


def test_an_unknown_digest_is_not_found(originals: OriginalStore) -> None:
    with pytest.raises(NotFoundError, match=r"original '0{64}' not found"):
        originals.read("0" * 64)
    assert not originals.contains("0" * 64)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, "", "g" * 64])
def test_digests_that_are_not_sha256_are_refused(originals: OriginalStore, bad: str) -> None:
    with pytest.raises(ValueError, match="not a SHA-256 digest"):
        originals.path_for(bad)
    with pytest.raises(ValueError, match="not a SHA-256 digest"):
        check_sha256(bad)


def test_a_crash_before_the_rename_leaves_no_blob(
    originals: OriginalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def power_cut(*args: object) -> None:
        raise OSError("simulated crash before the blob got its name")

    monkeypatch.setattr(originals_module, "_link_into_place", power_cut)
    with pytest.raises(OSError, match="simulated crash"):
        originals.put_bytes(CONTENT)
    assert not originals.contains(DIGEST)
    assert os.listdir(originals.path_for(DIGEST).parent) == []


# --- originals on an fsspec file system ($BALLISTICS_ORIGINALS_URL) ------------------------------


@pytest.fixture(params=["memory", "local"])
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FsspecOriginalStore]:
    """Originals on fsspec's in-memory file system, and on its local one (a real disk, where the
    move is a rename); never the folder store."""
    if request.param == "memory":
        url = f"memory://originals-{uuid.uuid4().hex}"
    else:
        url = f"local://{tmp_path / 'bucket' / 'originals'}"
    store = open_originals(url)
    assert isinstance(store, FsspecOriginalStore)
    yield store
    root = store.key_for(DIGEST).rsplit("/", 3)[0]
    if store.filesystem.exists(root):  # the in-memory file system lasts as long as the process
        store.filesystem.rm(root, recursive=True)


def _files_under(store: FsspecOriginalStore) -> list[str]:
    root = store.key_for(DIGEST).rsplit("/", 3)[0]
    return sorted(path.rsplit("/", 1)[1] for path in store.filesystem.find(root))


def test_a_location_opens_a_folder_store_or_an_fsspec_one(tmp_path: Path) -> None:
    folder = tmp_path / "originals"
    for given in (folder, str(folder), f"file://{folder}"):
        opened = open_originals(given)
        assert isinstance(opened, OriginalStore) and opened.folder == folder
        assert open_originals(opened.location).location == str(folder)
    url = f"memory://originals-{uuid.uuid4().hex}"
    remote = open_originals(url)
    assert isinstance(remote, FsspecOriginalStore) and remote.location == url


def test_bytes_on_an_fsspec_store_are_stored_under_their_sha256_and_read_back(
    remote: FsspecOriginalStore,
) -> None:
    assert not remote.contains(DIGEST)
    stored = remote.put_bytes(CONTENT, name="case1.x3p")
    assert (stored.sha256, stored.size_bytes, stored.name) == (DIGEST, len(CONTENT), "case1.x3p")
    key = remote.key_for(DIGEST)
    assert key.endswith(f"/{DIGEST[:2]}/{DIGEST[2:4]}/{DIGEST}")
    assert remote.filesystem.cat_file(key) == CONTENT
    assert remote.contains(DIGEST)
    assert remote.read(DIGEST) == CONTENT
    # another process opens the same URL and finds it
    assert open_originals(remote.location).read(DIGEST) == CONTENT
    assert _files_under(remote) == [DIGEST]  # no temporary left


def test_a_file_is_streamed_to_an_fsspec_store(remote: FsspecOriginalStore, tmp_path: Path) -> None:
    source = tmp_path / "exhibit-7.x3p"
    source.write_bytes(CONTENT)
    stored = remote.put_file(source)
    assert (stored.sha256, stored.name) == (DIGEST, source.name)
    assert remote.read(DIGEST) == CONTENT


def test_storing_the_same_content_again_on_an_fsspec_store_writes_nothing(
    remote: FsspecOriginalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote.put_bytes(CONTENT)

    def no_second_write(*args: object) -> None:
        raise AssertionError("a stored blob was written again")

    monkeypatch.setattr(originals_module, "_move_into_place", no_second_write)
    monkeypatch.setattr(remote, "_write", no_second_write)
    assert remote.put_bytes(CONTENT, name="again.x3p").sha256 == DIGEST
    assert _files_under(remote) == [DIGEST]


def test_a_tampered_blob_on_an_fsspec_store_is_detected_and_never_replaced(
    remote: FsspecOriginalStore,
) -> None:
    remote.put_bytes(CONTENT)
    key = remote.key_for(DIGEST)
    damaged = bytearray(CONTENT)
    damaged[100] ^= 0x01  # one flipped bit
    remote.filesystem.rm_file(key)  # the local file system's blob is written once, then closed
    remote.filesystem.pipe_file(key, bytes(damaged))

    with pytest.raises(IntegrityCheckError, match=f"{DIGEST}.*damaged"):
        remote.read(DIGEST)
    with pytest.raises(IntegrityCheckError, match="damaged"):
        remote.put_bytes(CONTENT)
    assert remote.filesystem.cat_file(key) == bytes(damaged)  # left as found
    assert _files_under(remote) == [DIGEST]


def test_a_blob_that_appears_during_a_write_is_not_replaced(
    remote: FsspecOriginalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another writer's blob lands between this writer's check and its move: this writer's
    # bytes never replace it (other bytes here, so that a replacement would show)
    monkeypatch.setattr(remote, "_already_stored", lambda sha256: False)
    key = remote.key_for(DIGEST)
    remote.filesystem.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
    remote.filesystem.pipe_file(key, b"the other writer's bytes")
    assert remote.put_bytes(CONTENT).sha256 == DIGEST
    assert remote.filesystem.cat_file(key) == b"the other writer's bytes"
    assert _files_under(remote) == [DIGEST]  # this writer's temporary is gone


def test_a_file_that_changes_while_stored_on_an_fsspec_store_is_refused(
    remote: FsspecOriginalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_a_file_that_changes(remote, tmp_path, monkeypatch)
    assert _files_under(remote) == []  # the temporary copy is gone


def test_a_failure_before_the_move_leaves_no_blob_on_an_fsspec_store(
    remote: FsspecOriginalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost_connection(*args: object) -> None:
        raise OSError("simulated failure before the blob got its key")

    monkeypatch.setattr(originals_module, "_move_into_place", lost_connection)
    with pytest.raises(OSError, match="simulated failure"):
        remote.put_bytes(CONTENT)
    assert not remote.contains(DIGEST)
    with pytest.raises(NotFoundError, match=r"original '[0-9a-f]{64}' not found"):
        remote.read(DIGEST)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64])
def test_an_fsspec_store_refuses_digests_that_are_not_sha256(
    remote: FsspecOriginalStore, bad: str
) -> None:
    with pytest.raises(ValueError, match="not a SHA-256 digest"):
        remote.read(bad)


def test_an_unknown_protocol_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match="unknown protocol 'nosuchfs'") as raised:
        open_originals("nosuchfs://bucket/originals")
    assert ORIGINALS_URL_VARIABLE in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_fsspec_backend_names_the_package_to_install() -> None:
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here: its absence cannot be shown")
    with pytest.raises(ValueError, match=r"s3:// file system is not installed; install `s3fs`"):
        open_originals("s3://bucket/originals")
