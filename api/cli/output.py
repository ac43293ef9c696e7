"""What the commands print: one JSON document, or tables and lines for a reader.

Standard output carries the result alone; progress bars go to standard error, and only when it
is a terminal. ``rich`` is imported when something is drawn, so that ``--json`` runs without it.

The human-readable comparison shows what each kind measured (a bullet's phase and land pairs, a
cartridge case's congruent cells and registration) as its record says
(:meth:`~ballistics.items.records.ComparisonRecord.summary_rows`, ``table_cells``): nothing here
asks which kind a record is.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballistics.items.records import ComparisonRecord, strength_text, table_record_types
from ballistics.items.records import format_number as number

if TYPE_CHECKING:
    from rich.console import Console

    from api.pairs import PairsRun, ProgressCallback
    from api.service import SearchOutcome


def print_json(document: Any) -> None:
    """Print ``document`` as one line of strict JSON (no NaN) on standard output."""
    sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")
    sys.stdout.flush()


def stdout_console() -> Console:
    """Return a console on standard output that highlights nothing on its own."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)


@contextmanager
def progress_reporter() -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing a bar on standard error, or None when it is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, TaskID

    tasks: dict[str, TaskID] = {}
    with Progress(console=Console(file=sys.stderr), transient=True) as bar:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield report


# --- compare -----------------------------------------------------------------------------------


def print_comparison(a: str, b: str, record: ComparisonRecord) -> None:
    """Print ``compare A B``'s record as a two-column grid: the items, the score, the details."""
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    # escaped: a file name may hold brackets that are not rich markup
    table.add_row("A", escape(a))
    table.add_row("B", escape(b))
    verdict = "[bold green]yes[/]" if record.lead else "[bold]no[/]"
    table.add_row("score", f"{number(record.score, '.2f')}   lead: {verdict}")
    # the strength of the evidence, never worded as an identification
    table.add_row("strength", escape(strength_text(record.fields)))
    table.add_row("calibration", escape(str(record.fields.get("calibration", "-"))))
    for label, text in record.summary_rows():
        table.add_row(label, text)
    table.add_row("time", f"{record.elapsed_s or 0.0:.2f} s")
    stdout_console().print(table)


#: printed under a table with a log10 LR column
LR_NOTE = (
    "log10 LR: log10 likelihood ratio of one firearm against different firearms, with its "
    "interval; '-': not calibrated on casework-like data. A lead is worth an examiner's time, "
    "not an identification."
)


def lr_cell(document: Mapping[str, Any]) -> str:
    """Return a table cell of a result's log10 LR and interval (``"2.1 [1.7, 2.9]"``), or "-"
    where it has none (the kind or modality is not calibrated); the words go below the table."""
    value, interval = document.get("log10_lr"), document.get("lr_interval")
    if value is None:
        return "-"
    return f"{value:.1f}" + ("" if not interval else f" [{interval[0]:.1f}, {interval[1]:.1f}]")


def print_pairs_table(path: Path, run: PairsRun, *, failed: int) -> None:
    """Print ``compare --pairs`` results as a table, then each failed row's error."""
    from rich.markup import escape
    from rich.table import Table

    # each kind compared adds its own columns; a list of cartridge cases alone shows the
    # columns it always did
    shown = table_record_types(result.record for result in run.pairs if result.record)
    headings = ["a", "b", "score", "lead", "log10 LR"]
    headings += [heading for record_type in shown for heading in record_type.table_headings]
    table = Table(title=escape(f"{len(run.pairs)} pairs from {path}"))
    for heading in headings:
        table.add_column(heading, justify="left" if heading in ("a", "b") else "right")
    errors = []
    for row, result in enumerate(run.pairs, start=1):
        names = (escape(result.a), escape(result.b))
        record = result.record
        if record is None:
            table.add_row(*names, "[red]error[/]", *[""] * (len(headings) - 3))
            errors.append(f"[red]row {row}[/]: {escape(result.error or '')}")
            continue
        cells = [
            number(record.score, ".2f"),
            "yes" if record.lead else "no",
            lr_cell(record.fields),
        ]
        for record_type in shown:
            own = type(record) is record_type
            cells += record.table_cells() if own else [""] * len(record_type.table_headings)
        table.add_row(*names, *cells)
    console = stdout_console()
    console.print(table)
    console.print(LR_NOTE)
    for line in errors:
        console.print(line)
    console.print(
        f"{len(run.pairs) - failed} compared, {failed} failed, in {run.elapsed_s:.1f} s "
        f"on {run.workers} worker(s)"
    )


# --- the store's commands ----------------------------------------------------------------------


def print_ingest_report(document: dict[str, Any], *, correlate: bool) -> None:
    """Print ``ingest``'s report as a few lines, then each failed row and comparison."""
    from rich.markup import escape

    console = stdout_console()
    console.print(
        f"{document['ingested']} ingested, {document['skipped']} skipped, "
        f"{len(document['failed'])} failed, of {document['rows']} rows "
        f"({document['store_s']:.1f} s on {document['workers']} worker(s))"
    )
    if correlate:
        console.print(
            f"{document['correlated']} exhibits correlated: {document['comparisons']} "
            f"comparisons, {document['links_created']} new leads "
            f"({document['correlate_s']:.1f} s)"
        )
    for entry in document["failed"]:
        console.print(f"[red]failed[/] {escape(entry['error'])}")
    for entry in document["correlation_errors"]:
        console.print(f"[red]comparison failed[/] {escape(entry['error'])}")


def print_search_table(item: Path, outcome: SearchOutcome) -> None:
    """Print ``search``'s candidates as a table, best first, then how many were compared."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"{item}: {len(outcome.candidates)} candidates"))
    numeric = ("rank", "score", "log10 LR", "CMC")
    for heading in ("rank", "score", "lead", "log10 LR", "CMC", "exhibit", "case", "agency"):
        table.add_column(heading, justify="right" if heading in numeric else "left")
    table.add_column("country")
    for candidate in outcome.candidates:
        table.add_row(
            str(candidate.rank),
            number(candidate.score, ".2f"),
            "-" if candidate.lead is None else ("yes" if candidate.lead else "no"),
            lr_cell(candidate.details),
            number(candidate.cmc_count, "d"),
            escape(candidate.exhibit_id),
            escape(candidate.case_id),
            escape(candidate.agency),
            candidate.country,
        )
    console = stdout_console()
    console.print(table)
    console.print(LR_NOTE)
    console.print(f"{outcome.considered} compared in {outcome.elapsed_s:.1f} s")


def print_links_table(found: list[dict[str, Any]]) -> None:
    """Print ``links``' links as a table: score, status, the two exhibits, cross-border."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(found)} links")
    for heading in ("score", "log10 LR", "status", "exhibit A (case, country)"):
        table.add_column(heading, justify="right" if heading in ("score", "log10 LR") else "left")
    table.add_column("exhibit B (case, country)")
    table.add_column("cross-border")
    for link in found:
        table.add_row(
            number(link["score"], ".2f"),
            lr_cell(link),
            link["status"],
            escape(f"{link['exhibit_a']} ({link['case_a']}, {link['country_a']})"),
            escape(f"{link['exhibit_b']} ({link['case_b']}, {link['country_b']})"),
            "yes" if link["cross_border"] else "",
        )
    console = stdout_console()
    console.print(table)
    console.print(LR_NOTE)


def print_reindex_report(document: dict[str, Any]) -> None:
    """Print ``reindex``'s report: the vectors of each partition, then the totals."""
    console = stdout_console()
    for partition in document["partitions"]:
        console.print(
            f"{partition['kind']} / {partition['modality']}: {partition['vectors']} vectors"
        )
    console.print(
        f"{document['vectors']} vectors of descriptor {document['descriptor_version']} indexed "
        f"({document['descriptors_computed']} descriptors computed from stored marks) in "
        f"{document['elapsed_s']:.1f} s"
    )
    if document.get("marks_prepared_again"):
        console.print(
            f"{document['marks_prepared_again']} marks prepared again from their originals "
            "(their preparation settings had changed)"
        )
    from rich.markup import escape

    for failure in document.get("failed", []):
        console.print(f"[red]failed[/] {escape(failure['exhibit_id'])}: {escape(failure['error'])}")


# --- agencies ----------------------------------------------------------------------------------


def print_new_key(document: dict[str, Any]) -> None:
    """Print ``agency add``'s account and its API key, shown this once."""
    from rich.markup import escape

    console = stdout_console()
    console.print(
        escape(
            f"agency {document['agency']} ({document['country']}, {document['role']}) - its API "
            "key, shown this once:"
        )
    )
    console.print(document["api_key"], markup=False, highlight=False)


def print_agencies_table(agencies: list[dict[str, Any]]) -> None:
    """Print ``agency list``'s accounts as a table, revoked ones with the date."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(agencies)} agencies")
    for heading in ("agency", "country", "role", "created", "status"):
        table.add_column(heading)
    for agency in agencies:
        table.add_row(
            escape(agency["agency"]),
            agency["country"],
            agency["role"],
            agency["created_at"],
            "active" if agency["active"] else f"revoked {agency['disabled_at']}",
        )
    stdout_console().print(table)


def print_revoked(document: dict[str, Any]) -> None:
    """Print the line ``agency revoke`` ends with."""
    from rich.markup import escape

    already = "" if document["changed"] else "already "
    stdout_console().print(
        escape(
            f"agency {document['agency']} ({document['country']}, {document['role']}) "
            f"{already}revoked at {document['disabled_at']}; its API key no longer works"
        )
    )
