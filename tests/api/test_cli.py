"""The ``ballistics`` command line: the contract's JSON, pairs in CSV order, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import api.pairs
from api.cli import EXIT_BAD_INPUT, EXIT_UNEXPECTED, main
from tests.api.test_pairs import MATCH_A, MATCH_B, OTHER, casings, write_csv

__all__ = ["casings"]  # the shared fixture of synthetic casings

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_FIELDS = {
    "score": float,
    "same_source": bool,
    "kind": str,
    "cmc_count": int,
    "rotation_deg": float,
    "cmc_fraction": float,
    "valid_cells": int,
    "translation_um": list,
    "correlation": float,
    "a": str,
    "b": str,
    "elapsed_s": float,
}


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit status, standard output, standard error)."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(error: str, *, names: str) -> None:
    lines = error.splitlines()
    assert len(lines) == 1, error
    assert names in lines[0]
    assert "Traceback" not in error


def test_compare_json_is_one_document_with_the_contract_fields(casings, capsys):
    a, b = casings / MATCH_A, casings / MATCH_B
    status, out, _ = run_cli(capsys, "compare", "--json", a, b)
    assert status == 0
    record = json.loads(out)  # fails unless standard output holds exactly one JSON document
    for name, kind in CONTRACT_FIELDS.items():
        assert isinstance(record[name], kind), (name, record[name])
    assert record["kind"] == "cartridge_case"
    assert (record["a"], record["b"]) == (str(a), str(b))
    assert record["same_source"] is True
    assert 0 < record["cmc_count"] <= record["valid_cells"]
    assert "firing_pin_correlation" in record


def test_compare_prints_a_readable_summary(casings, capsys):
    status, out, _ = run_cli(capsys, "compare", casings / MATCH_A, casings / MATCH_A)
    assert status == 0
    assert "same source: yes" in out
    assert "congruent cells" in out
    assert MATCH_A in out


@pytest.mark.slow  # about 5 s: three files prepared, two comparisons
def test_pairs_keep_csv_order_and_paths_as_written_and_isolate_failures(casings, capsys):
    pairs = write_csv(
        casings / "pairs.csv",
        [
            "a,b",
            f"{MATCH_B},./{OTHER}",
            f"missing.x3p,{MATCH_A}",
            f"{casings / MATCH_A},{MATCH_B}",
        ],
    )
    status, out, err = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "1", "--json")
    assert status == 0
    document = json.loads(out)
    assert isinstance(document["elapsed_s"], float)
    non_match, missing, match = document["results"]
    assert (non_match["a"], non_match["b"]) == (MATCH_B, f"./{OTHER}")
    assert (missing["a"], missing["b"]) == ("missing.x3p", MATCH_A)
    assert (match["a"], match["b"]) == (str(casings / MATCH_A), MATCH_B)
    assert match["score"] > non_match["score"]
    assert match["same_source"] is True
    assert "score" not in missing
    assert missing["error"].startswith(f"{casings / 'missing.x3p'}: ")
    assert "1 of 3 pairs failed" in err
    assert "━" not in err  # no progress bar when standard error is not a terminal


def test_a_pairs_file_without_its_columns_is_one_line(tmp_path, capsys):
    pairs = write_csv(tmp_path / "list.csv", ["first,second", "x.x3p,y.x3p"])
    status, out, err = run_cli(capsys, "compare", "--pairs", pairs, "--json")
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names="list.csv")


def write_text_named_png(folder: Path) -> Path:
    path = folder / "notes.png"
    path.write_text("this is not a photograph\n", encoding="utf-8")
    return path


def write_corrupt_x3p(folder: Path) -> Path:
    path = folder / "corrupt.x3p"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)  # a zip signature, then noise
    return path


@pytest.mark.parametrize(
    "make_bad_file",
    [write_text_named_png, write_corrupt_x3p, lambda folder: folder / "absent.x3p"],
    ids=["text-named-png", "corrupt-x3p", "missing-file"],
)
def test_bad_input_is_one_line_naming_the_file(tmp_path, casings, capsys, make_bad_file):
    bad = make_bad_file(tmp_path)
    status, out, err = run_cli(capsys, "compare", "--json", bad, casings / MATCH_A)
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names=bad.name)


def test_bullets_are_refused_in_one_line(casings, capsys):
    status, out, err = run_cli(
        capsys, "compare", "--kind", "bullet", casings / MATCH_A, casings / MATCH_B
    )
    assert status != 0
    assert out == ""
    assert_one_line_error(err, names="bullet comparison is not available yet")


def test_usage_mistakes_are_one_line(capsys):
    status, _, err = run_cli(capsys, "compare", "only-one.x3p")
    assert status == EXIT_BAD_INPUT
    assert_one_line_error(err, names="give two items A B")
    status, _, err = run_cli(capsys, "compare", "--pixel-um", "0", "a.png", "b.png")
    assert status == EXIT_BAD_INPUT
    assert_one_line_error(err, names="--pixel-um")


def test_an_unexpected_failure_is_one_line_with_a_hint_unless_debugging(
    casings, capsys, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the engine broke")

    monkeypatch.setattr(api.pairs, "compare_items", broken)
    monkeypatch.delenv("BALLISTICS_DEBUG", raising=False)
    status, _, err = run_cli(capsys, "compare", casings / MATCH_A, casings / MATCH_B)
    assert status == EXIT_UNEXPECTED
    assert_one_line_error(err, names="unexpected RuntimeError: the engine broke")
    assert "--debug" in err
    with pytest.raises(RuntimeError, match="the engine broke"):
        main(["compare", "--debug", str(casings / MATCH_A), str(casings / MATCH_B)])
    monkeypatch.setenv("BALLISTICS_DEBUG", "1")
    with pytest.raises(RuntimeError, match="the engine broke"):
        main(["compare", str(casings / MATCH_A), str(casings / MATCH_B)])


def test_the_module_entry_point_exits_non_zero_with_one_line(tmp_path):
    corrupt = write_corrupt_x3p(tmp_path)
    finished = subprocess.run(
        [sys.executable, "-m", "api.cli", "compare", "--json", str(corrupt), str(corrupt)],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == EXIT_BAD_INPUT
    assert finished.stdout == ""
    assert_one_line_error(finished.stderr, names="corrupt.x3p")


@pytest.mark.slow
def test_demo_finds_the_known_matches_among_exhibits_of_several_countries(tmp_path, capsys):
    status, out, _ = run_cli(
        capsys, "demo", "--pistols", "2", "--firings", "2", "--json", "--store", tmp_path
    )
    assert status == 0
    report = json.loads(out)
    assert len(report["exhibits"]) == 4
    assert len({exhibit["country"] for exhibit in report["exhibits"]}) == 4
    assert len(report["pairs"]) == 6
    for modality, suffix in (("topography", "x3p"), ("photograph", "png")):
        assert len(list((tmp_path / "demo" / modality).glob(f"*.{suffix}"))) == 4
        summary = report["summary"][modality]
        assert summary["known_matches"] == 2
        assert summary["known_non_matches"] == 4
        assert summary["failed"] == 0
        matches = [p[modality]["score"] for p in report["pairs"] if p["known_match"]]
        non_matches = [p[modality]["score"] for p in report["pairs"] if not p["known_match"]]
        assert min(matches) > max(non_matches)
    # the 3D scans uploaded by the labs over the HTTP API: every known match became a link,
    # flagged across borders because each exhibit comes from a different country
    network = report["network"]
    assert len(network["uploads"]) == 4 and network["correlated"] == 4
    linked = {frozenset((link["exhibit_a"], link["exhibit_b"])) for link in report["links"]}
    known = {frozenset((p["a"], p["b"])) for p in report["pairs"] if p["known_match"]}
    assert known <= linked
    for link in report["links"]:
        assert link["cross_border"] == (link["country_a"] != link["country_b"])
    # the examiner confirmed the best cross-border lead, a true one; the investigator's query
    # returns the other country's case; the unshared exhibit's image is refused to another lab
    confirmed = network["confirmed"]
    assert confirmed["status"] == "confirmed"
    assert frozenset((confirmed["exhibit_a"], confirmed["exhibit_b"])) in known
    assert [case["country"] for case in network["linked"]["cases"]] == [confirmed["country_b"]]
    assert network["unshared_image"]["status_for_other"] == 403
    assert network["unshared_image"]["status_for_owner"] == 200
    assert "api_key" not in out and "api_keys" not in report