"""The readers-writer lock and the durable file helpers."""

from __future__ import annotations

import threading
import time

import pytest

from indexer import files
from indexer.locking import ReadWriteLock


def test_readers_share_and_a_writer_excludes_them():
    lock = ReadWriteLock()
    inside = []
    both_reading = threading.Barrier(2, timeout=5)

    def reader(name):
        with lock.read():
            inside.append(name)
            both_reading.wait()  # deadlocks (times out) unless two readers hold the lock at once

    readers = [threading.Thread(target=reader, args=(name,)) for name in "ab"]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join()
    assert sorted(inside) == ["a", "b"]

    events = []
    with lock.write():
        late_reader = threading.Thread(target=lambda: lock.read().__enter__() or events.append("r"))
        late_reader.start()
        time.sleep(0.05)
        events.append("w")  # the reader is still waiting
    late_reader.join(timeout=5)
    assert events == ["w", "r"]


def test_atomic_text_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    files.write_text_atomically(path, "old")

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        files.write_text_atomically(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_checksum_and_size(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(b"abc")
    assert files.sha256_of(path) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        3,
    )
