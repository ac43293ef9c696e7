"""Text in pictures: agency and case names drawn in their own script, shaped, in reading order."""

import random

import cv2
import numpy as np
import pytest

from ballistics.render import MARGIN_PX, render_surface_png, text_block
from ballistics.text import bidi_levels, text_width, visual_order

ABIDJAN = "Police scientifique d'Abidjan — Côte d'Ivoire"
NDJAMENA = "الشرطة العلمية انجامينا"
FORENSICS_RU = "Криминалистика"
#: a character no bundled font has (a Tangut ideograph): drawn as the font's "missing" box
UNCOVERED = "\U00017000"


def _ink(text: str) -> np.ndarray:
    """The drawn line as darkness 0-255, cropped to its ink (empty if nothing was drawn)."""
    grey = 255 - cv2.cvtColor(text_block([text]), cv2.COLOR_BGR2GRAY).astype(np.int32)
    rows, columns = np.flatnonzero(grey.any(axis=1)), np.flatnonzero(grey.any(axis=0))
    if not rows.size:
        return np.zeros((0, 0), dtype=np.int32)
    return grey[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def _same_picture(first: np.ndarray, second: np.ndarray) -> bool:
    return first.shape == second.shape and np.array_equal(first, second)


def _column_of(needle: str, haystack: str) -> int:
    """Left edge, in the drawn ``haystack``, of where the drawn ``needle`` matches best."""
    image = _ink(haystack).astype(np.float32)
    template = _ink(needle).astype(np.float32)
    padded = np.zeros((max(image.shape[0], template.shape[0]), image.shape[1]), np.float32)
    padded[: image.shape[0]] = image
    scores = cv2.matchTemplate(padded, template, cv2.TM_SQDIFF)
    return int(np.unravel_index(np.argmin(scores), scores.shape)[1])


@pytest.mark.parametrize("name", [ABIDJAN, NDJAMENA, FORENSICS_RU])
def test_no_letter_is_replaced_by_a_question_mark_or_a_missing_glyph_box(name: str) -> None:
    question_mark, missing = _ink("?"), _ink(UNCOVERED)
    assert missing.size, "the font's missing-glyph box should draw something"
    for letter in set(name) - {" "}:
        drawn = _ink(letter)
        assert drawn.size, f"{letter!r} draws nothing"
        assert not _same_picture(drawn, question_mark), f"{letter!r} is drawn as '?'"
        assert not _same_picture(drawn, missing), f"{letter!r} has no glyph in the fonts"
    as_question_marks = "".join(letter if letter.isascii() else "?" for letter in name)
    assert not _same_picture(_ink(name), _ink(as_question_marks))


def test_accented_latin_and_cyrillic_letters_have_their_own_glyphs() -> None:
    for accented, plain in (("ô", "o"), ("é", "e"), ("—", "-")):
        assert not _same_picture(_ink(accented), _ink(plain))
    cyrillic = sorted(set(FORENSICS_RU.lower()))
    pictures = [_ink(letter) for letter in cyrillic]
    for index, first in enumerate(pictures):
        for other, second in zip(cyrillic[index + 1 :], pictures[index + 1 :], strict=True):
            assert not _same_picture(first, second), f"{cyrillic[index]} looks like {other}"


def _mismatch(needle: str, haystack: str) -> float:
    """How far the drawn ``needle`` is from its best match in the drawn ``haystack`` (0: exact)."""
    image = _ink(haystack).astype(np.float32)
    template = _ink(needle).astype(np.float32)
    padded = np.zeros((max(image.shape[0], template.shape[0]) + 2, image.shape[1]), np.float32)
    padded[1 : 1 + image.shape[0]] = image
    return float(cv2.matchTemplate(padded, template, cv2.TM_SQDIFF_NORMED).min())


def test_arabic_letters_are_joined() -> None:
    word = "العلمية"
    # ain inside the word takes its medial form, which zero-width joiners on both sides force;
    # drawn on its own it is the isolated form, with a tail the word does not show
    medial, isolated = "\u200dع\u200d", "ع"
    assert _mismatch(isolated, word) > 0.5  # the isolated form is nowhere in the word
    assert _mismatch(medial, word) < 0.5 * _mismatch(isolated, word)
    # a zero-width non-joiner between letters forbids joining: each letter in its isolated form
    unjoined = "\u200c".join(word)
    assert not _same_picture(_ink(word), _ink(unjoined))
    assert text_width(word) < text_width(unjoined)


def test_arabic_reads_right_to_left_inside_a_latin_line() -> None:
    # dal and alef never join the letter after them, so each keeps its own shape in the word
    dal, alef = "د", "ا"
    line = f"Lab {dal}{alef} end"
    assert _column_of(dal, line) > _column_of(alef, line)  # the first letter is on the right
    assert _column_of("Lab", line) < _column_of(alef, line) < _column_of("end", line)
    # a number after Arabic belongs to it (UAX #9 W2): it stands on the Arabic's left
    after = f"Lab {dal}{alef} 7"
    assert _column_of("Lab", after) < _column_of("7", after) < _column_of(alef, after)


def test_numbers_in_arabic_text_read_left_to_right() -> None:
    line = "قضية 2024"
    assert _column_of("2", line) < _column_of("4", line)
    assert _column_of("2024", line) < _column_of("قضية", line)


def test_brackets_follow_what_they_enclose() -> None:
    # an Arabic name in brackets inside a Latin line: brackets as written
    latin = "Lab (دا)"
    assert _column_of("(", latin) < _column_of(")", latin)
    # a case number in brackets after Arabic reads with it, right to left: the number stands on
    # the Arabic's left and the bracket pair is mirrored, so that it still encloses the number
    arabic = "الشرطة (2024/17)"
    assert _column_of("(", arabic) < _column_of("2024/17", arabic) < _column_of(")", arabic)
    assert _column_of(")", arabic) < _column_of("الشرطة", arabic)


def test_levels_and_order_match_the_unicode_bidirectional_algorithm() -> None:
    """Random mixes of Latin, Arabic, digits, separators and brackets, checked against
    python-bidi (the Rust unicode-bidi crate), an independent implementation of UAX #9."""
    bidi = pytest.importorskip("bidi", reason="python-bidi is the reference for this test")
    alphabet = [*"ab ()12.,%-/", *"بجد", "١", "٢", "\u064e", "  "]
    generator = random.Random(0)
    for _ in range(2000):
        text = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 16)))
        levels = bidi_levels(text)
        drawn = "".join(text[index] for index in visual_order(levels))
        assert drawn == bidi.get_display(text), repr(text)


def test_a_title_is_drawn_in_its_own_script_above_the_surface() -> None:
    values = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (64, 1))
    png = render_surface_png(values, pixel_um=5.0, title=NDJAMENA)
    figure = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_COLOR)
    expected = text_block([NDJAMENA])
    rows, columns = expected.shape[:2]
    drawn = figure[MARGIN_PX : MARGIN_PX + rows, MARGIN_PX : MARGIN_PX + columns]
    assert np.array_equal(drawn, expected)
    as_question_marks = "".join(" " if letter == " " else "?" for letter in NDJAMENA)
    assert not _same_picture(_ink(NDJAMENA), _ink(as_question_marks))
