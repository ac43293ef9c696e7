"""Pair comparison: the pairs CSV, each item prepared once, results in order, failures per row,
cartridge cases and bullets each compared with their own kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.pairs import compare_pairs, read_pairs_csv
from ballistics.bullet import PreparedBullet, compare_bullets
from ballistics.errors import EvidenceError, UnreadableFileError
from ballistics.items import (
    Item,
    ItemKind,
    Pair,
    compare_items,
    describe_error,
    guess_kind,
    prepare_item,
)
from ballistics.items.records import bullet_record
from tests.api.synthetic_exhibits import MATCH_A, MATCH_B, OTHER
from tests.bullet.lands import fire

CARTRIDGE_CASE, BULLET = ItemKind.CARTRIDGE_CASE, ItemKind.BULLET


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


def test_pairs_csv_caliber_and_orientations_reach_the_items(tmp_path):
    path = write_csv(
        tmp_path / "pairs.csv",
        [
            "a,b,caliber,orientation_a,orientation_b",
            "x.png,y.x3p,9mm,,mirrored",
            "x.png,z.png,,,",
            "x.png,z.png,,upside_down,",
        ],
    )
    declared, plain, wrong = read_pairs_csv(path)
    assert declared.item_a.caliber == declared.item_b.caliber == "9mm"
    assert (declared.item_a.orientation, declared.item_b.orientation) == ("as_stored", "mirrored")
    assert plain.item_a.caliber is None
    assert wrong.item_a is None and "upside_down" in (wrong.error or "")


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


def test_a_bullet_against_a_cartridge_case_is_refused_before_anything_is_read(tmp_path):
    # neither exists: the kinds alone refuse the pair
    bullet, casing = Item(tmp_path / "lands", kind=BULLET), Item(tmp_path / "case.x3p")
    with pytest.raises(ValueError, match=r"lands \(a bullet\) with .*case\.x3p \(a cartridge"):
        compare_items(bullet, casing)
    with pytest.raises(ValueError, match=r"case\.x3p \(a cartridge case\) with .*lands"):
        compare_items(casing, bullet)


def test_a_bullet_folder_without_lands_is_refused_naming_it(tmp_path):
    empty = tmp_path / "empty bullet"
    empty.mkdir()
    with pytest.raises(EvidenceError, match=r"empty bullet: the folder holds no X3P scan"):
        prepare_item(Item(empty, kind=BULLET))


def test_bullet_record_is_json_ready_with_land_numbers_and_the_aligned_pairs():
    # synthetic barrel 1 fired twice; the second bullet's land 3 is missing (not scanned) and
    # its land k + 1 lies where the first's land k does (phase 1)
    first = PreparedBullet(
        tuple(fire(1, k, 100 + k) for k in range(6)), (1, 2, 3, 4, 5, 6), source="first"
    )
    present = [1, 2, 4, 5, 6]
    second = PreparedBullet(
        tuple(fire(1, (number - 1 + 5) % 6, 200 + number) for number in present),
        tuple(present),
        source="second",
    )
    comparison = compare_bullets(first, second)
    record = bullet_record(comparison, first, second).as_json()

    json.dumps(record, allow_nan=False)  # plain JSON values, no NaN
    assert record["kind"] == BULLET
    assert record["lead"] is True
    assert record["phase"] == 1
    assert record["land_count"] == 6
    assert record["land_numbers_b"] == present
    # rows and columns are land numbers - 1; the missing land's column is null
    assert len(record["land_scores"]) == 6
    assert all(row[2] is None for row in record["land_scores"])
    assert record["land_scores"][0][3] == pytest.approx(comparison.land_scores[0, 2])  # land 4
    assert len(record["phase_scores"]) == 6
    assert max(record["phase_scores"]) == pytest.approx(record["score"])
    # five pairs at phase 1 (first's land 2 would face the missing land 3), each described
    assert [(p["land_a"], p["land_b"]) for p in record["aligned_pairs"]] == [
        (1, 2), (3, 4), (4, 5), (5, 6), (6, 1),
    ]  # fmt: skip
    for pair in record["aligned_pairs"]:
        assert pair["score"] == pytest.approx(
            record["land_scores"][pair["land_a"] - 1][pair["land_b"] - 1]
        )
        assert pair["consecutive_matching_striae"] >= 1
        assert isinstance(pair["lag_um"], float)


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
        Pair("bullet", "match b", Item(casings / "lands", kind=BULLET), item(MATCH_B)),
    ]
    seen: list[tuple[str, int, int]] = []
    run = compare_pairs(
        pairs, workers=2, progress=lambda stage, done, total: seen.append((stage, done, total))
    )

    assert [(r["a"], r["b"]) for r in run.results] == [(p.a, p.b) for p in pairs]
    non_match, missing, match, bad_row, bullet = run.results
    assert match["score"] > non_match["score"]
    assert match["lead"] is True
    assert match["cmc_count"] > non_match["cmc_count"]
    assert missing["error"].startswith(f"{casings / 'missing.x3p'}: ")
    assert "No such file" in missing["error"]
    assert "score" not in missing
    assert bad_row["error"] == "pairs.csv line 5: kind must be one of ..."
    assert "(a bullet) with" in bullet["error"]
    # three readable files, each read and prepared once although they appear in several pairs;
    # the bullet of the mixed pair is never read
    assert len(run.prepare_s) == 3
    assert seen[-1] == ("compare", 2, 2)
    assert ("prepare", 4, 4) in seen
    assert run.workers == 2
