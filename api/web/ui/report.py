"""The hit report: a PDF an investigator can file, of a case and the incidents confirmed hits
link to it.

It names the cases (agencies, countries, incident dates), and for each confirmed link its two
exhibits (ids, kinds, calibres, modalities, the SHA-256 of each original file), the engine's
score worded as a lead, never an identification, and the examiner's decision: who, when, how
(on the images or under a comparison microscope) and their comment; then the engine's version,
when the report was made and for whom.

Names are written in their own script: fpdf2 shapes the text with HarfBuzz (Arabic letters
joined, right to left) in Noto Sans and Noto Sans Arabic, the fonts the package installs
(``fontpkg``, as ``ballistics/text.py`` finds them), each embedded in the PDF. A line holding
Arabic is written with Noto Sans Arabic first (Latin falls back to Noto Sans), so that a
reader's text extraction gives its words back in their logical order.

Text extraction of Arabic is imperfect, and the cause is fpdf2's (2.8.9), not ours: Noto Sans
Arabic draws a dotted letter as two glyphs (its ``ccmp`` feature: a dotless skeleton shared by
several letters, and the dots), which HarfBuzz returns as one cluster. fpdf2 gives the
cluster's characters to the first glyph of the cluster (here the dots) and writes no
``ToUnicode`` entry for the others (the skeletons). A reader meeting a code without an entry
either drops it (poppler's pdftotext: the letters come out right and in logical order, but the
word is broken by spaces where the skeletons' advance lies, inside the U+202B/U+202C marks
poppler adds around right-to-left runs) or writes the code itself (pypdf: control characters).
The page renders correctly. Turning ``ccmp`` off would break the joining forms; the fix
belongs in fpdf2 (the cluster's text on its spacing glyph, or ``/ActualText`` spans), as
WeasyPrint did for the same defect (Kozea/WeasyPrint#2841).
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import fontpkg
from fpdf import FPDF
from sqlalchemy.orm import Session

from api.store import repository
from api.store.models import Case, Exhibit, Link
from api.web.ui.i18n import RTL_LANGUAGES, date_text, number_text
from ballistics.items.records import evidence_strength

#: font families embedded in the report: (name in the PDF, fontpkg family)
_LATIN, _ARABIC = "NotoSans", "NotoSansArabic"
_FONTS = ((_LATIN, "Noto Sans"), (_ARABIC, "Noto Sans Arabic"))
#: width of a field's label, mm
_LABEL_MM = 55.0
_LINE_MM = 5.5


@dataclass(frozen=True)
class CaseRow:
    """A case of the report."""

    case_id: str
    agency: str
    country: str
    occurred_on: datetime.date | None


@dataclass(frozen=True)
class ExhibitRow:
    """One side of a confirmed link."""

    exhibit_id: str
    case_id: str
    agency: str
    kind: str
    caliber: str | None
    modality: str | None
    digests: tuple[str, ...]


@dataclass(frozen=True)
class LinkRow:
    """A confirmed link and the decision that confirmed it."""

    link_id: str
    exhibits: tuple[ExhibitRow, ExhibitRow]
    score: float
    algorithm_version: str | None
    #: the confirming agency, to which the link is credited
    credited_to: str
    #: the person who confirmed it, as the audit log names them (``"Name (Agency)"``); empty
    #: when the decision came through the agency's API key (no person recorded)
    confirmed_by: str
    decided_at: datetime.datetime | None
    comment: str | None
    method: str | None
    #: the strength of the evidence of the score (``log10_lr``, ``lr_interval``, ``verbal``,
    #: ``calibration``), computed with the current calibration when the report is made
    strength: Mapping[str, Any] = field(default_factory=dict)

    @property
    def decision(self) -> str:
        """``hit`` (under a comparison microscope) or ``confirmed_lead`` (on the images)."""
        return "hit" if self.method == "microscope" else "confirmed_lead"


@dataclass(frozen=True)
class ReportData:
    """What the report says, gathered inside one transaction."""

    case: CaseRow
    linked: list[CaseRow]
    links: list[LinkRow]
    asked_by: str
    made_at: datetime.datetime
    engine_version: str = field(default_factory=lambda: engine_version())


def engine_version() -> str:
    """The installed engine's version (the ``ballistics`` distribution), or ``unknown``."""
    try:
        return version("ballistics")
    except PackageNotFoundError:  # pragma: no cover - run from a tree never installed
        return "unknown"


def _case_row(case: Case) -> CaseRow:
    return CaseRow(case.case_id, case.agency.name, case.agency.country, case.occurred_on)


def _exhibit_row(exhibit: Exhibit) -> ExhibitRow:
    digests = tuple(item.sha256 for item in exhibit.files) or (exhibit.sha256,)
    return ExhibitRow(
        exhibit_id=exhibit.exhibit_id,
        case_id=exhibit.case.case_id,
        agency=exhibit.agency.name,
        kind=exhibit.kind,
        caliber=exhibit.caliber,
        modality=exhibit.modality,
        digests=digests,
    )


def _confirming_person(session: Session, link: Link, agency: str) -> str:
    """Who confirmed ``link``: the person the last ``link.confirmed`` audit line names
    (``"Name (Agency)"``), or ``""`` when that line names only the agency (an API key's
    decision)."""
    lines = repository.list_audit(
        session,
        object_type="link",
        object_id=link.public_id,
        action="link.confirmed",
        newest_first=True,
        limit=1,
    )
    if not lines or lines[0].actor == agency:
        return ""
    return lines[0].actor


def confirmed_links(session: Session, cases: list[Case]) -> list[LinkRow]:
    """Every confirmed link between two of ``cases``, oldest decision first, each with the
    agency it is credited to, the person who confirmed it, when and how."""
    keys = {case.id for case in cases}
    rows = []
    for link in repository.list_links(session, status="confirmed"):
        first, second = link.exhibit_a, link.exhibit_b
        if first.case_pk not in keys or second.case_pk not in keys:
            continue
        agency = link.decided_by.name if link.decided_by is not None else ""
        rows.append(
            LinkRow(
                link_id=link.public_id,
                exhibits=(_exhibit_row(first), _exhibit_row(second)),
                score=link.score,
                algorithm_version=link.algorithm_version,
                credited_to=agency,
                confirmed_by=_confirming_person(session, link, agency),
                decided_at=link.decided_at,
                comment=link.comment,
                method=link.decision_method,
                strength=evidence_strength(
                    first.kind, (first.modality, second.modality), link.score
                ).as_json(),
            )
        )
    rows.sort(key=lambda row: (row.decided_at is None, row.decided_at, row.link_id))
    return rows


def gather_report(
    session: Session, case: Case, *, asked_by: str, made_at: datetime.datetime
) -> ReportData:
    """The report of ``case``: the cases confirmed links join to it (directly or through
    others) and every confirmed link between two of these cases."""
    linked = repository.linked_cases(session, case)
    return ReportData(
        case=_case_row(case),
        linked=[_case_row(item) for item in linked],
        links=confirmed_links(session, [case, *linked]),
        asked_by=asked_by,
        made_at=made_at,
    )


def _has_arabic(text: str) -> bool:
    return any(unicodedata.bidirectional(character) in ("R", "AL") for character in text)


class _Writer:
    """Lines of the report, in the reader's language and direction."""

    def __init__(self, language: str) -> None:
        self.rtl = language in RTL_LANGUAGES
        pdf = FPDF(format="A4")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=15)
        for name, family in _FONTS:
            pdf.add_font(name, "", str(fontpkg.path(family)))
        pdf.set_text_shaping(True)
        pdf.add_page()
        self.pdf = pdf

    def _font(self, text: str, size: float) -> None:
        primary, fallback = (_ARABIC, _LATIN) if _has_arabic(text) else (_LATIN, _ARABIC)
        self.pdf.set_font(primary, size=size)
        self.pdf.set_fallback_fonts([fallback])

    def _align(self) -> str:
        return "R" if self.rtl else "L"

    def heading(self, text: str, *, size: float = 13) -> None:
        self.pdf.ln(2)
        self._font(text, size)
        self.pdf.multi_cell(
            0, size * 0.55, text, align=self._align(), new_x="LMARGIN", new_y="NEXT"
        )
        self.pdf.ln(1)

    def paragraph(self, text: str, *, size: float = 9) -> None:
        self._font(text, size)
        self.pdf.multi_cell(0, _LINE_MM, text, align=self._align(), new_x="LMARGIN", new_y="NEXT")

    def field(self, label: str, value: str, *, size: float = 9) -> None:
        """``label`` and ``value`` side by side (the label on the reading side), each in the
        font of its own script; a long value wraps under itself."""
        pdf = self.pdf
        width = pdf.epw - _LABEL_MM
        top, left = pdf.get_y(), pdf.l_margin
        label_x, value_x = (left + width, left) if self.rtl else (left, left + _LABEL_MM)
        self._font(label, size)
        pdf.set_xy(label_x, top)
        pdf.multi_cell(_LABEL_MM, _LINE_MM, label, align=self._align())
        bottom = pdf.get_y()
        self._font(value or "-", size)
        pdf.set_xy(value_x, top)
        pdf.multi_cell(width, _LINE_MM, value or "-", align=self._align())
        pdf.set_xy(left, max(bottom, pdf.get_y()))

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _case_fields(writer: _Writer, case: CaseRow, _: Callable[..., str], language: str) -> None:
    writer.field(_("Case ID"), case.case_id)
    writer.field(_("Agency"), case.agency)
    writer.field(_("Country"), case.country)
    writer.field(_("Date of the incident"), date_text(case.occurred_on, language))


def _exhibit_fields(
    writer: _Writer, exhibit: ExhibitRow, _: Callable[..., str], language: str
) -> None:
    kinds = {"cartridge_case": _("Cartridge case"), "bullet": _("Bullet")}
    modalities = {"topography": _("3D topography"), "photograph": _("photograph")}
    writer.heading(_("Exhibit {exhibit}", exhibit=exhibit.exhibit_id), size=10)
    writer.field(_("Exhibit ID"), exhibit.exhibit_id)
    writer.field(_("Case"), exhibit.case_id)
    writer.field(_("Agency"), exhibit.agency)
    writer.field(_("Kind"), kinds.get(exhibit.kind, exhibit.kind))
    writer.field(_("Calibre"), exhibit.caliber or "")
    writer.field(_("Modality"), modalities.get(exhibit.modality or "", _("unknown")))
    for digest in exhibit.digests:
        writer.field(_("SHA-256 of the original file"), digest, size=8)


def _link_section(
    writer: _Writer, number: int, link: LinkRow, _: Callable[..., str], language: str
) -> None:
    methods = {
        "images": _("on the images"),
        "microscope": _("under a comparison microscope"),
    }
    writer.heading(_("Confirmed link {number}", number=number), size=11)
    writer.field(_("Link"), link.link_id)
    for exhibit in link.exhibits:
        _exhibit_fields(writer, exhibit, _, language)
    writer.heading(_("The engine's lead"), size=10)
    writer.field(_("Score"), number_text(link.score, language))
    writer.field(_("Strength of the evidence"), strength_words(link.strength, _, language))
    writer.field(_("Calibration"), str(link.strength.get("calibration") or ""))
    writer.field(_("Algorithm version"), link.algorithm_version or "")
    lead = _(
        "The score is the engine's lead: it ranked these exhibits for an examiner to compare. It is not an identification; the examiner's decision below is."  # noqa: E501 - one msgid
    )
    writer.paragraph(lead)
    decisions = {"hit": _("Hit"), "confirmed_lead": _("Confirmed lead")}
    writer.heading(_("The examiner's decision"), size=10)
    writer.field(_("Decision"), decisions[link.decision])
    writer.field(_("Credited to"), link.credited_to)
    writer.field(_("Confirmed by"), link.confirmed_by or _("the agency's API key"))
    writer.field(_("Decided at"), date_text(link.decided_at, language))
    writer.field(_("How was it examined?"), methods.get(link.method or "", link.method or ""))
    writer.field(_("Comment"), link.comment or "")


def strength_words(strength: Mapping[str, Any], _: Callable[..., str], language: str) -> str:
    """Return ``"log10 LR 2.1 [1.7, 2.9] — <the ENFSI words>"`` in the reader's language and
    numbers, or the words alone (why there is no LR); never worded as an identification."""
    words = _(str(strength.get("verbal") or ""))
    value, interval = strength.get("log10_lr"), strength.get("lr_interval")
    if value is None:
        return words
    numbers = number_text(value, language)
    if interval:
        low, high = (number_text(bound, language) for bound in interval)
        numbers += f" [{low}, {high}]"
    return f"{_('log10 LR')} {numbers} — {words}"


def render_report(data: ReportData, language: str, _: Callable[..., str]) -> bytes:
    """The report as PDF bytes, its headings in ``language`` (``_`` its translator)."""
    writer = _Writer(language)
    writer.heading(_("Hit report"), size=16)
    writer.field(_("Asked for by"), data.asked_by)
    writer.field(_("Report made on"), date_text(data.made_at, language))
    writer.field(_("Engine version"), data.engine_version)
    writer.heading(_("Case"))
    _case_fields(writer, data.case, _, language)
    writer.heading(_("Linked incidents"))
    if not data.linked:
        writer.paragraph(_("No confirmed hit links this case to another yet."))
    for case in data.linked:
        writer.pdf.ln(1)
        _case_fields(writer, case, _, language)
    writer.heading(_("Confirmed links"))
    for number, link in enumerate(data.links, start=1):
        _link_section(writer, number, link, _, language)
    return writer.output()


def report_filename(case_id: str, made_at: datetime.datetime) -> str:
    """An ASCII file name for the report of ``case_id`` (other characters become ``_``)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in case_id)
    return f"hit-report-{safe[:80] or 'case'}-{made_at:%Y%m%d}.pdf"
