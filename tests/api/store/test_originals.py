"""Original files stored by content: atomic, verified on write and read, never replaced."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from api.store import originals as originals_module
from api.store.errors import IntegrityCheckError, NotFoundError
from api.store.originals import OriginalStore, check_sha256

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


def test_a_file_that_changes_while_it_is_stored_is_refused(
    originals: OriginalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "growing.x3p"
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
