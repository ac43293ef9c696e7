"""The commands on the evidence store: ``ingest``, ``search``, ``links`` and ``reindex``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import (
    DEFAULT_STORE,
    EXIT_PARTIAL_FAILURE,
    ClusterOption,
    DebugOption,
    JsonOption,
    Kind,
    LinkStatus,
    Orientation,
    PixelUmOption,
    StoreOption,
    Twist,
    WorkersOption,
    check_cluster,
    check_pixel_um,
)
from api.cli.output import (
    print_ingest_report,
    print_json,
    print_links_table,
    print_reindex_report,
    print_search_table,
    progress_reporter,
)
from api.cli.resources import open_service, service_config


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
    cluster: ClusterOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Store every exhibit of a manifest, index it and correlate it against the store."""
    from api.manifest import read_manifest

    del debug  # read by main()
    # parsed first: a manifest that cannot be used leaves the store as it was (not even created)
    parsed = read_manifest(manifest)
    config = service_config(top_k=top_k, lead_threshold=lead_threshold)
    address = check_cluster(cluster)
    with (
        open_service(store, workers=workers, config=config, cluster=address) as service,
        progress_reporter() as progress,
    ):
        report = service.ingest(parsed, correlate=correlate, progress=progress)
    document = report.as_json()
    if json_output:
        print_json(document)
    else:
        print_ingest_report(document, correlate=correlate)
    # a row that failed, or a comparison, is part of the work left undone: a script must see it
    if document["failed"] or document["correlation_errors"]:
        raise typer.Exit(EXIT_PARTIAL_FAILURE)


def search(
    item: Annotated[
        Path,
        typer.Argument(
            help="The item: X3P, PNG, TIFF or JPEG (a casing), or a folder of land X3Ps (a bullet)."
        ),
    ],
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates to show.")] = 10,
    pixel_um: PixelUmOption = None,
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
    orientation: Annotated[
        Orientation,
        typer.Option(
            help="Cartridge cases: 'mirrored' when the file's rows are stored bottom-up (as at "
            "ingest)."
        ),
    ] = Orientation.AS_STORED,
    workers: WorkersOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Correlate one item against the store without storing it."""
    del debug  # read by main()
    check_pixel_um(pixel_um)
    config = service_config(top_k=top_k)
    from api.rifling import RiflingClass
    from ballistics.items import guess_kind

    with open_service(store, workers=workers, config=config, create=False) as service:
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
            orientation=str(orientation),
        )
    if json_output:
        print_json(outcome.as_json())
    else:
        print_search_table(item, outcome)


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
    with open_service(store, workers=1, create=False, load_index=False) as service:
        found = service.links(
            cross_border=True if cross_border else None,
            status=None if status is None else str(status),
        )
    if json_output:
        print_json({"links": found})
    else:
        print_links_table(found)


def reindex(
    workers: WorkersOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Rebuild the vector index from the descriptors stored in the database.

    Marks prepared with other preparation settings than the current ones are first prepared
    again from the stored originals (an exhibit whose original cannot be read keeps its old mark
    and is listed under "failed").
    """
    del debug  # read by main()
    with (
        open_service(store, workers=workers, create=False, load_index=False) as service,
        progress_reporter() as progress,
    ):
        report = service.reindex(progress=progress)
    document = report.as_json()
    if json_output:
        print_json(document)
    else:
        print_reindex_report(document)
