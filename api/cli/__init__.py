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

- :mod:`~api.cli.app`: the Typer application and :func:`main` (logs, errors, exit statuses);
- :mod:`~api.cli.options`: exit statuses, the options every command takes, the choices;
- :mod:`~api.cli.compare`: ``compare`` (two items, or ``--pairs``; no store);
- :mod:`~api.cli.evidence`: ``ingest``, ``search``, ``links``, ``reindex`` on the store;
- :mod:`~api.cli.recorrelate`: ``recorrelate`` (the store again, locally or on a cluster);
- :mod:`~api.cli.agency`: ``agency add|list|revoke``;
- :mod:`~api.cli.people`: ``user add``;
- :mod:`~api.cli.server`: ``serve`` and ``demo``;
- :mod:`~api.cli.output`: JSON, tables and lines for a reader, progress bars;
- :mod:`~api.cli.resources`: the store and the service, opened from ``--store``.

The top layer of the application: may import ``api.web``, ``api.service``, ``api.store``, the
application's shared modules and ``ballistics``; nothing imports it.
"""

from api.cli.app import app, main
from api.cli.options import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL_FAILURE,
    EXIT_UNEXPECTED,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INTERRUPTED",
    "EXIT_PARTIAL_FAILURE",
    "EXIT_UNEXPECTED",
    "app",
    "main",
]
