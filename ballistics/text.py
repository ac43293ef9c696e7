"""One line of text drawn into a picture, in any script of the network.

Labels name agencies and cases in any language of the network: French with its accents,
Arabic, Cyrillic. They are shaped by HarfBuzz (Arabic letters joined, marks placed), laid out
in the order of the Unicode bidirectional algorithm (an Arabic name reads right to left inside
an English line), and drawn by FreeType from Noto Sans and Noto Sans Arabic, fonts installed
as Python packages (SIL Open Font License 1.1): nothing is taken from the system, so a picture
is drawn the same on every machine of the network.

The bidirectional levels are computed here (:func:`bidi_levels`, the implicit rules of UAX #9)
because python-bidi, the maintained implementation, gives only the reordered string, not the
levels that shaping each run needs; ``tests/test_text.py`` checks ours against it.
"""

from __future__ import annotations

import functools
import math
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import fontpkg
import freetype
import numpy as np
import uharfbuzz as hb

#: colour of text, BGR
TEXT_BGR = (0, 0, 0)

#: text height: the em of the fonts, pixels
FONT_SIZE_PX = 13
#: fonts tried in order for each character: Latin, Greek and Cyrillic, then Arabic
_FONT_FAMILIES = ("Noto Sans", "Noto Sans Arabic")
#: bidirectional classes set aside before levels are resolved (rule X9, and isolates, which
#: labels do not carry): they take the level of the character before them
_SET_ASIDE = frozenset({"BN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})
_NEUTRAL = frozenset({"B", "S", "WS", "ON"})
#: paired brackets (Bidi_Paired_Bracket), opening to closing; labels use the ASCII ones
_BRACKET_PAIRS = dict(zip("([{（［｛⁽₍", ")]}）］｝⁾₎", strict=True))
# FreeType faces hold the size they last drew at and are not safe to share between threads;
# pictures are drawn in the API's worker threads
_FREETYPE_LOCK = threading.Lock()


@functools.cache
def _font_paths() -> tuple[str, ...]:
    """Files of :data:`_FONT_FAMILIES`, as installed with the package (found once, on first use)."""
    return tuple(str(fontpkg.path(family)) for family in _FONT_FAMILIES)


@functools.cache
def _shaper(font_index: int, size_px: int) -> hb.Font:
    """A HarfBuzz font scaled so that positions come in 1/64 pixel."""
    font = hb.Font(hb.Face(hb.Blob.from_file_path(_font_paths()[font_index])))
    font.scale = (size_px * 64, size_px * 64)
    return font


@functools.cache
def _freetype_face(font_index: int) -> freetype.Face:
    return freetype.Face(_font_paths()[font_index])


@functools.lru_cache(maxsize=4096)
def _glyph_coverage(font_index: int, glyph: int, size_px: int) -> tuple[np.ndarray, int, int]:
    """(coverage 0-255, left, top) of one glyph: its bitmap and where it sits from the pen."""
    with _FREETYPE_LOCK:
        face = _freetype_face(font_index)
        face.set_pixel_sizes(0, size_px)
        # light hinting moves outlines vertically only, so HarfBuzz's advances still hold
        face.load_glyph(glyph, freetype.FT_LOAD_RENDER | freetype.FT_LOAD_TARGET_LIGHT)
        bitmap = face.glyph.bitmap
        rows, width, pitch = bitmap.rows, bitmap.width, bitmap.pitch
        coverage = np.array(bitmap.buffer, dtype=np.uint8).reshape(rows, pitch)[:, :width]
        return coverage.copy(), face.glyph.bitmap_left, face.glyph.bitmap_top


def _clean_line(text: str) -> str:
    # a label is one line: tabs and line breaks become spaces, other control characters go
    text = "".join(" " if character in "\t\n\r\v\f" else character for character in text)
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


def bidi_levels(text: str) -> list[int]:
    """Embedding level of each character of one line: even left to right, odd right to left.

    The implicit rules of the Unicode bidirectional algorithm (UAX #9: P2-P3, W1-W7, N0-N2,
    N0 for the common brackets, I1-I2, L1) for a single paragraph. Explicit embeddings,
    overrides and isolates are not followed: labels do not carry them.

    References
    ----------
    .. [1] Unicode Standard Annex #9, "Unicode Bidirectional Algorithm",
       https://www.unicode.org/reports/tr9/
    """
    classes = [unicodedata.bidirectional(character) or "L" for character in text]
    strong = (c for c in classes if c in ("L", "R", "AL"))
    base = 1 if next(strong, "L") != "L" else 0
    outer = "R" if base else "L"
    kept = [index for index, c in enumerate(classes) if c not in _SET_ASIDE]
    types = [classes[index] for index in kept]
    # W1: a combining mark takes the class of what it sits on
    for i, t in enumerate(types):
        if t == "NSM":
            types[i] = types[i - 1] if i else outer
    # W2, W3: numbers after Arabic letters are Arabic numbers; Arabic letters are right to left
    last_strong = outer
    for i, t in enumerate(types):
        if t in ("L", "R", "AL"):
            last_strong = t
        elif t == "EN" and last_strong == "AL":
            types[i] = "AN"
    types = ["R" if t == "AL" else t for t in types]
    # W4: one separator between two numbers of a kind joins them (1,5 or 12/03)
    for i in range(1, len(types) - 1):
        before, after = types[i - 1], types[i + 1]
        if before == after == "EN" and types[i] in ("ES", "CS"):
            types[i] = "EN"
        elif before == after == "AN" and types[i] == "CS":
            types[i] = "AN"
    # W5: terminators (%, °, currency signs) next to a European number belong to it
    for i, t in enumerate(types):
        if t == "EN":
            for step in (-1, 1):
                j = i + step
                while 0 <= j < len(types) and types[j] == "ET":
                    types[j] = "EN"
                    j += step
    # W6, W7: remaining separators are neutral; European numbers after left-to-right text are so
    last_strong = outer
    for i, t in enumerate(types):
        if t in ("ES", "ET", "CS"):
            types[i] = "ON"
        elif t in ("L", "R"):
            last_strong = t
        elif t == "EN" and last_strong == "L":
            types[i] = "L"
    _resolve_bracket_pairs(types, [text[index] for index in kept], outer)
    # N1, N2: a run of neutrals between two of one direction takes it, else the base direction
    i = 0
    while i < len(types):
        if types[i] not in _NEUTRAL:
            i += 1
            continue
        end = i
        while end < len(types) and types[end] in _NEUTRAL:
            end += 1
        before = "R" if i and types[i - 1] in ("R", "EN", "AN") else (types[i - 1] if i else outer)
        after = outer if end == len(types) else types[end]
        after = "R" if after in ("EN", "AN") else after
        types[i:end] = [before if before == after else outer] * (end - i)
        i = end
    # I1, I2
    resolved = []
    for t in types:
        if base == 0:
            resolved.append({"L": 0, "R": 1}.get(t, 2))
        else:
            resolved.append(1 if t == "R" else 2)
    levels = [base] * len(text)
    for index, level in zip(kept, resolved, strict=True):
        levels[index] = level
    for index in range(1, len(text)):
        if classes[index] in _SET_ASIDE:
            levels[index] = levels[index - 1]
    # L1: trailing white space sits at the paragraph level
    for index in range(len(text) - 1, -1, -1):
        if classes[index] not in ("WS", "S", "B") and classes[index] not in _SET_ASIDE:
            break
        levels[index] = base
    return levels


def _resolve_bracket_pairs(types: list[str], characters: list[str], outer: str) -> None:
    """UAX #9 N0 in place: both brackets of a pair take the direction of what they enclose.

    So "Police (الشرطة)" keeps its brackets left to right, while in "الشرطة (2024/17)" they
    follow the Arabic. ``types`` are resolved up to W7; ``outer`` is the base direction.
    """
    openers: list[tuple[str, int]] = []
    pairs = []
    for index, (character, kind) in enumerate(zip(characters, types, strict=True)):
        if kind != "ON":
            continue
        if character in _BRACKET_PAIRS:
            openers.append((_BRACKET_PAIRS[character], index))
        else:
            # BD16: a closer pairs with the nearest open bracket of its kind
            for depth in range(len(openers) - 1, -1, -1):
                if openers[depth][0] == character:
                    pairs.append((openers[depth][1], index))
                    del openers[depth:]
                    break

    def direction(kind: str) -> str | None:
        return "R" if kind in ("R", "EN", "AN") else ("L" if kind == "L" else None)

    for opening, closing in sorted(pairs):
        inside = {
            side for kind in types[opening + 1 : closing] if (side := direction(kind)) is not None
        }
        if not inside:
            continue
        if outer in inside:
            resolved = outer
        else:
            before = next(
                (d for d in map(direction, reversed(types[:opening])) if d is not None), outer
            )
            # only the other direction inside: it wins if the text before the pair has it too
            resolved = inside.pop() if before in inside else outer
        types[opening] = types[closing] = resolved


def visual_order(levels: Sequence[int]) -> list[int]:
    """Indices of items at ``levels`` in the order they are drawn, left to right (UAX #9, L2)."""
    order = list(range(len(levels)))
    if not order:
        return order
    lowest_odd = min(levels) | 1
    for level in range(max(levels), lowest_odd - 1, -1):
        start = 0
        while start < len(order):
            if levels[order[start]] < level:
                start += 1
                continue
            end = start
            while end < len(order) and levels[order[end]] >= level:
                end += 1
            order[start:end] = order[start:end][::-1]
            start = end
    return order


def _font_choices(text: str, size_px: int) -> list[int]:
    """Which font draws each character: the first that has it; marks, spaces and punctuation
    stay in the font of what precedes them, so that an Arabic phrase is shaped as one run."""
    shapers = [_shaper(index, size_px) for index in range(len(_FONT_FAMILIES))]
    chosen: list[int] = []
    for character in text:
        code = ord(character)
        category = unicodedata.category(character)
        previous = chosen[-1] if chosen else None
        if (
            previous is not None
            and category[0] not in "LN"
            and shapers[previous].get_nominal_glyph(code) is not None
        ):
            chosen.append(previous)
            continue
        covering = (i for i, s in enumerate(shapers) if s.get_nominal_glyph(code) is not None)
        # no font has it: the first draws its "missing glyph" box, never a question mark
        chosen.append(next(covering, 0))
    return chosen


@dataclass(frozen=True)
class _Glyph:
    font_index: int
    glyph: int
    x_px: float
    y_px: float


@functools.lru_cache(maxsize=1024)
def _layout(text: str, size_px: int) -> tuple[tuple[_Glyph, ...], float, frozenset[int]]:
    """Glyphs of one line placed from a pen at x = 0 on the baseline (y grows upwards), the
    line's advance width in pixels, and the fonts it uses."""
    text = _clean_line(text)
    if not text:
        return (), 0.0, frozenset()
    levels = bidi_levels(text)
    fonts = _font_choices(text, size_px)
    runs: list[tuple[int, int]] = []  # [start, stop) of characters of one level and one font
    for index in range(len(text)):
        if index and (levels[index], fonts[index]) == (levels[index - 1], fonts[index - 1]):
            runs[-1] = (runs[-1][0], index + 1)
        else:
            runs.append((index, index + 1))
    placed: list[_Glyph] = []
    pen = 0.0
    for run in visual_order([levels[start] for start, _ in runs]):
        start, stop = runs[run]
        buffer = hb.Buffer()
        # the whole line goes in, so that HarfBuzz sees the context around the run
        buffer.add_str(text, start, stop - start)
        buffer.guess_segment_properties()
        buffer.direction = "rtl" if levels[start] % 2 else "ltr"
        hb.shape(_shaper(fonts[start], size_px), buffer)
        for info, position in zip(buffer.glyph_infos, buffer.glyph_positions, strict=True):
            placed.append(
                _Glyph(
                    font_index=fonts[start],
                    glyph=info.codepoint,
                    x_px=pen + position.x_offset / 64,
                    y_px=position.y_offset / 64,
                )
            )
            pen += position.x_advance / 64
    return tuple(placed), pen, frozenset(fonts)


def _metrics(font_indices: frozenset[int], size_px: int) -> tuple[int, int]:
    """(ascent, descent) in whole pixels of a line drawn with these fonts (Noto Sans if none)."""
    ascent = descent = 0
    for index in font_indices or {0}:
        extents = _shaper(index, size_px).get_font_extents("ltr")
        ascent = max(ascent, math.ceil(extents.ascender / 64))
        descent = max(descent, math.ceil(-extents.descender / 64))
    return ascent, descent


def text_width(text: str, *, size_px: int = FONT_SIZE_PX) -> int:
    """Width in pixels of ``text`` as :func:`draw_text` draws it."""
    return math.ceil(_layout(text, size_px)[1])


def line_height(text: str = "", *, size_px: int = FONT_SIZE_PX) -> int:
    """Height of a line of ``text`` (default: of Latin text), ascent plus descent, in pixels.

    A line that holds Arabic is taller: that font's letters reach higher and lower.
    """
    ascent, descent = _metrics(_layout(text, size_px)[2], size_px)
    return ascent + descent


def baseline_offset(text: str = "", *, size_px: int = FONT_SIZE_PX) -> int:
    """Pixels from the top of a line of ``text`` (:func:`line_height`) to its baseline."""
    return _metrics(_layout(text, size_px)[2], size_px)[0]


def draw_text(
    image: np.ndarray,
    text: str,
    *,
    origin: tuple[int, int],
    colour: tuple[int, int, int] = TEXT_BGR,
    size_px: int = FONT_SIZE_PX,
) -> None:
    """Write one line of ``text`` into a BGR ``image`` in place.

    ``origin`` is (x, y) of the left end of the baseline; the line is anti-aliased over what
    is there and clipped at the image's edges.
    """
    glyphs, _, _ = _layout(text, size_px)
    x_origin, y_origin = origin
    colour_array = np.asarray(colour, dtype=np.float32)
    for placed in glyphs:
        coverage, left, top = _glyph_coverage(placed.font_index, placed.glyph, size_px)
        if coverage.size == 0:
            continue
        x = x_origin + round(placed.x_px) + left
        y = y_origin - round(placed.y_px) - top
        rows = slice(max(y, 0), min(y + coverage.shape[0], image.shape[0]))
        columns = slice(max(x, 0), min(x + coverage.shape[1], image.shape[1]))
        if rows.start >= rows.stop or columns.start >= columns.stop:
            continue
        alpha = coverage[rows.start - y : rows.stop - y, columns.start - x : columns.stop - x]
        alpha = (alpha.astype(np.float32) / 255.0)[..., None]
        region = image[rows, columns].astype(np.float32)
        image[rows, columns] = np.round(region * (1.0 - alpha) + colour_array * alpha).astype(
            np.uint8
        )
