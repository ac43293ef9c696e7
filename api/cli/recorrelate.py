"""``ballistics recorrelate``: correlate the stored exhibits again, after a change of algorithm or
lead threshold, on the local cores or a Dask cluster (:mod:`api.service.recorrelate`)."""

from __future__ import annotations

import datetime
import sys
from typing import Annotated

import typer

from api.cli.options import (
    DEFAULT_STORE,
    EXIT_PARTIAL_FAILURE,
    ClusterOption,
    DebugOption,
    JsonOption,
    Kind,
    StoreOption,
    WorkersOption,
    check_cluster,
)
from api.cli.output import print_json, progress_reporter
from api.cli.resources import open_service, service_config


def recorrelate(
    kind: Annotated[Kind | None, typer.Option(help="Only exhibits of this kind.")] = None,
    since: Annotated[
        datetime.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="DATE",
            help="Only exhibits stored on or after this day (UTC), YYYY-MM-DD.",
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option(
            "--top-k",
            min=1,
            envvar="BALLISTICS_TOP_K",
            help="Candidates re-ranked per exhibit.  [default: 50]",
        ),
    ] = None,
    lead_threshold: Annotated[
        float | None,
        typer.Option(
            "--lead-threshold",
            envvar="BALLISTICS_LEAD_THRESHOLD",
            help="Score from which a pair becomes a lead.  [default: the calibrated threshold "
            "of the modality]",
        ),
    ] = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Correlate the stored exhibits again (all, or --kind / --since) with today's algorithm and
    lead threshold; resumable: a run started again compares only what is left."""
    del debug  # read by main()
    address = check_cluster(cluster)
    config = service_config(top_k=top_k, lead_threshold=lead_threshold)
    with (
        open_service(
            store, workers=workers, config=config, create=False, cluster=address
        ) as service,
        progress_reporter() as progress,
    ):
        report = service.recorrelate(
            kind=None if kind is None else str(kind),
            since=None if since is None else since.date(),
            progress=progress,
        )
    document = report.as_json()
    if json_output:
        print_json(document)
    else:
        sys.stdout.write(
            f"{document['correlated']} exhibits correlated ({document['comparisons']} pairs "
            f"compared, {document['links_created']} links added); {document['leads']} leads; "
            f"{len(document['failed'])} failed, in {document['elapsed_s']:.1f} s\n"
        )
        for entry in document["failed"]:
            sys.stdout.write(f"  failed: {entry['error']}\n")
    if document["failed"]:
        raise typer.Exit(EXIT_PARTIAL_FAILURE)
