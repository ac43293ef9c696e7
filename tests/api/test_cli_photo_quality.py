"""A photograph's quality on the command line: ``compare`` prints its warnings on standard error
(standard output keeps its one JSON document) and refuses a blank photograph in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli import EXIT_BAD_INPUT, main
from tests.photographs import blank_png, photograph, with_resolution


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit status, standard output, standard error)."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_compare_prints_a_coarse_photographs_warning_on_standard_error(tmp_path: Path, capsys):
    path = tmp_path / "coarse.png"
    path.write_bytes(with_resolution(photograph(pixel_um=12.0).data, 12.0))
    status, out, err = run_cli(capsys, "compare", "--json", path, path)
    assert status == 0
    assert json.loads(out)["kind"] == "cartridge_case"  # one JSON document, nothing else
    warnings = [line for line in err.splitlines() if "coarser than the 8 µm" in line]
    assert len(warnings) == 2 and all("coarse.png" in line for line in warnings), err


def test_compare_refuses_a_blank_photograph_in_one_line(tmp_path: Path, capsys):
    good = tmp_path / "good.png"
    good.write_bytes(with_resolution(photograph().data, 6.0))
    blank = tmp_path / "blank.png"
    blank.write_bytes(with_resolution(blank_png(255), 6.0))
    status, out, err = run_cli(capsys, "compare", good, blank)
    assert status == EXIT_BAD_INPUT
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "blank.png" in lines[0] and "clipped white" in lines[0]


def test_ingest_reports_a_photographs_warning_and_prints_it_on_standard_error(
    tmp_path: Path, capsys
):
    coarse = tmp_path / "coarse.png"
    coarse.write_bytes(photograph(pixel_um=12.0).data)
    manifest = tmp_path / "lab.csv"
    manifest.write_text(
        "path,exhibit_id,case_id,agency,country,kind,pixel_um\n"
        "coarse.png,P-1,C-1,Lab A,NL,cartridge_case,12\n",
        encoding="utf-8",
    )
    status, out, err = run_cli(
        capsys,
        "ingest",
        manifest,
        "--store",
        tmp_path / "store",
        "--json",
        "--no-correlate",
        "--workers",
        "1",
    )
    assert status == 0, err
    report = json.loads(out)
    assert report["ingested"] == 1
    (warning,) = report["warnings"]
    assert (warning["path"], warning["line"], warning["exhibit_id"]) == ("coarse.png", 2, "P-1")
    assert warning["code"] == "too_coarse" and "coarser than the 8 µm" in warning["message"]
    assert "coarse.png" in err and "coarser than the 8 µm" in err
