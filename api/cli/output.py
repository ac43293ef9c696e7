"""What the commands print: one JSON document, or tables and lines for a reader.

Standard output carries the result alone; progress bars go to standard error, and only when it
is a terminal. ``rich`` is imported when something is drawn, so that ``--json`` runs without it.

The human-readable comparison shows what each kind measured (a bullet's phase and land pairs, a
cartridge case's congruent cells and registration): those few lines branch on the kind here,
where the words are, rather than in the registry, which holds no presentation.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballistics.items import ItemKind

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from api.pairs import PairsRun, ProgressCallback
    from api.service import SearchOutcome


def number(value: Any, spec: str) -> str:
    """Return ``value`` formatted by ``spec``, or "-" when there is none."""
    return "-" if value is None else format(value, spec)


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


def print_comparison(record: dict[str, Any]) -> None:
    """Print ``compare A B``'s record as a two-column grid: the items, the score, the details."""
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    # escaped: a file name may hold brackets that are not rich markup
    table.add_row("A", escape(record["a"]))
    table.add_row("B", escape(record["b"]))
    verdict = "[bold green]yes[/]" if record["lead"] else "[bold]no[/]"
    table.add_row("score", f"{number(record['score'], '.2f')}   lead: {verdict}")
    if record["kind"] == ItemKind.BULLET:
        _add_bullet_rows(table, record)
    else:
        _add_casing_rows(table, record)
    table.add_row("time", f"{record['elapsed_s']:.2f} s")
    stdout_console().print(table)


def _add_bullet_rows(table: Table, record: dict[str, Any]) -> None:
    """Add a bullet comparison's phase and its aligned land pairs."""
    table.add_row(
        "phase",
        f"{record['phase']} of {record['land_count']}: land 1 of A faces land "
        f"{record['phase'] % record['land_count'] + 1} of B",
    )
    for position, pair in enumerate(record["aligned_pairs"]):
        table.add_row(
            "land pairs" if position == 0 else "",
            f"A{pair['land_a']} - B{pair['land_b']}: score {number(pair['score'], '.2f')}, "
            f"lag {number(pair['lag_um'], '.0f')} µm, "
            f"{pair['consecutive_matching_striae']} consecutive matching striae",
        )


def _add_casing_rows(table: Table, record: dict[str, Any]) -> None:
    """Add a cartridge case comparison's congruent cells, registration and correlations."""
    table.add_row(
        "congruent cells",
        f"{record['cmc_count']} of {record['valid_cells']} valid cells "
        f"({number(record['cmc_fraction'], '.0%')})",
    )
    translation = record["translation_um"] or ["-", "-"]
    table.add_row(
        "registration",
        f"rotation {number(record['rotation_deg'], '.1f')}°, translation (rows, columns) "
        f"({number(translation[0], '.0f')}, {number(translation[1], '.0f')}) µm",
    )
    table.add_row(
        "correlation",
        f"breech face {number(record['correlation'], '.3f')}, firing pin "
        f"{number(record['firing_pin_correlation'], '.3f')}",
    )


def print_pairs_table(path: Path, run: PairsRun, *, failed: int) -> None:
    """Print ``compare --pairs`` results as a table, then each failed row's error."""
    from rich.markup import escape
    from rich.table import Table

    compared = [result for result in run.results if "error" not in result]
    has_bullets = any(result["kind"] == ItemKind.BULLET for result in compared)
    # a list of cartridge cases alone shows the columns it always did
    has_casings = not has_bullets or any(result["kind"] != ItemKind.BULLET for result in compared)
    headings = ["a", "b", "score", "lead"]
    headings += ["CMC", "rotation °"] if has_casings else []
    headings += ["phase", "land pairs"] if has_bullets else []
    table = Table(title=escape(f"{len(run.results)} pairs from {path}"))
    for heading in headings:
        table.add_column(heading, justify="left" if heading in ("a", "b") else "right")
    errors = []
    for row, result in enumerate(run.results, start=1):
        names = (escape(result["a"]), escape(result["b"]))
        if "error" in result:
            table.add_row(*names, "[red]error[/]", *[""] * (len(headings) - 3))
            errors.append(f"[red]row {row}[/]: {escape(result['error'])}")
            continue
        cells = [number(result["score"], ".2f"), "yes" if result["lead"] else "no"]
        if has_casings:
            cells += _casing_cells(result)
        if has_bullets:
            cells += _bullet_cells(result)
        table.add_row(*names, *cells)
    console = stdout_console()
    console.print(table)
    for line in errors:
        console.print(line)
    console.print(
        f"{len(run.results) - failed} compared, {failed} failed, in {run.elapsed_s:.1f} s "
        f"on {run.workers} worker(s)"
    )


def _casing_cells(result: dict[str, Any]) -> list[str]:
    """The CMC and rotation cells of a pairs row: empty for a bullet."""
    if result["kind"] == ItemKind.BULLET:
        return ["", ""]
    return [str(result["cmc_count"]), number(result["rotation_deg"], ".1f")]


def _bullet_cells(result: dict[str, Any]) -> list[str]:
    """The phase and land-pairs cells of a pairs row: empty for a cartridge case."""
    if result["kind"] != ItemKind.BULLET:
        return ["", ""]
    return [f"{result['phase']} of {result['land_count']}", str(len(result["aligned_pairs"]))]


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
    for heading in ("rank", "score", "lead", "CMC", "exhibit", "case", "agency", "country"):
        table.add_column(
            heading, justify="right" if heading in ("rank", "score", "CMC") else "left"
        )
    for candidate in outcome.candidates:
        table.add_row(
            str(candidate.rank),
            number(candidate.score, ".2f"),
            "-" if candidate.lead is None else ("yes" if candidate.lead else "no"),
            number(candidate.cmc_count, "d"),
            escape(candidate.exhibit_id),
            escape(candidate.case_id),
            escape(candidate.agency),
            candidate.country,
        )
    console = stdout_console()
    console.print(table)
    console.print(f"{outcome.considered} compared in {outcome.elapsed_s:.1f} s")


def print_links_table(found: list[dict[str, Any]]) -> None:
    """Print ``links``' links as a table: score, status, the two exhibits, cross-border."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(found)} links")
    for heading in ("score", "status", "exhibit A (case, country)", "exhibit B (case, country)"):
        table.add_column(heading, justify="right" if heading == "score" else "left")
    table.add_column("cross-border")
    for link in found:
        table.add_row(
            number(link["score"], ".2f"),
            link["status"],
            escape(f"{link['exhibit_a']} ({link['case_a']}, {link['country_a']})"),
            escape(f"{link['exhibit_b']} ({link['case_b']}, {link['country_b']})"),
            "yes" if link["cross_border"] else "",
        )
    stdout_console().print(table)


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
