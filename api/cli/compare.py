"""``ballistics compare``: two items directly, or every pair of a CSV list; no store needed."""

from __future__ import annotations

import logging
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
    PixelUmOption,
    StoreOption,
    check_cluster,
    check_pixel_um,
)
from api.cli.output import (
    print_comparison,
    print_json,
    print_pairs_table,
    progress_reporter,
)

logger = logging.getLogger(__name__)


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
    pixel_um: PixelUmOption = None,
    cluster: ClusterOption = None,
    json_output: JsonOption = False,
    store: StoreOption = DEFAULT_STORE,
    debug: DebugOption = False,
) -> None:
    """Compare two items directly, or every pair of a CSV list (no store needed).

    Two cartridge cases or two bullets; a bullet against a cartridge case is refused.
    """
    del store, debug  # accepted as every command's; comparing reads no store
    check_pixel_um(pixel_um)
    if pairs is not None:
        if a is not None or b is not None:
            raise typer.BadParameter(
                "give either two items A B or --pairs, not both", param_hint="--pairs"
            )
        _compare_pairs(
            pairs,
            workers=workers,
            kind=kind,
            pixel_um=pixel_um,
            json_output=json_output,
            cluster=check_cluster(cluster),
        )
        return
    if a is None or b is None:
        raise typer.BadParameter("give two items A B, or --pairs PAIRS.csv", param_hint="A B")
    _compare_two(a, b, kind=kind, pixel_um=pixel_um, json_output=json_output)


def _compare_two(
    a: Path, b: Path, *, kind: Kind | None, pixel_um: float | None, json_output: bool
) -> None:
    # looked up when called: tests replace api.pairs.compare_items
    from api.pairs import compare_items
    from ballistics.items import Item, guess_kind

    item_a = Item(a, pixel_um, kind or guess_kind(a))
    item_b = Item(b, pixel_um, kind or guess_kind(b))
    record = compare_items(item_a, item_b)
    if json_output:
        print_json({"a": str(a), "b": str(b), **record.as_json()})
    else:
        print_comparison(str(a), str(b), record)


def _compare_pairs(
    path: Path,
    *,
    workers: int | None,
    kind: Kind | None,
    pixel_um: float | None,
    json_output: bool,
    cluster: str | None,
) -> None:
    from api.pairs import compare_pairs, read_pairs_csv

    pairs = read_pairs_csv(
        path, default_kind=str(kind) if kind else None, default_pixel_um=pixel_um
    )
    with progress_reporter() as progress:
        run = compare_pairs(pairs, workers=workers, progress=progress, cluster=cluster)
    failed = run.failed
    if failed:
        logger.warning(
            "%d of %d pairs failed; their rows carry the error", failed, len(run.results)
        )
    if json_output:
        print_json(run.as_json())
    else:
        print_pairs_table(path, run, failed=failed)
    if failed:
        raise typer.Exit(EXIT_PARTIAL_FAILURE)
