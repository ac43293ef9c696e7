"""The ``ballistics`` command line: the contract's JSON, pairs in CSV order, one-line errors."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

import api.pairs
from api.cli import EXIT_BAD_INPUT, EXIT_PARTIAL_FAILURE, EXIT_UNEXPECTED, main
from tests.api.synthetic_exhibits import MATCH_A, MATCH_B, OTHER, write_csv

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CONTRACT_FIELDS = {
    "score": float,
    "lead": bool,
    "same_source": bool,  # deprecated alias of lead, kept for one release
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
    assert record["lead"] is True
    assert record["same_source"] is record["lead"]  # the deprecated alias says the same
    assert "identification" not in out and "same source" not in out
    assert 0 < record["cmc_count"] <= record["valid_cells"]
    assert "firing_pin_correlation" in record


def test_compare_prints_a_readable_summary(casings, capsys):
    status, out, _ = run_cli(capsys, "compare", casings / MATCH_A, casings / MATCH_A)
    assert status == 0
    assert "lead: yes" in out
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
    assert status == EXIT_PARTIAL_FAILURE
    document = json.loads(out)
    assert isinstance(document["elapsed_s"], float)
    non_match, missing, match = document["results"]
    assert (non_match["a"], non_match["b"]) == (MATCH_B, f"./{OTHER}")
    assert (missing["a"], missing["b"]) == ("missing.x3p", MATCH_A)
    assert (match["a"], match["b"]) == (str(casings / MATCH_A), MATCH_B)
    assert match["score"] > non_match["score"]
    assert match["lead"] is True
    assert "score" not in missing
    assert missing["error"].startswith(f"{casings / 'missing.x3p'}: ")
    assert "1 of 3 pairs failed" in err
    assert "━" not in err  # no progress bar when standard error is not a terminal


def test_pairs_with_a_failed_row_exit_1_and_print_every_row(tmp_path, casings, capsys):
    # paths relative to the list's folder: short enough for the table not to wrap them
    rows = ["a,b", f"{MATCH_A},{MATCH_B}", "gone.x3p,x.x3p"]
    pairs = write_csv(casings / "one-missing.csv", rows)
    status, out, err = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "1", "--json")
    assert status == EXIT_PARTIAL_FAILURE == 1
    compared, failed = json.loads(out)["results"]  # one document, every row in it
    assert compared["lead"] is True and "error" not in compared
    assert failed["a"] == "gone.x3p" and "score" not in failed
    assert "gone.x3p" in failed["error"]
    assert "1 of 2 pairs failed" in err

    status, out, _ = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "1")
    assert status == EXIT_PARTIAL_FAILURE
    assert MATCH_A in out and "gone.x3p" in out  # the table holds both rows
    assert "1 compared, 1 failed" in out


def test_pairs_that_all_compare_exit_0(tmp_path, casings, capsys):
    pairs = write_csv(tmp_path / "pairs.csv", ["a,b", f"{casings / MATCH_A},{casings / MATCH_B}"])
    status, out, err = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "1", "--json")
    assert status == 0
    (result,) = json.loads(out)["results"]
    assert "error" not in result
    assert "failed" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["compare", "--no-such-option"],
        ["agency", "add", "Lab"],  # --country missing
        ["compare", "--workers", "0", "--pairs", "pairs.csv"],
    ],
    ids=["unknown-command", "unknown-option", "missing-option", "out-of-range"],
)
def test_bad_usage_exits_2_in_one_line(tmp_path, capsys, args):
    status, out, err = run_cli(capsys, *args, "--store", tmp_path / "store")
    assert status == EXIT_BAD_INPUT == 2
    assert out == ""
    assert_one_line_error(err, names="ballistics: error: ")
    assert not (tmp_path / "store").exists()


def test_version_prints_the_installed_version(capsys):
    status, out, err = run_cli(capsys, "--version")
    assert status == 0
    assert out == f"ballistics {importlib.metadata.version('ballistics')}\n"
    assert err == ""


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


def test_a_casing_scan_given_as_a_bullet_is_one_line(casings, capsys):
    status, out, err = run_cli(
        capsys, "compare", "--kind", "bullet", casings / MATCH_A, casings / MATCH_B
    )
    assert status == EXIT_BAD_INPUT
    assert out == ""
    # a casing scan (10 µm per pixel) is refused from its header as too coarse for a land
    assert_one_line_error(err, names="µm per pixel is coarser than")
    assert MATCH_A in err


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
    assert status == EXIT_UNEXPECTED == 3  # its own status: 1 means "some rows failed"
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
    assert len(network["uploads"]) == 7 and network["correlated"] == 7  # 4 casings, 3 bullets
    # the two bullets fired by one barrel, filed in two countries, are linked; the third is not
    bullet_links = [link for link in report["links"] if link["exhibit_a"].startswith("BUL")]
    assert [(link["exhibit_a"], link["exhibit_b"], link["truth"]) for link in bullet_links] == [
        ("BUL-1", "BUL-3", "same_barrel")
    ]
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


def _real_bullets() -> Path:
    """Return the folder of the real bullet scans, or skip the test saying why it is absent."""
    from tests.real_data import DATA

    bullets = DATA / "bullets"
    if not bullets.is_dir():
        pytest.skip(f"real data not available: {bullets} (../shared/data next to the repository)")
    return bullets


def _bullet_of_links(folder: Path, lands: list[Path]) -> Path:
    """Make ``folder`` a bullet: one symbolic link per land scan, the scans left where they are."""
    folder.mkdir()
    for land in lands:
        (folder / land.name).symlink_to(land)
    return folder


@pytest.mark.slow  # about 7 s: twelve real lands read
@pytest.mark.real_data
def test_compare_two_bullet_folders_finds_the_known_match_at_its_phase(capsys):
    barrel = _real_bullets() / "hamby44" / "Barrel 1"
    a, b = barrel / "Bullet 1", barrel / "Bullet 2"
    status, out, _ = run_cli(capsys, "compare", "--json", a, b)
    assert status == 0
    record = json.loads(out)
    assert (record["a"], record["b"], record["kind"]) == (str(a), str(b), "bullet")
    assert record["lead"] is True
    # the key: land k of bullet 1 faces land k + 4 of bullet 2 (land 1 -> land 5)
    assert record["phase"] == 4
    assert record["land_count"] == 6
    assert [(p["land_a"], p["land_b"]) for p in record["aligned_pairs"]] == [
        (k, (k + 3) % 6 + 1) for k in range(1, 7)
    ]
    for pair in record["aligned_pairs"]:
        assert pair["score"] == record["land_scores"][pair["land_a"] - 1][pair["land_b"] - 1]
        assert pair["score"] >= 0.6
        assert isinstance(pair["lag_um"], float)
        assert pair["consecutive_matching_striae"] >= 3
    assert isinstance(record["compare_s"], float) and record["compare_s"] < record["elapsed_s"]


@pytest.mark.slow  # about 15 s: eighteen real lands and two casings read, in a pool of two
@pytest.mark.real_data
def test_pairs_of_bullets_and_casings_in_one_csv_each_compared_with_its_kind(
    tmp_path, casings, capsys
):
    bullets = _real_bullets()
    hamby252 = bullets / "hamby252"
    # Hamby 252: bullet 1 of barrel 1 (five lands) against the one land of barrel 2's bullet
    barrel1 = _bullet_of_links(
        tmp_path / "252 B1-1", sorted(hamby252.glob("Hamby252_Barrel1_Bullet1_Land*.x3p"))
    )
    barrel2 = _bullet_of_links(tmp_path / "252 B2-1", [hamby252 / "Br2 Bullet 1-1.x3p"])
    barrel = bullets / "hamby44" / "Barrel 1"
    pairs = write_csv(
        tmp_path / "pairs.csv",
        [
            "a,b,kind",
            f"{barrel / 'Bullet 1'},{barrel / 'Bullet 2'},bullet",
            "252 B1-1,252 B2-1,",  # folders: guessed as bullets
            f"{casings / MATCH_A},{casings / MATCH_B},cartridge_case",
            f"252 B1-1,{casings / MATCH_A},",  # a bullet against a casing
        ],
    )
    assert len(list(barrel1.iterdir())) == 5 and barrel2.is_dir()
    status, out, err = run_cli(capsys, "compare", "--pairs", pairs, "--workers", "2", "--json")
    assert status == EXIT_PARTIAL_FAILURE  # the bullet against a casing
    match, non_match, casing_match, mixed = json.loads(out)["results"]
    assert (non_match["a"], non_match["b"]) == ("252 B1-1", "252 B2-1")
    assert match["kind"] == non_match["kind"] == "bullet"
    assert match["lead"] is True and match["phase"] == 4
    assert non_match["lead"] is False
    assert match["score"] > non_match["score"]
    assert len(non_match["aligned_pairs"]) == 1  # one land of barrel 2 against five
    assert casing_match["kind"] == "cartridge_case"
    assert casing_match["lead"] is True and casing_match["cmc_count"] > 0
    assert "score" not in mixed
    assert "(a bullet) with" in mixed["error"] and MATCH_A in mixed["error"]
    assert "1 of 4 pairs failed" in err


def test_an_empty_bullet_folder_is_one_line_naming_it(tmp_path, capsys):
    empty, other = tmp_path / "empty bullet", tmp_path / "other bullet"
    empty.mkdir()
    other.mkdir()
    status, out, err = run_cli(capsys, "compare", "--json", empty, other)
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names=f"{empty}: the folder holds no X3P scan")


def test_a_bullet_against_a_cartridge_case_is_one_line(tmp_path, casings, capsys):
    bullet = tmp_path / "lands"
    bullet.mkdir()
    status, out, err = run_cli(capsys, "compare", "--json", bullet, casings / MATCH_A)
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert_one_line_error(err, names=f"cannot compare {bullet} (a bullet) with")
    assert MATCH_A in err
