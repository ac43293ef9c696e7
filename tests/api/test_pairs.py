"""Pair comparison: the pairs CSV, each file prepared once, results in order, failures per row."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.pairs import (
    BULLET,
    CARTRIDGE_CASE,
    Item,
    KindNotAvailableError,
    Pair,
    compare_pairs,
    describe_error,
    guess_kind,
    prepare_item,
    read_pairs_csv,
)
from ballistics.errors import EvidenceError, UnreadableFileError
from ballistics.synthetic import make_casing_dataset, write_exhibit_files

#: the exhibits written by write_synthetic_casings: two firings of one pistol, one of another
MATCH_A, MATCH_B, OTHER = "P01-01.x3p", "P01-02.x3p", "P02-01.x3p"


def write_synthetic_casings(folder: Path) -> Path:
    """Write three synthetic X3P casings into ``folder`` (names above) and return the folder.

    Two unrelated pistols (no shared production run), so that the known non-match is a plain
    one; the default 10 µm rendering keeps a comparison around a second.
    """
    records = make_casing_dataset(
        firearm_count=2, firings_per_firearm=2, seed=11, consecutive=False, modality=None
    )
    write_exhibit_files(records[:3], folder)
    written = sorted(path.name for path in folder.glob("*.x3p"))
    assert written == [MATCH_A, MATCH_B, OTHER], written
    return folder


@pytest.fixture(scope="session")
def casings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.getbasetemp() / "synthetic-casings"
    if not folder.is_dir():  # test_cli imports this fixture too: write the files once a session
        folder.mkdir()
        write_synthetic_casings(folder)
    return folder


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_pairs_csv_resolves_paths_from_its_folder_and_keeps_them_as_written(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "bullet_lands").mkdir()
    path = write_csv(
        tmp_path / "lists" / "pairs.csv",
        [
            "b,a,pixel_um_a,kind",  # column order is free
            "../x.png,/abs/y.x3p,3.5,",
            "../z.x3p,../bullet_lands,,",
            "../z.x3p,../x.png,,bullet",
        ],
    )
    first, second, third = read_pairs_csv(path, default_pixel_um=2.0)
    assert (first.a, first.b) == ("/abs/y.x3p", "../x.png")
    assert first.item_a == Item(Path("/abs/y.x3p"), 3.5, CARTRIDGE_CASE)
    assert first.item_b == Item(tmp_path / "lists" / "../x.png", 2.0, CARTRIDGE_CASE)
    assert second.item_a.kind == BULLET  # a folder holds a bullet's lands
    assert second.item_b.kind == CARTRIDGE_CASE
    assert third.item_a.kind == third.item_b.kind == BULLET


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("x.x3p,y.x3p,abc,", "pixel_um_a must be a number"),
        ("x.x3p,y.x3p,-1,", "pixel_um must be a positive number"),
        ("x.x3p,y.x3p,,pistol", "kind must be one of"),
        ("x.x3p,,,", "columns a and b must both name a file"),
    ],
)
def test_a_bad_row_carries_its_problem_and_line_number(tmp_path, row, problem):
    path = write_csv(tmp_path / "pairs.csv", ["a,b,pixel_um_a,kind", "x.x3p,y.x3p,,", row])
    good, bad = read_pairs_csv(path)
    assert good.error is None
    assert bad.item_a is None
    assert bad.error.startswith("pairs.csv line 3: ")
    assert problem in bad.error


def test_a_pairs_file_without_columns_a_and_b_is_refused(tmp_path):
    path = write_csv(tmp_path / "list.csv", ["first,second", "x.x3p,y.x3p"])
    with pytest.raises(EvidenceError, match=r"list\.csv: the header must name columns 'a' and 'b'"):
        read_pairs_csv(path)
    with pytest.raises(EvidenceError, match=r"absent\.csv: no such pairs file"):
        read_pairs_csv(tmp_path / "absent.csv")


def test_guess_kind(tmp_path):
    assert guess_kind(tmp_path) == BULLET
    assert guess_kind(tmp_path / "case.x3p") == CARTRIDGE_CASE


def test_bullets_are_refused_before_anything_is_read(tmp_path):
    with pytest.raises(KindNotAvailableError, match="bullet comparison is not available yet"):
        prepare_item(Item(tmp_path / "absent", kind=BULLET))


def test_describe_error_names_the_file_in_one_line():
    unreadable = UnreadableFileError("case.png", "not an X3P, PNG, TIFF or JPEG file")
    assert describe_error(unreadable) == "case.png: not an X3P, PNG, TIFF or JPEG file"
    missing = FileNotFoundError(2, "No such file or directory", "gone.x3p")
    assert describe_error(missing) == "gone.x3p: No such file or directory"
    surprise = RuntimeError("out of\nmemory")
    assert (
        describe_error(surprise, source="a.x3p") == "a.x3p: unexpected RuntimeError: out of memory"
    )


@pytest.mark.slow  # about 5 s: a process pool, three files prepared, two comparisons
def test_pool_keeps_order_prepares_each_file_once_and_isolates_failures(casings):
    def item(name: str) -> Item:
        return Item(casings / name)

    pairs = [
        Pair("other", "match a", item(OTHER), item(MATCH_A)),
        Pair("match a", "missing", item(MATCH_A), item("missing.x3p")),
        Pair("match a", "match b", item(MATCH_A), item(MATCH_B)),
        Pair("bad row", "x", error="pairs.csv line 5: kind must be one of ..."),
        Pair("bullet", "match b", Item(casings, kind=BULLET), item(MATCH_B)),
    ]
    seen: list[tuple[str, int, int]] = []
    run = compare_pairs(
        pairs, workers=2, progress=lambda stage, done, total: seen.append((stage, done, total))
    )

    assert [(r["a"], r["b"]) for r in run.results] == [(p.a, p.b) for p in pairs]
    non_match, missing, match, bad_row, bullet = run.results
    assert match["score"] > non_match["score"]
    assert match["same_source"] is True
    assert match["cmc_count"] > non_match["cmc_count"]
    assert missing["error"].startswith(f"{casings / 'missing.x3p'}: ")
    assert "No such file" in missing["error"]
    assert "score" not in missing
    assert bad_row["error"] == "pairs.csv line 5: kind must be one of ..."
    assert "bullet comparison is not available yet" in bullet["error"]
    # three readable files, each read and prepared once although they appear in several pairs
    assert len(run.prepare_s) == 3
    assert seen[-1] == ("compare", 2, 2)
    assert ("prepare", 5, 5) in seen
    assert run.workers == 2
