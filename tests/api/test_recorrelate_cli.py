"""`ballistics recorrelate` and the `--cluster` option of `ingest` and `compare --pairs`: the JSON
document, the threshold from the option or the hub's environment, exits, and the addresses
refused before anything is read or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import EXIT_BAD_INPUT, main
from api.store.database import DATABASE_URL_VARIABLE
from ballistics.cluster import CLUSTER_VARIABLE

OPTIONS = ("--workers", "1", "--top-k", "2")


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(autouse=True)
def no_hub_settings(monkeypatch):
    for name in (DATABASE_URL_VARIABLE, CLUSTER_VARIABLE, "BALLISTICS_LEAD_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path, exhibits: Path, capsys) -> Path:
    """Six exhibits ingested under a threshold no pair reaches: scored, not linked."""
    folder = tmp_path / "store"
    status, _, error = run_cli(
        capsys, "ingest", exhibits, *OPTIONS, "--lead-threshold", "1e9", "--store", folder
    )
    assert status == 0, error
    return folder


def test_recorrelate_prints_the_contract_document_and_takes_the_hub_threshold(
    store, capsys, monkeypatch
):
    # the threshold every process of the hub reads
    monkeypatch.setenv("BALLISTICS_LEAD_THRESHOLD", "15")
    status, output, error = run_cli(capsys, "recorrelate", *OPTIONS, "--store", store, "--json")
    assert status == 0, error
    document = json.loads(output)
    assert (document["correlated"], document["leads"], document["failed"]) == (6, 3, [])
    assert (document["comparisons"], document["links_created"]) == (0, 3)
    # the option wins over the environment; a raised threshold demotes no lead
    status, output, _ = run_cli(
        capsys, "recorrelate", *OPTIONS, "--lead-threshold", "1e9", "--store", store, "--json"
    )
    assert status == 0
    assert (json.loads(output)["leads"], json.loads(output)["links_created"]) == (3, 0)
    status, output, _ = run_cli(
        capsys, "recorrelate", *OPTIONS, "--store", store, "--since", "2000-01-01"
    )
    assert status == 0
    assert output.startswith("6 exhibits correlated (0 pairs compared, 0 links added); 3 leads")


def test_recorrelate_refuses_a_folder_without_a_store(tmp_path, capsys):
    status, _, error = run_cli(capsys, "recorrelate", "--store", tmp_path / "none", "--json")
    assert status == EXIT_BAD_INPUT
    assert "no evidence store here" in error
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    "command",
    [
        ("recorrelate",),
        ("ingest", "MANIFEST"),
        ("compare", "--pairs", "PAIRS"),
    ],
)
def test_plain_tcp_beyond_loopback_is_refused_before_anything_is_read(
    command, tmp_path, exhibits, capsys, monkeypatch
):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\nx.x3p,y.x3p\n", encoding="utf-8")
    arguments = [{"MANIFEST": exhibits, "PAIRS": pairs}.get(part, part) for part in command]
    store = tmp_path / "store"
    for cluster in (("--cluster", "tcp://10.0.0.5:8786"), ()):
        if not cluster:  # the same from the environment
            monkeypatch.setenv(CLUSTER_VARIABLE, "10.0.0.5:8786")
        status, output, error = run_cli(capsys, *arguments, *cluster, "--store", store, "--json")
        assert status == EXIT_BAD_INPUT
        assert output == ""
        lines = error.splitlines()
        assert len(lines) == 1, error
        assert "--cluster" in lines[0] and "tls://" in lines[0]
        assert "run whatever code they are sent" in lines[0]
        assert not store.exists()


def test_an_empty_cluster_variable_means_the_local_cores(tmp_path, exhibits, capsys, monkeypatch):
    monkeypatch.setenv(CLUSTER_VARIABLE, "")
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("a,b\nmissing-a.x3p,missing-b.x3p\n", encoding="utf-8")
    status, output, _ = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "1", "--json")
    document = json.loads(output)
    assert document["workers"] == 1
    assert "missing-a.x3p" in document["results"][0]["error"]
    assert status == 1
