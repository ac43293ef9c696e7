"""`ballistics ingest`, `search`, `links`, `reindex`: the JSON documents, exits and errors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from api.cli import EXIT_BAD_INPUT, EXIT_PARTIAL_FAILURE, main
from api.store.database import DATABASE_URL_VARIABLE
from api.store.originals import ORIGINALS_URL_VARIABLE
from tests.api.synthetic_exhibits import manifest_rows, mates, write_rows

INGEST_FIELDS = {"ingested": int, "skipped": int, "failed": list}
CANDIDATE_FIELDS = {
    "exhibit_id": str,
    "case_id": str,
    "agency": str,
    "country": str,
    "score": float,
    "rank": int,
    "id": str,
    "lead": bool,
    "same_source": bool,  # deprecated alias of lead, kept for one release
    "cmc_count": int,
}
LINK_FIELDS = {
    "exhibit_a": str,
    "exhibit_b": str,
    "case_a": str,
    "case_b": str,
    "country_a": str,
    "country_b": str,
    "score": float,
    "cross_border": bool,
    "status": str,
    "id": str,
}
# the synthetic pistols' non-matches score up to ~8 (see tests/api/test_service.py)
OPTIONS = ("--workers", "1", "--top-k", "2")


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit status, standard output, standard error)."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_fields(record: dict[str, object], fields: dict[str, type]) -> None:
    for name, kind in fields.items():
        assert isinstance(record[name], kind), (name, record.get(name))


def assert_one_line_error(error: str, *, names: str) -> None:
    lines = error.splitlines()
    assert len(lines) == 1, error
    assert names in lines[0]
    assert "Traceback" not in error


@pytest.fixture(autouse=True)
def sqlite_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' stores are SQLite files unless a test sets the database URL itself."""
    monkeypatch.delenv(DATABASE_URL_VARIABLE, raising=False)


def ingest_search_links(capsys: pytest.CaptureFixture[str], store: Path, manifest: Path) -> None:
    """Ingest, then search one exhibit, then list the links; check the documents."""
    status, out, _ = run_cli(
        capsys, "ingest", manifest, "--store", store, "--json", *OPTIONS, "--lead-threshold", 15
    )
    assert status == 0
    report = json.loads(out)
    assert_fields(report, INGEST_FIELDS)
    assert (report["ingested"], report["skipped"], report["failed"]) == (6, 0, [])
    assert report["links_created"] == 3

    rows = manifest_rows(manifest)
    truth = mates(rows)
    query = manifest.parent / rows[3]["path"]
    status, out, _ = run_cli(capsys, "search", query, "--store", store, "--json", *OPTIONS)
    assert status == 0
    candidates = json.loads(out)["candidates"]
    for candidate in candidates:
        assert_fields(candidate, CANDIDATE_FIELDS)
    assert [candidate["rank"] for candidate in candidates] == list(range(1, len(candidates) + 1))
    scores = [candidate["score"] for candidate in candidates]
    assert scores == sorted(scores, reverse=True)
    # the stored copy of the query itself comes first, then its true mate
    assert [c["exhibit_id"] for c in candidates[:2]] == [
        rows[3]["exhibit_id"],
        truth[rows[3]["exhibit_id"]],
    ]

    status, out, _ = run_cli(capsys, "links", "--store", store, "--json")
    assert status == 0
    found = json.loads(out)["links"]
    assert len(found) == 3
    for link in found:
        assert_fields(link, LINK_FIELDS)
        assert link["status"] == "lead"
    status, out, _ = run_cli(capsys, "links", "--cross-border", "--store", store, "--json")
    cross = json.loads(out)["links"]
    assert len(cross) == 2 and all(link["cross_border"] for link in cross)


def test_ingest_search_links_on_sqlite(capsys, tmp_path, exhibits):
    ingest_search_links(capsys, tmp_path / "store", exhibits)
    assert (tmp_path / "store" / "ballistics.sqlite3").is_file()
    assert (tmp_path / "store" / "index" / "manifest.json").is_file()


@pytest.mark.postgres
def test_ingest_search_links_on_postgresql(capsys, tmp_path, exhibits, monkeypatch, request):
    url = request.getfixturevalue("postgres_schema_url")
    monkeypatch.setenv(DATABASE_URL_VARIABLE, url)
    ingest_search_links(capsys, tmp_path / "store", exhibits)
    assert not (tmp_path / "store" / "ballistics.sqlite3").exists()


def test_ingest_reports_failed_rows_and_exits_1(capsys, tmp_path, exhibits):
    rows = manifest_rows(exhibits)[:1]
    rows[0]["path"] = str(exhibits.parent / rows[0]["path"])
    rows.append({**rows[0], "exhibit_id": "GONE", "path": "gone.x3p"})
    manifest = write_rows(tmp_path / "lab.csv", rows)
    status, out, err = run_cli(
        capsys, "ingest", manifest, "--store", tmp_path / "s", "--json", "--no-correlate", *OPTIONS
    )
    assert status == EXIT_PARTIAL_FAILURE == 1  # the command ran; part of its work failed
    report = json.loads(out)
    assert (report["ingested"], report["skipped"]) == (1, 0)
    (failure,) = report["failed"]
    assert failure["path"] == "gone.x3p"
    assert "lab.csv line 3" in failure["error"] and "gone.x3p" in failure["error"]
    assert "1 of 2 rows failed" in err  # the warning goes to standard error, not the JSON


@pytest.mark.parametrize("country", ["UK", "XX"])  # UK: well formed, assigned to none
def test_a_row_whose_country_is_no_iso_code_fails_alone_naming_the_column(
    capsys, tmp_path, exhibits, country
):
    rows = manifest_rows(exhibits)[:2]
    for row in rows:
        row["path"] = str(exhibits.parent / row["path"])
    rows[1]["country"] = country
    manifest = write_rows(tmp_path / "lab.csv", rows)
    store = tmp_path / "store"
    status, out, _ = run_cli(
        capsys, "ingest", manifest, "--store", store, "--json", "--no-correlate", *OPTIONS
    )
    assert status == EXIT_PARTIAL_FAILURE
    report = json.loads(out)
    assert report["ingested"] == 1
    (failure,) = report["failed"]
    assert failure["exhibit_id"] == rows[1]["exhibit_id"]
    assert failure["error"].startswith(f"lab.csv line 3 country: country {country!r} is not")
    # the readable report says the same, and exits the same
    rows[1]["exhibit_id"] = "OTHER"
    status, out, _ = run_cli(
        capsys,
        "ingest",
        write_rows(tmp_path / "again.csv", rows),
        "--store",
        store,
        "--no-correlate",
        *OPTIONS,
    )
    assert status == EXIT_PARTIAL_FAILURE
    assert "0 ingested, 1 skipped, 1 failed" in out and "again.csv line 3 country" in out


def test_ingest_of_an_unusable_manifest_fails_in_one_line_and_creates_no_store(capsys, tmp_path):
    store = tmp_path / "store"
    status, out, err = run_cli(
        capsys, "ingest", tmp_path / "absent.csv", "--store", store, "--json"
    )
    assert status == EXIT_BAD_INPUT and out == ""
    assert_one_line_error(err, names="absent.csv")
    manifest = tmp_path / "short.csv"
    manifest.write_text("path,exhibit_id,case_id,agency,kind\na.x3p,E1,C1,Lab,cartridge_case\n")
    status, out, err = run_cli(capsys, "ingest", manifest, "--store", store, "--json")
    assert status == EXIT_BAD_INPUT and out == ""
    assert_one_line_error(err, names="short.csv")
    assert "country" in err
    assert not store.exists()


def test_search_and_links_refuse_a_folder_without_a_store(capsys, tmp_path, exhibits):
    for args in (("search", exhibits), ("links",), ("reindex",)):
        status, out, err = run_cli(capsys, *args, "--store", tmp_path / "none", "--json")
        assert status == EXIT_BAD_INPUT and out == ""
        assert_one_line_error(err, names="no evidence store")
    assert not (tmp_path / "none").exists()


def test_search_of_an_unreadable_file_names_it(capsys, tmp_path, exhibits):
    store = tmp_path / "store"
    run_cli(capsys, "ingest", exhibits, "--store", store, "--no-correlate", *OPTIONS)
    status, out, err = run_cli(capsys, "search", exhibits, "--store", store, "--json")
    assert status == EXIT_BAD_INPUT and out == ""
    assert_one_line_error(err, names=str(exhibits))


def test_reindex_and_the_readable_outputs(capsys, tmp_path, exhibits):
    store = tmp_path / "store"
    status, out, _ = run_cli(
        capsys, "ingest", exhibits, "--store", store, *OPTIONS, "--lead-threshold", 15
    )
    assert status == 0
    assert "6 ingested, 0 skipped, 0 failed, of 6 rows" in out
    assert "3 new leads" in out
    status, out, _ = run_cli(capsys, "reindex", "--store", store, "--json", "--workers", 1)
    assert status == 0
    report = json.loads(out)
    assert report["vectors"] == 6
    assert report["partitions"] == [
        {"kind": "cartridge_case", "modality": "topography", "vectors": 6}
    ]
    status, out, _ = run_cli(capsys, "reindex", "--store", store)
    assert status == 0 and "6 vectors" in out
    query = exhibits.parent / manifest_rows(exhibits)[0]["path"]
    status, out, _ = run_cli(capsys, "search", query, "--store", store, *OPTIONS, "--top", 2)
    assert status == 0
    assert "R1P01-01" in out and "R1P01-02" in out
    status, out, _ = run_cli(capsys, "links", "--store", store, "--status", "lead")
    assert status == 0 and "3 links" in out and "lead" in out


def test_ingest_keeps_originals_where_the_environment_says(capsys, tmp_path, exhibits, monkeypatch):
    store, shared = tmp_path / "store", tmp_path / "shared" / "originals"
    monkeypatch.setenv(ORIGINALS_URL_VARIABLE, f"file://{shared}")
    status, out, _ = run_cli(
        capsys, "ingest", exhibits, "--store", store, "--json", "--no-correlate", *OPTIONS
    )
    assert status == 0 and json.loads(out)["ingested"] == 6
    assert len([path for path in shared.rglob("*") if path.is_file()]) == 6
    assert not (store / "originals").exists()
    status, out, _ = run_cli(capsys, "reindex", "--store", store, "--json", "--workers", 1)
    assert status == 0 and json.loads(out)["vectors"] == 6


@pytest.mark.parametrize(
    ("url", "names"),
    [("nosuchfs://bucket/originals", "unknown protocol 'nosuchfs'"), ("s3://b/o", "s3fs")],
)
def test_an_unusable_originals_url_fails_in_one_line_and_creates_no_store(
    capsys, tmp_path, exhibits, monkeypatch, url, names
):
    if names == "s3fs" and importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed here: its absence cannot be shown")
    monkeypatch.setenv(ORIGINALS_URL_VARIABLE, url)
    status, out, err = run_cli(capsys, "ingest", exhibits, "--store", tmp_path / "store")
    assert status == EXIT_BAD_INPUT and out == ""
    assert_one_line_error(err, names=names)
    assert ORIGINALS_URL_VARIABLE in err
    assert not (tmp_path / "store").exists()
