"""Write the validation report of the engine's likelihood ratios as a PDF a forensic institute
can file, from the benchmarks' own records.

One section per calibration (cartridge cases in 3D: ``benchmarks/lr_validation.py``; bullet
land pairs: ``benchmarks/bullet_lr_validation.py``), each with:

* what the LR is of (the score, the propositions) and the method;
* the data: the sets, their pairs (known matches, known non-matches, firearms) and the SHA-256
  of the files each set's pairs were scored on;
* the performance characteristics of Meuwly, Ramos and Haraksim (2017, table 1) per protocol:
  accuracy (Cllr), discriminating power (Cllr-min, EER), calibration (Cllr-cal = Cllr -
  Cllr-min), and generalisation where measured (within a set, cross-validated, against fitted
  on one set and reported on the other); the rates of misleading evidence in both directions;
  robustness and coherence are said not to be measured by these runs;
* the validation criteria and whether they are met (issue 14's, and the refusal rules);
* the Tippett and ECE plots the benchmark drew;
* the calibration file (path, version, SHA-256) or why none is shipped;
* the software versions of the run and of the report, and the commands that reproduce both.

Nothing is recomputed from scans: every number comes from the records (EER and Cllr-cal from
the LRs a record holds), so the report says what those runs measured.

    python benchmarks/validation_report.py [--out benchmarks/results/validation_report.pdf]

References
----------
.. [1] D. Meuwly, D. Ramos, R. Haraksim, "A guideline for the validation of likelihood ratio
   methods used for forensic evidence evaluation", Forensic Science International 276,
   142-153 (2017).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ballistics.calibration import MINIMUM
from benchmarks._common import REPOSITORY_ROOT, RESULTS_DIR, equal_error_rate, source_commit

CASING_RECORD = RESULTS_DIR / "lr_validation.json"
BULLET_RECORD = RESULTS_DIR / "lr_validation_bullet.json"
#: benchmark name in a record -> the script that writes it
SCRIPTS = {
    "lr_validation": "benchmarks/lr_validation.py",
    "lr_validation_bullet": "benchmarks/bullet_lr_validation.py",
}
#: packages whose versions the report states (the run's come from its record)
REPORT_PACKAGES = ("numpy", "scipy", "scikit-learn", "opencv-python-headless", "fpdf2")
#: (characteristic, metric, graphical representation, what it says), Meuwly et al. 2017 table 1
CHARACTERISTICS = (
    ("Accuracy", "Cllr", "ECE plot", "how close the LRs are to the truth, all told"),
    ("Discriminating power", "Cllr-min, EER", "ECE-min plot, Tippett", "separation alone"),
    ("Calibration", "Cllr-cal = Cllr - Cllr-min", "Tippett and ECE plots", "LR values' honesty"),
    ("Robustness", "Cllr, EER", "ECE, Tippett", "not measured by these runs"),
    ("Coherence", "Cllr, EER", "ECE, Tippett", "not measured by these runs"),
    ("Generalisation", "Cllr, EER", "ECE, Tippett", "within a set vs fitted on another set"),
)


@dataclass(frozen=True)
class Figures:
    """The performance characteristics of one protocol (one set of LRs with their truth)."""

    protocol: str
    method: str
    known_matches: int
    known_non_matches: int
    cllr: float
    cllr_min: float
    eer: float
    matches_below_one: float
    non_matches_above_one: float
    matches_below_hundredth: float
    non_matches_above_hundred: float

    @property
    def cllr_cal(self) -> float:
        """The calibration loss: Cllr - Cllr-min."""
        return self.cllr - self.cllr_min


@dataclass(frozen=True)
class Criterion:
    """A validation criterion, the protocol it is read on, what was measured, and if it is met."""

    text: str
    protocol: str
    measured: str
    met: bool


@dataclass
class Section:
    """What the report says of one calibration."""

    title: str
    what: list[str]
    record_path: Path
    record: dict[str, Any]
    datasets: list[dict[str, Any]]
    figures: list[Figures]
    criteria: list[Criterion]
    calibration: dict[str, Any]
    calibration_path: Path | None
    plots: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------- reading the records


def read_record(path: Path) -> dict[str, Any]:
    """Read a benchmark's JSON record, saying which command writes it when it is missing."""
    if not path.is_file():
        raise SystemExit(f"{path} not found: run {SCRIPTS.get(path.stem, 'its benchmark')}")
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return record


def figures_of(row: dict[str, Any], truth: np.ndarray) -> Figures:
    """The characteristics of one record row (its LRs) with the truth of its pairs."""
    values = np.asarray(row["log10_lrs"], dtype=np.float64)
    if values.shape != truth.shape or int(truth.sum()) != row["known_matches"]:
        raise ValueError(f"{row['protocol']}: the record's LRs and pairs do not line up.")
    return Figures(
        protocol=row["protocol"],
        method=row["method"],
        known_matches=int(row["known_matches"]),
        known_non_matches=int(row["known_non_matches"]),
        cllr=float(row["cllr"]),
        cllr_min=float(row["cllr_min"]),
        eer=equal_error_rate(values.tolist(), truth.tolist()),
        matches_below_one=float(row["matches_below_one"]),
        non_matches_above_one=float(row["non_matches_above_one"]),
        matches_below_hundredth=float(row["matches_below_hundredth"]),
        non_matches_above_hundred=float(row["non_matches_above_hundred"]),
    )


def files_digest(files: dict[str, str], used: set[str]) -> str:
    """SHA-256 over the (file, SHA-256) list of the files a set's pairs were scored on."""
    listed = sorted((name, files[name]) for name in used if name in files)
    return hashlib.sha256(json.dumps(listed).encode("utf-8")).hexdigest()


def dataset_row(
    name: str, pairs: list[dict[str, Any]], files: dict[str, str], *, truth: np.ndarray, group: str
) -> dict[str, Any]:
    """One data set of a section: pairs, known matches and non-matches, groups, files' hash."""
    used = {pair["a"] for pair in pairs} | {pair["b"] for pair in pairs}
    groups = {pair[f"{group}_a"] for pair in pairs} | {pair[f"{group}_b"] for pair in pairs}
    return {
        "set": name,
        "files": len(used),
        "pairs": len(pairs),
        "known_matches": int(truth.sum()),
        "known_non_matches": int((~truth).sum()),
        "groups": len(groups),
        "files_sha256": files_digest(files, used),
    }


def plots_of(record: dict[str, Any]) -> list[Path]:
    """The plots a record's notes name (``plot: docs/plots/...``), those that exist."""
    paths = [
        REPOSITORY_ROOT / note.removeprefix("plot: ")
        for note in record.get("notes", [])
        if note.startswith("plot: ")
    ]
    return [path for path in paths if path.is_file()]


def calibration_file_of(calibration: dict[str, Any]) -> Path | None:
    """The shipped calibration file of a record's calibration, when one is shipped."""
    from ballistics.calibration.registry import calibration_file

    if calibration.get("method") == "none":
        return None
    return calibration_file(str(calibration["kind"]), str(calibration["modality"]))


def feature_lines(record: dict[str, Any], calibration: dict[str, Any]) -> list[str]:
    """What the calibration maps and how it was chosen (records before features: the score)."""
    feature = str(calibration.get("feature", "score"))
    found = next((row for row in record["results"] if "feature_selection" in row), None)
    selection = found["feature_selection"] if found else {}
    if not selection.get("selected_on"):
        return [f"Feature mapped to the LR: {feature} (not chosen by the run)."]
    candidates = ", ".join(
        f"{row['feature']} {row[selection['selected_on'] + '_cv_cllr']:.3f}"
        for row in selection["candidates"]
    )
    after = ", ".join(
        f"{row['feature']} {row['fadul_to_dfsc_cllr']:.3f} / {row['dfsc_to_fadul_cllr']:.3f}"
        for row in found.get("cross_set_after_choice", [])
    )
    return [
        f"Feature mapped to the LR: {feature}, chosen on {selection['selected_on']} alone "
        f"({selection['criterion']}; a later candidate must win by more than "
        f"{selection['margin']}): {candidates}.",
        "Cross-set Cllr of every candidate, fit Fadul report DFSC / fit DFSC report Fadul, "
        f"computed after the choice and not used for it: {after}.",
    ]


def casing_section(path: Path) -> Section:
    """The section of the cartridge case 3D calibration (``lr_validation.py``'s record)."""
    record = read_record(path)
    sets = {row["set"]: row for row in record["results"] if "pairs" in row and "set" in row}
    truth = {
        name: np.array([p["firearm_a"] == p["firearm_b"] for p in row["pairs"]])
        for name, row in sets.items()
    }

    def truth_of(protocol: str) -> np.ndarray:
        if protocol.startswith("pooled"):  # the sets in the record's order, as pooled
            return np.concatenate(list(truth.values()))
        return truth[protocol.split(", report ")[-1].split(",")[0]]

    rows = [row for row in record["results"] if "log10_lrs" in row]
    figures = [figures_of(row, truth_of(row["protocol"])) for row in rows]
    calibration = next(row for row in record["results"] if "calibration_file" in row)
    datasets = [
        dataset_row(name, row["pairs"], row["files"], truth=truth[name], group="firearm")
        for name, row in sets.items()
    ]
    return Section(
        title="Cartridge cases, 3D topography",
        what=[
            "Score: the congruent matching cells count of the breech-face comparison "
            "(compare_casings), one per pair of cartridge cases.",
            "Propositions: one firearm fired both cartridge cases; different firearms fired them.",
            "Method: logistic regression or PAV (scikit-learn), classes weighted equally, ELUB "
            "bounds (Vergeer et al. 2016); interval by bootstrap over firearms.",
            *feature_lines(record, calibration),
        ],
        record_path=path,
        record=record,
        datasets=datasets,
        figures=figures,
        criteria=casing_criteria(figures),
        calibration=calibration,
        calibration_path=calibration_file_of(calibration),
        plots=plots_of(record),
    )


def bullet_section(path: Path) -> Section:
    """The section of the bullet land-pair validation (``bullet_lr_validation.py``'s record)."""
    record = read_record(path)
    sets = {row["set"]: row["pairs"] for row in record["results"] if "pairs" in row}
    files = next(row["files"] for row in record["results"] if "files" in row)
    rows = [row for row in record["results"] if "log10_lrs" in row]
    figures = [figures_of(row, np.asarray(row["same_land"], dtype=bool)) for row in rows]
    calibration = next(row["calibration"] for row in record["results"] if "calibration" in row)
    datasets = [
        dataset_row(
            name,
            pairs,
            files,
            truth=np.array([p["land_key_a"] == p["land_key_b"] for p in pairs]),
            group="barrel",
        )
        for name, pairs in sets.items()
    ]
    return Section(
        title="Bullets, land pairs (validation only)",
        what=[
            "Score: the land score (compare_lands: the land model's probability), one per pair "
            "of lands of different bullets; not the bullet score a bullet result carries.",
            "Propositions: the same land of one barrel engraved both lands; different lands "
            "engraved them. Truth: labels.csv land_key. Hamby 44 questioned lands: weak labels.",
            "Hamby sets were all fired through the same ten consecutively rifled barrels; the "
            "known-match land pairs of both sets come from barrel 1.",
            "Method: as for cartridge cases; within a set cross-validated by land (by barrel is "
            "not possible: one barrel with known matches per set).",
            "Bullet pairs with official labels (bullet scores, nothing to calibrate on): "
            + "; ".join(
                f"{b['a']} x {b['b']} {'KM' if b['known_match'] else 'KNM'} {b['score']:.3f}"
                for b in next(r["bullet_pairs"] for r in record["results"] if "bullet_pairs" in r)
            )
            + ".",
        ],
        record_path=path,
        record=record,
        datasets=datasets,
        figures=figures,
        criteria=bullet_criteria(calibration),
        calibration=calibration,
        calibration_path=calibration_file_of(calibration),
        plots=plots_of(record),
    )


# ---------------------------------------------------------------- criteria


def _find(figures: Sequence[Figures], protocol: str, method: str) -> Figures | None:
    return next((f for f in figures if f.protocol == protocol and f.method == method), None)


def casing_criteria(figures: Sequence[Figures], *, method: str = "logistic") -> list[Criterion]:
    """Issue 14's criteria for real 3D casings, on both protocols of each set."""
    found: list[Criterion] = []
    checks: list[tuple[str, str, Callable[[Figures], tuple[str, bool]]]] = []
    for protocol in ("fadul, by firearm", "fit dfsc, report fadul"):
        checks += [
            ("Cllr <= 0.1 on Fadul", protocol, lambda f: (f"{f.cllr:.3f}", f.cllr <= 0.1)),
            (
                "every known match LR > 1 on Fadul",
                protocol,
                lambda f: (f"{f.matches_below_one:.3f} below 1", f.matches_below_one == 0),
            ),
            (
                "no known non-match LR > 100 on Fadul",
                protocol,
                lambda f: (
                    f"{f.non_matches_above_hundred:.3f} above 100",
                    f.non_matches_above_hundred == 0,
                ),
            ),
        ]
    for protocol in ("dfsc, by firearm", "fit fadul, report dfsc"):
        checks.append(("Cllr <= 0.3 on DFSC", protocol, lambda f: (f"{f.cllr:.3f}", f.cllr <= 0.3)))
    for text, protocol, check in checks:
        figure = _find(figures, protocol, method)
        if figure is not None:
            measured, met = check(figure)
            found.append(Criterion(text, f"{protocol} ({method})", measured, met))
    return found


def bullet_criteria(calibration: dict[str, Any]) -> list[Criterion]:
    """The refusal rules (:data:`ballistics.calibration.MINIMUM`) on the pooled land pairs."""
    refused = calibration.get("method") == "none"
    reason = str(calibration.get("reason", ""))
    return [
        Criterion(
            f"at least {MINIMUM.known_matches} known matches from "
            f"{MINIMUM.firearms_with_known_matches} firearms (barrels) and "
            f"{MINIMUM.known_non_matches} known non-matches",
            "pooled official land pairs",
            reason.removeprefix("too few real known pairs: ") if refused else "met",
            not refused,
        )
    ]


# ---------------------------------------------------------------- versions and commands


def command_of(record: dict[str, Any]) -> str:
    """The command that reproduces a record, with the options it ran with."""
    arguments = record.get("arguments", {})
    script = SCRIPTS.get(str(record.get("benchmark")), "benchmarks/?")
    options = [
        f"--{name} {arguments[name]}"
        for name in ("workers", "method", "replicates", "seed")
        if name in arguments
    ]
    return " ".join(["python", script, *options])


def report_versions() -> dict[str, str]:
    """Versions of the packages the report's numbers depend on, installed now."""
    found = {}
    for package in REPORT_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["python"] = sys.version.split()[0]
    return found


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the PDF

#: landscape A4: the tables have a dozen columns
_LINE_MM = 5.0
FIGURE_COLUMNS = (
    ("protocol", 62),
    ("method", 16),
    ("KM", 10),
    ("KNM", 11),
    ("Cllr", 15),
    ("Cllr-min", 16),
    ("EER", 14),
    ("Cllr-cal", 16),
    ("KM LR<1", 17),
    ("KNM LR>1", 18),
    ("KM LR<1/100", 20),
    ("KNM LR>100", 20),
)


class Writer:
    """The report's pages: Noto Sans embedded (fontpkg, as ``api/web/ui/report.py``)."""

    def __init__(self) -> None:
        import fontpkg
        from fpdf import FPDF

        pdf = FPDF(orientation="landscape", format="A4")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=15)
        pdf.add_font("NotoSans", "", str(fontpkg.path("Noto Sans")))
        pdf.set_font("NotoSans", size=9)
        pdf.add_page()
        self.pdf = pdf

    def heading(self, text: str, *, size: float = 13) -> None:
        self.pdf.ln(2)
        self.pdf.set_font("NotoSans", size=size)
        self.pdf.multi_cell(0, size * 0.55, text, align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)
        self.pdf.set_font("NotoSans", size=9)

    def paragraph(self, text: str, *, size: float = 9) -> None:
        self.pdf.set_font("NotoSans", size=size)
        self.pdf.multi_cell(0, _LINE_MM, text, align="L", new_x="LMARGIN", new_y="NEXT")

    def table(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A table with a heading row; ``widths`` in mm (scaled to the page)."""
        self.pdf.set_font("NotoSans", size=7.5)
        from fpdf.fonts import FontFace

        # one embedded face (no bold): the heading row is told apart by its shade
        headings_style = FontFace(emphasis="", fill_color=(225, 225, 225))
        with self.pdf.table(
            col_widths=tuple(widths),
            text_align="LEFT",
            line_height=4.2,
            headings_style=headings_style,
        ) as table:
            for cells in (headings, *rows):
                row = table.row()
                for cell in cells:
                    row.cell(str(cell))
        self.pdf.set_font("NotoSans", size=9)
        self.pdf.ln(2)

    def images(self, paths: Sequence[Path]) -> None:
        """The plots two to a row, each with its file name under it."""
        width = (self.pdf.epw - 6) / 2
        height = width * 400 / 640 + 6
        for start in range(0, len(paths), 2):
            if self.pdf.get_y() + height > self.pdf.h - self.pdf.b_margin:
                self.pdf.add_page()
            top = self.pdf.get_y()
            for offset, path in enumerate(paths[start : start + 2]):
                left = self.pdf.l_margin + offset * (width + 6)
                self.pdf.image(str(path), x=left, y=top, w=width)
                self.pdf.set_xy(left, top + width * 400 / 640)
                self.pdf.set_font("NotoSans", size=7)
                self.pdf.cell(width, 4, relative_name(path))
            self.pdf.set_xy(self.pdf.l_margin, top + height)
        self.pdf.set_font("NotoSans", size=9)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def relative_name(path: Path) -> str:
    resolved = path.resolve()
    if resolved.is_relative_to(REPOSITORY_ROOT):
        return str(resolved.relative_to(REPOSITORY_ROOT))
    return str(path)


def figure_cells(figure: Figures) -> list[str]:
    return [
        figure.protocol,
        figure.method,
        str(figure.known_matches),
        str(figure.known_non_matches),
        f"{figure.cllr:.3f}",
        f"{figure.cllr_min:.3f}",
        f"{figure.eer:.3f}",
        f"{figure.cllr_cal:.3f}",
        f"{figure.matches_below_one:.3f}",
        f"{figure.non_matches_above_one:.3f}",
        f"{figure.matches_below_hundredth:.3f}",
        f"{figure.non_matches_above_hundred:.3f}",
    ]


def generalisation_lines(figures: Sequence[Figures]) -> list[str]:
    """Per set and method: Cllr within the set (cross-validated) against fitted on another."""
    lines = []
    for figure in figures:
        if ", report " not in figure.protocol or "weak" in figure.protocol:
            continue
        fitted, reported = figure.protocol.removeprefix("fit ").split(", report ")
        within = next(
            (
                f
                for f in figures
                if f.method == figure.method and f.protocol.startswith(f"{reported}, by ")
            ),
            None,
        )
        if within is None:
            continue
        lines.append(
            f"Reported on {reported} ({figure.method}): within the set ({within.protocol}) "
            f"Cllr {within.cllr:.3f}, Cllr-min {within.cllr_min:.3f}, EER {within.eer:.3f}; "
            f"fitted on {fitted}: Cllr {figure.cllr:.3f}, Cllr-min {figure.cllr_min:.3f}, "
            f"EER {figure.eer:.3f}."
        )
    return lines


def calibration_lines(section: Section) -> list[str]:
    """The calibration file (path, version, SHA-256, bounds, data) or why there is none."""
    calibration = section.calibration
    data = (
        f"Calibration data: {calibration.get('dataset')}; {calibration.get('known_matches')} "
        f"known matches, {calibration.get('known_non_matches')} known non-matches, "
        f"{calibration.get('firearms')} firearms; data SHA-256 {calibration.get('data_sha256')}."
    )
    path = section.calibration_path
    if path is None:
        return [
            "No calibration is shipped: results of this kind carry log10_lr null and verbal "
            "'not calibrated on casework-like data'.",
            f"Why: {calibration.get('reason')}.",
            data,
        ]
    lines = [
        f"Calibration file: {relative_name(path)}",
        f"Version: {calibration.get('version')}; method {calibration.get('method')}; bounds "
        f"log10 LR {float(calibration['lower']):.2f} to {float(calibration['upper']):.2f}.",
        data,
    ]
    if path.is_file():
        shipped = json.loads(path.read_text(encoding="utf-8")).get("version")
        same = (
            "the file this record wrote"
            if shipped == calibration.get("version")
            else (f"NOT the file this record wrote (file version {shipped}): rerun the benchmark")
        )
        lines.append(f"SHA-256 of the file: {sha256_file(path)} ({same}).")
    else:
        lines.append("The file is missing from this checkout.")
    return lines


def write_section(writer: Writer, section: Section) -> None:
    """One calibration's pages."""
    writer.pdf.add_page()
    writer.heading(section.title, size=14)
    for line in section.what:
        writer.paragraph(line)
    writer.heading("Data", size=11)
    writer.table(
        ("set", "files", "pairs", "KM", "KNM", "firearms / barrels", "SHA-256 of the files"),
        [
            [str(d[k]) for k in ("set", "files", "pairs", "known_matches", "known_non_matches")]
            + [str(d["groups"]), d["files_sha256"]]
            for d in section.datasets
        ],
        (40, 12, 12, 10, 12, 26, 150),
    )
    writer.heading("Performance characteristics (Meuwly, Ramos and Haraksim 2017)", size=11)
    writer.paragraph(
        "Accuracy: Cllr. Discriminating power: Cllr-min and EER. Calibration: Cllr-cal = Cllr - "
        "Cllr-min. Rates of misleading evidence: KM LR<1 (known matches supporting different "
        "sources), KNM LR>1 (known non-matches supporting one source), and beyond 100."
    )
    writer.table(
        [name for name, _ in FIGURE_COLUMNS],
        [figure_cells(f) for f in section.figures],
        [width for _, width in FIGURE_COLUMNS],
    )
    writer.heading("Generalisation (within a set against fitted on another set)", size=11)
    for line in generalisation_lines(section.figures) or ["Not measured."]:
        writer.paragraph(line)
    writer.heading("Robustness and coherence", size=11)
    writer.paragraph(
        "Not measured by these runs: robustness (resolution, noise, missing data) and coherence "
        "(LRs growing with the quantity of information) need runs that vary those conditions."
    )
    writer.heading("Validation criteria", size=11)
    writer.table(
        ("criterion", "protocol", "measured", "met"),
        [[c.text, c.protocol, c.measured, "yes" if c.met else "NO"] for c in section.criteria],
        (80, 60, 110, 15),
    )
    writer.heading("Calibration", size=11)
    for line in calibration_lines(section):
        writer.paragraph(line)
    write_provenance(writer, section)
    if section.plots:
        writer.pdf.add_page()
        writer.heading("Tippett and ECE plots", size=11)
        writer.images(section.plots)


def write_provenance(writer: Writer, section: Section) -> None:
    """The run's commit, time, hardware and versions, and the command that reproduces it."""
    record = section.record
    hardware = record.get("hardware", {})
    versions = ", ".join(
        f"{name} {value}" for name, value in hardware.get("versions", {}).items() if value
    )
    writer.heading("Software and reproduction", size=11)
    writer.paragraph(
        f"Record: {relative_name(section.record_path)} (SHA-256 "
        f"{sha256_file(section.record_path)}), finished {record.get('finished')}, commit "
        f"{record.get('commit')}."
    )
    writer.paragraph(
        f"Run on Python {hardware.get('python')}, {hardware.get('platform')}, "
        f"{hardware.get('available_cores')} cores; {versions}."
    )
    writer.paragraph(f"Reproduce: {command_of(record)}")
    notes = [note for note in record.get("notes", []) if not note.startswith("plot: ")]
    if notes:
        writer.heading("Notes of the run", size=11)
        for note in notes:
            writer.paragraph(note)


def render(sections: Sequence[Section], *, made_at: datetime.datetime) -> bytes:
    """The whole report as PDF bytes."""
    writer = Writer()
    writer.heading("Validation report: likelihood ratios of the ballistics engine", size=16)
    writer.paragraph(
        "The engine finds leads for an examiner to judge; beside each lead it gives the "
        "strength of the evidence of its score as a likelihood ratio (LR), calibrated on real "
        "known-match (KM) and known-non-match (KNM) pairs, with an interval from a bootstrap "
        "over firearms and the ENFSI verbal equivalent. This report gives, per calibration, "
        "the performance characteristics and criteria of Meuwly, Ramos and Haraksim (2017, "
        "Forensic Science International 276, 142-153), measured on data not used to fit."
    )
    writer.heading("Performance characteristics", size=11)
    writer.table(
        ("characteristic", "metric", "graphical representation", "here"),
        [list(row) for row in CHARACTERISTICS],
        (45, 60, 60, 100),
    )
    versions = ", ".join(f"{name} {value}" for name, value in report_versions().items())
    writer.paragraph(
        f"Report made {made_at.isoformat(timespec='seconds')} at commit "
        f"{source_commit()}; {versions}."
    )
    writer.paragraph("Reproduce the report: python benchmarks/validation_report.py")
    for section in sections:
        write_section(writer, section)
    return writer.output()


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casing", type=Path, default=CASING_RECORD, help="lr_validation record")
    parser.add_argument(
        "--bullet", type=Path, default=BULLET_RECORD, help="bullet_lr_validation record"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "validation_report.pdf")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Read the records and write the PDF."""
    arguments = parse_arguments(argv)
    sections = [casing_section(arguments.casing), bullet_section(arguments.bullet)]
    made_at = datetime.datetime.now(datetime.UTC)
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_bytes(render(sections, made_at=made_at))
    print(f"wrote {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
