"""The ``ballistics`` Typer application and :func:`main`: exit statuses, logs and errors.

:func:`main` runs a command and turns what it raised into the exit statuses listed in
:mod:`api.cli`: a usage mistake or bad input is one line on standard error and 2, anything
unexpected one line and 3, never a traceback unless ``--debug`` (or ``BALLISTICS_DEBUG=1``).
The commands live one group to a module and are gathered here, in the order ``--help`` lists
them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated

import typer

from api.cli import compare, evidence, recorrelate, server, worker
from api.cli.agency import agency_app
from api.cli.options import (
    DEBUG_VARIABLE,
    DISTRIBUTION_NAME,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
)
from api.cli.people import user_app

try:
    from typer import TyperException as _UsageError
except ImportError:  # typer releases that still used click's exceptions
    # mypy reads the installed typer, which has TyperException: this branch is another release's
    from click import ClickException as _UsageError  # type: ignore[assignment]

_PACKAGES_LOGGED = ("ballistics", "api", "indexer")

app = typer.Typer(
    name="ballistics",
    help="Open ballistic comparison engine: compare fired cartridge cases across agencies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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


app.command()(compare.compare)
app.command()(server.demo)
app.command()(evidence.ingest)
app.command()(evidence.search)
app.command()(evidence.links)
app.command()(evidence.reindex)
app.command()(recorrelate.recorrelate)
app.add_typer(agency_app, name="agency")
app.add_typer(user_app, name="user")
app.command()(server.serve)
app.command()(worker.worker)


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
    value = os.environ.get(DEBUG_VARIABLE, "").strip().lower()
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
            f"{DEBUG_VARIABLE}=1 for the traceback)"
        )
        return EXIT_UNEXPECTED
    return outcome if isinstance(outcome, int) else 0
