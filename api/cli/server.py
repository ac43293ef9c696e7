"""``ballistics serve`` (the HTTP API on a store) and ``ballistics demo`` (the main job)."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.options import (
    DEFAULT_STORE,
    DebugOption,
    JsonOption,
    StoreOption,
    WorkersOption,
)
from api.cli.output import print_json, progress_reporter, stdout_console

if TYPE_CHECKING:
    from api.demo import DemoReport

logger = logging.getLogger(__name__)


def serve(
    host: Annotated[
        str, typer.Option("--host", envvar="BALLISTICS_HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", envvar="BALLISTICS_PORT", help="Port to listen on.")
    ] = 8000,
    workers: WorkersOption = None,
    jobs: Annotated[
        bool | None,
        typer.Option(
            "--jobs/--no-jobs",
            help="Run the correlation jobs in this process; --no-jobs leaves them to "
            "`ballistics worker` processes on the same database.  [default: "
            "$BALLISTICS_JOB_WORKER, else --jobs]",
        ),
    ] = None,
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
    if jobs is not None:
        changes["job_worker"] = jobs
    database_url = database_url_from_environment()
    if database_url is not None:
        changes["database_url"] = database_url
    settings = ApiSettings(**changes)
    if settings.originals_url is not None:
        from api.store.originals import open_originals

        # a misspelled protocol or a missing package: one line now, not a failed start-up
        open_originals(settings.originals_url)
    logger.info("serving %s on http://%s:%d (docs at /docs)", store, host, port)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="debug" if debug else "info",
        timeout_graceful_shutdown=10,
    )


def demo(
    seed: Annotated[int, typer.Option(help="Seed of the synthetic firearms and firings.")] = 7,
    pistols: Annotated[int, typer.Option(min=2, help="Number of pistols.")] = 3,
    firings: Annotated[int, typer.Option(min=2, help="Cartridges fired per pistol.")] = 2,
    workers: WorkersOption = None,
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
    with progress_reporter() as progress:
        report = run_demo(
            store=store,
            seed=seed,
            pistols=pistols,
            firings=firings,
            workers=workers,
            progress=progress,
        )
    if json_output:
        print_json(report.as_json())
    else:
        print_report(report, stdout_console())
    if keep_serving:
        _serve_demo(report, workers=workers)


def _serve_demo(report: DemoReport, *, workers: int | None) -> None:
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
    console.print(f"\nThe review station: {url}/ui/  Sign-ins of the demo people:")
    for person in report.people:
        console.print(
            f"  {person.email}  password {person.password}  ({person.role}, {person.agency})",
            markup=False,
            soft_wrap=True,  # one sign-in a line, whatever the terminal's width
        )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
