"""Errors raised when a saved index cannot be used.

The database is the truth and the index only a cache of it, so every one of these errors has the
same remedy, which its message states: rebuild the index from the stored marks with
``ballistics reindex``. Like the evidence errors, each names the file and the problem in one
line, so that the command line can print ``str(error)``.
"""

from __future__ import annotations

from pathlib import Path

REINDEX_HINT = "rebuild the index from the database with `ballistics reindex`"


class IndexStoreError(RuntimeError):
    """A saved index (its manifest or one of its files) cannot be used.

    Parameters
    ----------
    path
        The file or folder the problem is in.
    problem
        What is wrong; the remedy (:data:`REINDEX_HINT`) is appended to the message.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}; {REINDEX_HINT}.")


class IndexCorruptError(IndexStoreError):
    """A saved index file is missing, truncated, altered or unreadable."""


class IndexVersionError(IndexStoreError):
    """A saved index was written by another format version, dimension or descriptor version."""
