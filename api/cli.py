"""The ``ballistics`` command line (see ../shared/CONTRACT.md for what it promises).

Results go to standard output (one JSON document with ``--json``); progress bars and logs go to
standard error. Bad input ends with one line on standard error naming the file and the problem
and a non-zero exit, never a traceback (``--debug`` or ``BALLISTICS_DEBUG=1`` shows it).

Exit statuses, the same for every command, so that a script can tell them apart:

===  ===========================================================================================
0    success
1    the command ran but part of its work failed: ``compare --pairs`` rows with ``"error"``,
     ``ingest`` rows in ``"failed"`` (or comparisons in ``"correlation_errors"``); every result
     is still printed, ``--json`` included
2    bad usage or bad input that stopped the command (a file, a field or an option it cannot use,
     an unknown agency); one line on standard error names it, and the store is as it was
3    an unexpected internal error (a bug, or the machine): one line saying how to see more
130  interrupted (Ctrl-C)
===  ===========================================================================================
"""

from __future__ import annotations

import enum
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ballistics.items import ItemKind

try:
    from typer import TyperException as _UsageError
except ImportError:  # typer releases that still used click's exceptions
    from click import ClickException as _UsageError

if TYPE_CHECKING:
    from api.pairs import ProgressCallback

#: exit status when the command ran but some of its rows failed (each result still printed)
EXIT_PARTIAL_FAILURE = 1
#: exit status for bad input: a file or field the engine cannot use, or a usage mistake
EXIT_BAD_INPUT = 2
#: exit status for anything unexpected (a bug, or the machine): the message says how to see more;
#: not 1, which a script reads as "some rows failed"
EXIT_UNEXPECTED = 3
#: exit status when interrupted (Ctrl-C), as a shell reports a process ended by SIGINT
EXIT_INTERRUPTED = 130
_PACKAGES_LOGGED = ("ballistics", "api", "indexer")
# named, not __name__: run as ``python -m api.cli`` this module is __main__, outside "api"
logger = logging.getLogger("api.cli")
_DEBUG_VARIABLE = "BALLISTICS_DEBUG"

app = typer.Typer(
    name="ballistics",
    help="Open ballistic comparison engine: compare fired cartridge cases across agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class Twist(enum.StrEnum):
    """Twist directions of a barrel's rifling."""

    left = "left"
    right = "right"


#: kinds of evidence items, as the options take them (the registry's kinds)
Kind = ItemKind


StoreOption = Annotated[
    Path,
    typer.Option(
        "--store",
        envvar="BALLISTICS_STORE",
        help="The embedded data directory (database, index, feature store).",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document on standard output.")
]
# main() looks for --debug (and BALLISTICS_DEBUG) before parsing, so that it also covers errors
# raised while parsing; the option is declared on each command so that it parses and is listed.
DebugOption = Annotated[
    bool,
    typer.Option(
        "--debug",
        envvar=_DEBUG_VARIABLE,
        help="Log debug messages and show the traceback of an unexpected error.",
    ),
]
DEFAULT_STORE = Path("ballistics-data")
DISTRIBUTION_NAME = "ballistics"


def _print_version(requested: bool) -> None:
    """Print the installed package's version and stop (the ``--version`` option's callback)."""
    if not requested:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version(DISTRIBUTION_NAME)
    except PackageNotFoundError:
        raise typer.BadParameter(
            f"the {DISTRIBUTION_NAME} package is not installed (run from a source tree); "
            "install it with `pip install .`",
            param_hint="--version",
        ) from None
    sys.stdout.write(f"{DISTRIBUTION_NAME} {installed}\n")
    raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the installed version and exit.",
        ),
    ] = False,
) -> None:
    # no docstring: the group's help stays the app's
    del version  # handled by its eager callback, before any command runs


@app.command()
def compare(
    a: Annotated[
        Path | None,
        typer.Argument(
            help="First item (reference): a cartridge case's X3P, PNG, TIFF or JPEG, or a "
            "bullet's folder of one X3P per land."
        ),
    ] = None,
    b: Annotated[Path | None, typer.Argument(help="Second item (questioned).")] = None,
    pairs: Annotated[
        Path | None,
        typer.Option(
            "--pairs",
            help="CSV with columns a, b (optional pixel_um_a, pixel_um_b, kind): compare many "
            "pairs, each file read once.",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Processes for --pairs.  [default: all cores]"),
    ] = None,
    kind: Annotated[
        Kind | None,
        typer.Option(help="Kind of the items.  [default: guessed: a folder is a bullet]"),
    ] = None,
    pixel_um: Annotated[
        float | None,
        typer.Option("--pixel-um", help="Micrometres per pixel, for 2D images without it."),
    ] = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Compare two items directly, or every pair of a CSV list (no store needed).

    Two cartridge cases or two bullets; a bullet against a cartridge case is refused.
    """
    del store, debug  # accepted as every command's; comparing reads no store
    if pixel_um is not None and not pixel_um > 0:
        raise typer.BadParameter(
            "must be a positive number of micrometres per pixel", param_hint="--pixel-um"
        )
    if pairs is not None:
        if a is not None or b is not None:
            raise typer.BadParameter(
                "give either two items A B or --pairs, not both", param_hint="--pairs"
            )
        _compare_pairs(
            pairs, workers=workers, kind=kind, pixel_um=pixel_um, json_output=json_output
        )
        return
    if a is None or b is None:
        raise typer.BadParameter("give two items A B, or --pairs PAIRS.csv", param_hint="A B")
    _compare_two(a, b, kind=kind, pixel_um=pixel_um, json_output=json_output)


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic firearms and firings.")] = 7,
    pistols: Annotated[int, typer.Option(min=2, help="Number of pistols.")] = 3,
    firings: Annotated[int, typer.Option(min=2, help="Cartridges fired per pistol.")] = 2,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Processes.  [default: all cores]")
    ] = None,
    serve: Annotated[
        bool | None,
        typer.Option(
            "--serve/--no-serve",
            help="Keep the API running after the scenario until Ctrl-C.  [default: when run "
            "on a terminal]",
        ),
    ] = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Run the main job on synthetic exhibits from several countries: compare every pair, then
    start the HTTP API, let the labs upload, confirm a cross-border hit and show the links."""
    from api.demo import print_report, run_demo

    del debug  # read by main()
    keep_serving = sys.stdout.isatty() and not json_output if serve is None else serve
    with _progress_reporter() as progress:
        report = run_demo(
            store=store,
            seed=seed,
            pistols=pistols,
            firings=firings,
            workers=workers,
            progress=progress,
        )
    if json_output:
        _print_json(report.as_json())
    else:
        print_report(report, _stdout_console())
    if keep_serving:
        _serve_demo(report, workers=workers)


def _serve_demo(report: Any, *, workers: int | None) -> None:
    """Serve the demo's store on 127.0.0.1:8000 until Ctrl-C, saying how to try it."""
    import uvicorn
    from rich.console import Console

    from api.web.app import create_app
    from api.web.settings import ApiSettings

    store = report.folder / "store"
    settings = ApiSettings(store=store, compare_workers=workers or 0)
    console = Console(file=sys.stderr, highlight=False)
    url = f"http://{settings.host}:{settings.port}"
    console.print(
        f"\nThe API now serves the demo's store ({store}) at {url}; docs at {url}/docs. "
        "Keys of the demo agencies:"
    )
    for name, key in report.api_keys.items():
        console.print(f"  {name}: {key}", markup=False)
    console.print(
        f'Try: curl -H "X-API-Key: <key>" "{url}/v1/links?cross_border=true"   (Ctrl-C stops)'
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


class LinkStatus(enum.StrEnum):
    """Statuses of links between exhibits."""

    lead = "lead"
    confirmed = "confirmed"
    rejected = "rejected"


WorkersOption = Annotated[int | None, typer.Option(min=1, help="Processes.  [default: all cores]")]


@app.command()
def ingest(
    manifest: Annotated[
        Path,
        typer.Argument(
            help="Manifest CSV: path, exhibit_id, case_id, agency, country, kind (+ caliber, "
            "pixel_um, occurred_on, any other column as metadata)."
        ),
    ],
    workers: WorkersOption = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", min=1, help="Candidates re-ranked per new exhibit.  [default: 50]"),
    ] = None,
    lead_threshold: Annotated[
        float | None,
        typer.Option(
            "--lead-threshold",
            help="Score from which a pair becomes a lead.  [default: the calibrated "
            "same-source threshold of the modality]",
        ),
    ] = None,
    correlate: Annotated[
        bool,
        typer.Option(
            "--correlate/--no-correlate",
            help="Correlate the new exhibits against the store after storing them.",
        ),
    ] = True,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Store every exhibit of a manifest, index it and correlate it against the store."""
    from api.manifest import read_manifest

    del debug  # read by main()
    # parsed first: a manifest that cannot be used leaves the store as it was (not even created)
    parsed = read_manifest(manifest)
    config = _service_config(top_k=top_k, lead_threshold=lead_threshold)
    with (
        _open_service(store, workers=workers, config=config) as service,
        _progress_reporter() as progress,
    ):
        report = service.ingest(parsed, correlate=correlate, progress=progress)
    document = report.as_json()
    if json_output:
        _print_json(document)
    else:
        _print_ingest_report(document, correlate=correlate)
    # a row that failed, or a comparison, is part of the work left undone: a script must see it
    if document["failed"] or document["correlation_errors"]:
        raise typer.Exit(EXIT_PARTIAL_FAILURE)


def _print_ingest_report(document: dict[str, Any], *, correlate: bool) -> None:
    """Print ``ingest``'s report as a few lines, then each failed row and comparison."""
    from rich.markup import escape

    console = _stdout_console()
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


@app.command()
def search(
    item: Annotated[
        Path,
        typer.Argument(
            help="The item: X3P, PNG, TIFF or JPEG (a casing), or a folder of land X3Ps (a bullet)."
        ),
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates to show.")] = 10,
    pixel_um: Annotated[
        float | None,
        typer.Option("--pixel-um", help="Micrometres per pixel, for 2D images without it."),
    ] = None,
    caliber: Annotated[
        str | None,
        typer.Option(help="Search this calibre (and exhibits of unknown calibre) only."),
    ] = None,
    kind: Annotated[
        Kind | None,
        typer.Option(help="Kind of the item.  [default: guessed: a folder is a bullet]"),
    ] = None,
    land_count: Annotated[
        int | None,
        typer.Option(
            "--land-count", min=2, max=32, help="Bullets: lands of the rifling, when known."
        ),
    ] = None,
    twist: Annotated[
        Twist | None, typer.Option(help="Bullets: twist of the rifling, when known.")
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k", min=1, help="Candidates re-ranked (at least --top).  [default: 50]"
        ),
    ] = None,
    rerank: Annotated[
        bool,
        typer.Option(
            "--rerank/--no-rerank",
            help="Compare the candidates (default), or order them by descriptor alone.",
        ),
    ] = True,
    workers: WorkersOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Correlate one item against the store without storing it."""
    del debug  # read by main()
    if pixel_um is not None and not pixel_um > 0:
        raise typer.BadParameter(
            "must be a positive number of micrometres per pixel", param_hint="--pixel-um"
        )
    config = _service_config(top_k=top_k)
    from api.rifling import RiflingClass
    from ballistics.items import guess_kind

    with _open_service(store, workers=workers, config=config, create=False) as service:
        outcome = service.search(
            item,
            top=top,
            kind=kind if kind is not None else guess_kind(item),
            pixel_um=pixel_um,
            caliber=caliber,
            rerank=rerank,
            rifling=RiflingClass(
                land_count=land_count, twist=str(twist) if twist is not None else None
            ),
        )
    if json_output:
        _print_json(outcome.as_json())
        return
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
            _number(candidate.score, ".2f"),
            "-" if candidate.lead is None else ("yes" if candidate.lead else "no"),
            _number(candidate.cmc_count, "d"),
            escape(candidate.exhibit_id),
            escape(candidate.case_id),
            escape(candidate.agency),
            candidate.country,
        )
    console = _stdout_console()
    console.print(table)
    console.print(f"{outcome.considered} compared in {outcome.elapsed_s:.1f} s")


@app.command()
def links(
    cross_border: Annotated[
        bool, typer.Option("--cross-border", help="Only links between agencies of two countries.")
    ] = False,
    status: Annotated[LinkStatus | None, typer.Option(help="Only links of this status.")] = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """List possible links (leads) and decided links between exhibits of different cases."""
    del debug  # read by main()
    # links are read from the database alone: no index to load
    with _open_service(store, workers=1, create=False, load_index=False) as service:
        found = service.links(
            cross_border=True if cross_border else None,
            status=None if status is None else str(status),
        )
    if json_output:
        _print_json({"links": found})
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(found)} links")
    for heading in ("score", "status", "exhibit A (case, country)", "exhibit B (case, country)"):
        table.add_column(heading, justify="right" if heading == "score" else "left")
    table.add_column("cross-border")
    for link in found:
        table.add_row(
            _number(link["score"], ".2f"),
            link["status"],
            escape(f"{link['exhibit_a']} ({link['case_a']}, {link['country_a']})"),
            escape(f"{link['exhibit_b']} ({link['case_b']}, {link['country_b']})"),
            "yes" if link["cross_border"] else "",
        )
    _stdout_console().print(table)


@app.command()
def reindex(
    workers: WorkersOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Rebuild the vector index from the descriptors stored in the database."""
    del debug  # read by main()
    with (
        _open_service(store, workers=workers, create=False, load_index=False) as service,
        _progress_reporter() as progress,
    ):
        report = service.reindex(progress=progress)
    document = report.as_json()
    if json_output:
        _print_json(document)
        return
    console = _stdout_console()
    for partition in document["partitions"]:
        console.print(
            f"{partition['kind']} / {partition['modality']}: {partition['vectors']} vectors"
        )
    console.print(
        f"{document['vectors']} vectors of descriptor {document['descriptor_version']} indexed "
        f"({document['descriptors_computed']} descriptors computed from stored marks) in "
        f"{document['elapsed_s']:.1f} s"
    )


agency_app = typer.Typer(
    name="agency",
    help="Agency accounts of the HTTP API (labs, examiners, investigators, admins).",
    no_args_is_help=True,
)
app.add_typer(agency_app, name="agency")


class Role(enum.StrEnum):
    """Roles of agency accounts (see api.web.access for what each may do)."""

    lab = "lab"
    examiner = "examiner"
    investigator = "investigator"
    admin = "admin"


@agency_app.command("add")
def agency_add(
    name: Annotated[str, typer.Argument(help="The agency's name, unique in the network.")],
    country: Annotated[
        str,
        typer.Option(
            "--country",
            help="ISO 3166-1 alpha-2 code of its country, e.g. GB (not UK); any case.",
        ),
    ],
    role: Annotated[Role, typer.Option("--role", help="What the agency may do.")] = Role.lab,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Create an agency account and print its API key once (only a hash is stored).

    Run it again for an existing agency to issue a new key (the old one stops working). A
    revoked agency is refused: register the account under a new name.
    """
    del debug  # read by main()
    from api.store import repository

    # checked before the store is opened: a bad country leaves no store behind
    try:
        country = repository.check_assigned_country_code(country)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--country") from None
    with (
        _opened_store(store, create=True) as store_handle,
        store_handle.transaction(write=True) as session,
    ):
        agency = repository.get_or_create_agency(session, name, country=country, role=str(role))
        # a revoked agency is refused by issue_api_key, whatever role was asked
        if agency.disabled_at is None and agency.role != str(role):
            raise ValueError(
                f"agency {name!r} is registered as {agency.role}, not {role}; give the "
                f"new account another name, or --role {agency.role} to issue a new key."
            )
        api_key = repository.issue_api_key(session, agency)
        document = {
            "agency": agency.name,
            "country": agency.country,
            "role": agency.role,
            "api_key": api_key,
            "id": agency.public_id,
        }
    if json_output:
        _print_json(document)
        return
    from rich.markup import escape

    console = _stdout_console()
    console.print(
        escape(
            f"agency {document['agency']} ({document['country']}, {document['role']}) - its API "
            "key, shown this once:"
        )
    )
    console.print(document["api_key"], markup=False, highlight=False)


@agency_app.command("list")
def agency_list(
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """List the agency accounts, revoked ones included (never their keys)."""
    del debug  # read by main()
    from api.store import repository

    with (
        _opened_store(store, create=False) as store_handle,
        store_handle.transaction() as session,
    ):
        agencies = [_agency_record(agency) for agency in repository.list_agencies(session)]
    if json_output:
        _print_json({"agencies": agencies})
        return
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
    _stdout_console().print(table)


@agency_app.command("revoke")
def agency_revoke(
    name: Annotated[str, typer.Argument(help="The agency's name, as `agency list` shows it.")],
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Disable an agency and its API key for good; its exhibits, links and audit lines stay.

    Revoking an agency already revoked changes nothing.
    """
    del debug  # read by main()
    from api.store import repository
    from api.store.errors import NotFoundError

    with (
        _opened_store(store, create=False) as store_handle,
        store_handle.transaction(write=True) as session,
    ):
        try:
            outcome = repository.revoke_agency(session, name)
        except NotFoundError as error:
            raise typer.BadParameter(
                f"{error}; `ballistics agency list` shows the agencies' names",
                param_hint="NAME",
            ) from None
        document = {**_agency_record(outcome.agency), "changed": outcome.changed}
    if json_output:
        _print_json(document)
        return
    from rich.markup import escape

    already = "" if document["changed"] else "already "
    _stdout_console().print(
        escape(
            f"agency {document['agency']} ({document['country']}, {document['role']}) "
            f"{already}revoked at {document['disabled_at']}; its API key no longer works"
        )
    )


def _agency_record(agency: Any) -> dict[str, Any]:
    """Return an agency as ``agency list``'s JSON: no key, nor whether it holds one."""
    disabled_at = agency.disabled_at
    return {
        "agency": agency.name,
        "id": agency.public_id,
        "country": agency.country,
        "role": agency.role,
        "created_at": agency.created_at.isoformat(),
        "active": disabled_at is None,
        "disabled_at": None if disabled_at is None else disabled_at.isoformat(),
    }


@contextmanager
def _opened_store(store: Path, *, create: bool) -> Iterator[Any]:
    """Yield the store on ``--store`` and ``$BALLISTICS_DATABASE_URL``, closing it after.

    With ``create`` False a folder without a SQLite store is refused rather than made one, as
    the commands that only read or change what is there do (`links`, `search`).
    """
    from api.service import database_url_from_environment
    from api.store.database import SQLITE_FILE_NAME, open_store
    from ballistics.errors import EvidenceError

    database_url = database_url_from_environment()
    if not create and database_url is None and not (store / SQLITE_FILE_NAME).is_file():
        raise EvidenceError(
            str(store),
            f"no evidence store here (no {SQLITE_FILE_NAME}); give --store DIR, or create "
            "agencies first with `ballistics agency add`",
        )
    store_handle = open_store(store, database_url=database_url)
    try:
        yield store_handle
    finally:
        store_handle.close()


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", envvar="BALLISTICS_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="BALLISTICS_PORT", help="Port to listen on.")
    ] = 8000,
    workers: WorkersOption = None,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Start the HTTP API on the store (OpenAPI at /docs); other settings from BALLISTICS_*."""
    import uvicorn

    from api.service import database_url_from_environment
    from api.web.app import create_app
    from api.web.settings import ApiSettings

    changes: dict[str, Any] = {"store": store, "host": host, "port": port}
    if workers is not None:
        changes["compare_workers"] = workers
    database_url = database_url_from_environment()
    if database_url is not None:
        changes["database_url"] = database_url
    settings = ApiSettings(**changes)
    logger.info("serving %s on http://%s:%d (docs at /docs)", store, host, port)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="debug" if debug else "info",
        timeout_graceful_shutdown=10,
    )


def _service_config(*, top_k: int | None = None, lead_threshold: float | None = None) -> Any:
    import dataclasses

    from api.service import DEFAULT_SERVICE_CONFIG

    changes: dict[str, Any] = {}
    if top_k is not None:
        changes["top_k"] = top_k
    if lead_threshold is not None:
        changes["lead_threshold"] = lead_threshold
    return dataclasses.replace(DEFAULT_SERVICE_CONFIG, **changes)


def _open_service(
    store: Path,
    *,
    workers: int | None,
    config: Any = None,
    create: bool = True,
    load_index: bool = True,
) -> Any:
    """Open the service on ``--store`` and ``$BALLISTICS_DATABASE_URL`` (read when called)."""
    from api.service import DEFAULT_SERVICE_CONFIG, EvidenceService, database_url_from_environment

    return EvidenceService.open(
        store,
        database_url=database_url_from_environment(),
        config=config or DEFAULT_SERVICE_CONFIG,
        workers=workers,
        create=create,
        load_index=load_index,
    )


def _compare_two(
    a: Path, b: Path, *, kind: Kind | None, pixel_um: float | None, json_output: bool
) -> None:
    from api.pairs import compare_items
    from ballistics.items import Item, guess_kind

    item_a = Item(a, pixel_um, kind or guess_kind(a))
    item_b = Item(b, pixel_um, kind or guess_kind(b))
    record = {"a": str(a), "b": str(b), **compare_items(item_a, item_b)}
    if json_output:
        _print_json(record)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    # escaped: a file name may hold brackets that are not rich markup
    table.add_row("A", escape(str(a)))
    table.add_row("B", escape(str(b)))
    verdict = "[bold green]yes[/]" if record["lead"] else "[bold]no[/]"
    table.add_row("score", f"{_number(record['score'], '.2f')}   lead: {verdict}")
    if record["kind"] == ItemKind.BULLET:
        table.add_row(
            "phase",
            f"{record['phase']} of {record['land_count']}: land 1 of A faces land "
            f"{record['phase'] % record['land_count'] + 1} of B",
        )
        for number, pair in enumerate(record["aligned_pairs"]):
            table.add_row(
                "land pairs" if number == 0 else "",
                f"A{pair['land_a']} - B{pair['land_b']}: score {_number(pair['score'], '.2f')}, "
                f"lag {_number(pair['lag_um'], '.0f')} µm, "
                f"{pair['consecutive_matching_striae']} consecutive matching striae",
            )
    else:
        table.add_row(
            "congruent cells",
            f"{record['cmc_count']} of {record['valid_cells']} valid cells "
            f"({_number(record['cmc_fraction'], '.0%')})",
        )
        translation = record["translation_um"] or ["-", "-"]
        table.add_row(
            "registration",
            f"rotation {_number(record['rotation_deg'], '.1f')}°, translation (rows, columns) "
            f"({_number(translation[0], '.0f')}, {_number(translation[1], '.0f')}) µm",
        )
        table.add_row(
            "correlation",
            f"breech face {_number(record['correlation'], '.3f')}, firing pin "
            f"{_number(record['firing_pin_correlation'], '.3f')}",
        )
    table.add_row("time", f"{record['elapsed_s']:.2f} s")
    _stdout_console().print(table)


def _compare_pairs(
    path: Path, *, workers: int | None, kind: Kind | None, pixel_um: float | None, json_output: bool
) -> None:
    from api.pairs import compare_pairs, read_pairs_csv

    pairs = read_pairs_csv(
        path, default_kind=str(kind) if kind else None, default_pixel_um=pixel_um
    )
    with _progress_reporter() as progress:
        run = compare_pairs(pairs, workers=workers, progress=progress)
    failed = sum("error" in result for result in run.results)
    if failed:
        logger.warning(
            "%d of %d pairs failed; their rows carry the error", failed, len(run.results)
        )
    if json_output:
        _print_json({"results": run.results, "elapsed_s": run.elapsed_s, "workers": run.workers})
    else:
        _print_pairs_table(path, run, failed=failed)
    if failed:
        raise typer.Exit(EXIT_PARTIAL_FAILURE)


def _print_pairs_table(path: Path, run: Any, *, failed: int) -> None:
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
        cells = [_number(result["score"], ".2f"), "yes" if result["lead"] else "no"]
        casing = result["kind"] != ItemKind.BULLET
        if has_casings:
            cells += (
                [str(result["cmc_count"]), _number(result["rotation_deg"], ".1f")]
                if casing
                else ["", ""]
            )
        if has_bullets:
            cells += (
                ["", ""]
                if casing
                else [
                    f"{result['phase']} of {result['land_count']}",
                    str(len(result["aligned_pairs"])),
                ]
            )
        table.add_row(*names, *cells)
    console = _stdout_console()
    console.print(table)
    for line in errors:
        console.print(line)
    console.print(
        f"{len(run.results) - failed} compared, {failed} failed, in {run.elapsed_s:.1f} s "
        f"on {run.workers} worker(s)"
    )


def _number(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, allow_nan=False) + "\n")
    sys.stdout.flush()


def _stdout_console() -> Any:
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)


@contextmanager
def _progress_reporter() -> Iterator[ProgressCallback | None]:
    """Yield a progress callback drawing a bar on standard error, or None when it is no terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    tasks: dict[str, Any] = {}
    with Progress(console=Console(file=sys.stderr), transient=True) as bar:

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        yield report


@contextmanager
def _logging_to_stderr(*, debug: bool) -> Iterator[None]:
    """Send the engine's log records to standard error while a command runs, then restore.

    Restoring keeps ``main`` free of lasting side effects when it is called in-process (tests,
    scripts).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ballistics: %(levelname)s %(name)s: %(message)s"))
    packages = [logging.getLogger(name) for name in _PACKAGES_LOGGED]
    saved = [(package.level, package.propagate) for package in packages]
    for package in packages:
        package.addHandler(handler)
        package.setLevel(logging.DEBUG if debug else logging.WARNING)
        package.propagate = False
    try:
        yield
    finally:
        for package, (level, propagate) in zip(packages, saved, strict=True):
            package.removeHandler(handler)
            package.setLevel(level)
            package.propagate = propagate


def _debug_requested(args: Sequence[str]) -> bool:
    value = os.environ.get(_DEBUG_VARIABLE, "").strip().lower()
    return "--debug" in args or value in {"1", "true", "yes", "on"}


def _fail(message: str) -> None:
    sys.stderr.write(f"ballistics: error: {' '.join(message.split())}\n")
    sys.stderr.flush()


def main(args: Sequence[str] | None = None) -> int:
    """Run the command line on ``args`` (default: ``sys.argv[1:]``) and return the exit status."""
    args = list(sys.argv[1:] if args is None else args)
    command = typer.main.get_command(app)
    debug = _debug_requested(args)
    try:
        with _logging_to_stderr(debug=debug):
            outcome = command.main(args=args, prog_name="ballistics", standalone_mode=False)
    except typer.Exit as stop:
        return stop.exit_code
    except typer.Abort:  # Ctrl-C, or the end of standard input, at a prompt
        _fail("aborted")
        return EXIT_INTERRUPTED
    except _UsageError as usage:  # usage mistakes: a missing argument, a bad option
        message = usage.format_message()
        if message:  # empty when the help was shown for a command given no arguments
            _fail(message)
        # always 2: click gives some of its errors 1, which here means "some rows failed"
        return EXIT_BAD_INPUT
    except (ValueError, OSError) as error:  # bad input: evidence errors are ValueErrors
        if debug:
            raise
        from ballistics.items import describe_error

        _fail(describe_error(error))
        return EXIT_BAD_INPUT
    except Exception as error:
        if debug:
            raise
        _fail(
            f"unexpected {type(error).__name__}: {error} (run again with --debug or "
            f"{_DEBUG_VARIABLE}=1 for the traceback)"
        )
        return EXIT_UNEXPECTED
    return outcome if isinstance(outcome, int) else 0


if __name__ == "__main__":
    sys.exit(main())
