"""Fixtures of the HTTP API's tests: the application on a new store, with every agency's key.

The network, its labs and roles are in ``tests/api/network.py``; the synthetic exhibit files
(``exhibit_files``) and the database backends (``database_url``) in ``tests/api/conftest.py``.
Every network prepares its scans through ``prepared_scans``: each exhibit file is prepared once
a session, so that a test of what a route answers pays for no preparation of its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.network import Network, PreparedScans, open_network


@pytest.fixture(scope="session")
def prepared_scans() -> PreparedScans:
    """The session's prepared cartridge cases (installed by the networks below)."""
    return PreparedScans()


@pytest.fixture
def network(tmp_path, exhibit_files, prepared_scans) -> Iterator[Network]:
    """An empty store behind the API (function scope: tests may change it)."""
    yield from open_network(tmp_path / "store", exhibit_files, prepared=prepared_scans)


@pytest.fixture
def network_on_each_backend(
    tmp_path, exhibit_files, database_url, prepared_scans
) -> Iterator[Network]:
    """An empty store behind the API, on SQLite and on an isolated PostgreSQL schema."""
    yield from open_network(
        tmp_path / "store", exhibit_files, database_url=database_url, prepared=prepared_scans
    )


@pytest.fixture(scope="module")
def populated(tmp_path_factory, exhibit_files, prepared_scans) -> Iterator[Network]:
    """The six exhibits uploaded by their labs and correlated (module scope: read only)."""
    store = tmp_path_factory.mktemp("populated") / "store"
    for network in open_network(store, exhibit_files, prepared=prepared_scans):
        for row in network.rows:
            answer = network.upload(row)
            assert answer.status_code == 202, answer.text
            network.ids[row["exhibit_id"]] = answer.json()["id"]
        network.wait_for_jobs()
        yield network
