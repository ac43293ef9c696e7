"""What every command shares: exit statuses, the common options and the choices options take.

Light on purpose (``typer`` and the kinds' names only): the commands' modules import it, and
:mod:`api.cli.app` gathers them.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ballistics.items import ItemKind

#: exit status when the command ran but some of its rows failed (each result still printed)
EXIT_PARTIAL_FAILURE = 1
#: exit status for bad input: a file or field the engine cannot use, or a usage mistake
EXIT_BAD_INPUT = 2
#: exit status for anything unexpected (a bug, or the machine): the message says how to see more;
#: not 1, which a script reads as "some rows failed"
EXIT_UNEXPECTED = 3
#: exit status when interrupted (Ctrl-C), as a shell reports a process ended by SIGINT
EXIT_INTERRUPTED = 130

#: the environment variable that asks for debug logs and tracebacks, as ``--debug`` does
DEBUG_VARIABLE = "BALLISTICS_DEBUG"
DEFAULT_STORE = Path("ballistics-data")
DISTRIBUTION_NAME = "ballistics"


class Twist(enum.StrEnum):
    """Twist directions of a barrel's rifling."""

    left = "left"
    right = "right"


class Orientation(enum.StrEnum):
    """What a lab declares of a cartridge case file's orientation
    (:mod:`ballistics.io.intake_orientation`)."""

    AS_STORED = "as_stored"
    MIRRORED = "mirrored"


class LinkStatus(enum.StrEnum):
    """Statuses of links between exhibits."""

    lead = "lead"
    confirmed = "confirmed"
    rejected = "rejected"


class Role(enum.StrEnum):
    """Roles of agency accounts (see api.web.access for what each may do)."""

    lab = "lab"
    examiner = "examiner"
    investigator = "investigator"
    admin = "admin"


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
        envvar=DEBUG_VARIABLE,
        help="Log debug messages and show the traceback of an unexpected error.",
    ),
]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Processes.  [default: all cores]")]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="BALLISTICS_CLUSTER",
        metavar="ADDRESS",
        help="Run the work on a Dask distributed scheduler: tls://host:8786 (certificates from "
        "BALLISTICS_CLUSTER_TLS_CA, _CERT, _KEY), or tcp:// on this machine only.  "
        "[default: the local cores]",
    ),
]
PixelUmOption = Annotated[
    float | None,
    typer.Option("--pixel-um", help="Micrometres per pixel, for 2D images without it."),
]


def check_cluster(cluster: str | None) -> str | None:
    """Return the ``--cluster`` address to use (None: the local cores), refusing plain tcp://
    beyond loopback (:func:`ballistics.cluster.check_cluster_address`)."""
    if cluster is None or not cluster.strip():
        return None
    from ballistics.cluster import check_cluster_address

    try:
        return str(check_cluster_address(cluster))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--cluster") from None


def check_pixel_um(pixel_um: float | None) -> None:
    """Refuse a ``--pixel-um`` that is not a positive number (None, not given, passes)."""
    if pixel_um is not None and not pixel_um > 0:
        raise typer.BadParameter(
            "must be a positive number of micrometres per pixel", param_hint="--pixel-um"
        )
