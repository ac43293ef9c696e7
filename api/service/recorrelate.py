"""Re-run correlation over the store, or part of it, after a change of algorithm or threshold.

``ballistics recorrelate`` takes the stored exhibits (of one kind, or stored since a date), in
key order, a batch at a time, and for each batch:

1. correlates them (:func:`api.service.correlate.correlate_exhibits`: the same code as an ingest
   and the job worker, whichever executor runs the comparisons): each exhibit searched again,
   each pair not yet scored under today's algorithm version compared, and each exhibit's
   results, links and status written in one transaction once its comparisons are done;
2. decides again the links of each from all its results under today's version
   (:func:`api.service.correlate.relink_exhibits`), so that a lowered lead threshold turns pairs
   scored before into leads.

Resumable and idempotent: a pair scored under the current version is never compared again and
the store keeps one link per pair, so a run killed part-way and started again compares only
what was left, and a second full run writes nothing new. The links are the same whether the
comparisons ran on local processes or on a cluster: only where the tasks run differs.
"""

from __future__ import annotations

import collections
import datetime
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select

from api.pairs import ProgressCallback
from api.service.context import ServiceContext
from api.service.correlate import correlate_exhibits, relink_exhibits
from api.service.index import descriptor_vectors
from api.store.models import Exhibit, Link
from ballistics.items import parse_item_kind

logger = logging.getLogger(__name__)

#: exhibits correlated, then relinked, at a time (bounds the memory of one plan)
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class RecorrelateReport:
    """What a recorrelation did (``ballistics recorrelate --json`` prints :meth:`as_json`).

    Parameters
    ----------
    correlated
        Exhibits correlated under today's algorithm version (those already done count too: a
        second run reports the same number).
    leads
        ``lead`` links of the selected exhibits after the run.
    failed
        Exhibits that could not be correlated (``exhibit_id``, ``error``) and comparisons that
        failed (``exhibit_a``, ``exhibit_b``, ``error``).
    comparisons
        Pairs this run compared (0 when everything was scored already).
    links_created
        Links this run added.
    elapsed_s
        Wall-clock seconds.
    """

    correlated: int
    leads: int
    failed: tuple[dict[str, str], ...]
    comparisons: int = 0
    links_created: int = 0
    elapsed_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """Return the contract's document (``correlated``, ``leads``, ``failed``) and the extras."""
        return {
            "correlated": self.correlated,
            "leads": self.leads,
            "failed": list(self.failed),
            "comparisons": self.comparisons,
            "links_created": self.links_created,
            "elapsed_s": self.elapsed_s,
        }


def recorrelate(
    context: ServiceContext,
    *,
    kind: str | None = None,
    since: datetime.date | None = None,
    batch: int = DEFAULT_BATCH,
    progress: ProgressCallback | None = None,
) -> RecorrelateReport:
    """Correlate the stored exhibits again (see the module docstring).

    Parameters
    ----------
    context
        The open store, its index and executor (local processes or a cluster).
    kind
        Only exhibits of this kind (``cartridge_case``, ``bullet``); None: every kind.
    since
        Only exhibits stored on or after this day (UTC); None: all.
    batch
        Exhibits correlated at a time.
    progress
        Called as ``progress("correlate", done, total)`` per comparison of each batch.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1 exhibit, got {batch}.")
    started = time.perf_counter()
    conditions = _conditions(kind, since)
    with context.store.transaction() as session:
        kinds = {
            int(key): str(kind_of)
            for key, kind_of in session.execute(
                select(Exhibit.id, Exhibit.kind).where(*conditions).order_by(Exhibit.id)
            )
        }
    keys = list(kinds)
    totals: collections.Counter[str] = collections.Counter()
    failed: list[dict[str, str]] = []
    for start in range(0, len(keys), batch):
        chunk = keys[start : start + batch]
        ready = _with_descriptors(context, chunk, failed)
        report = correlate_exhibits(context, ready, progress=progress)
        totals.update(
            correlated=report.correlated,
            comparisons=report.comparisons,
            links_created=report.links_created,
        )
        failed.extend(report.errors)
        by_kind: dict[str, list[int]] = collections.defaultdict(list)
        for key in ready:
            by_kind[kinds[key]].append(key)
        for group_kind, group in by_kind.items():
            links_before = _count_links(context)
            relink_exhibits(context, group, version=context.algorithm_version_for(group_kind))
            totals.update(links_created=_count_links(context) - links_before)
    selected = select(Exhibit.id).where(*conditions)
    with context.store.transaction() as session:
        leads = int(
            session.scalar(
                select(func.count())
                .select_from(Link)
                .where(
                    Link.status == "lead",
                    or_(Link.exhibit_a_pk.in_(selected), Link.exhibit_b_pk.in_(selected)),
                )
            )
            or 0
        )
    return RecorrelateReport(
        correlated=totals["correlated"],
        leads=leads,
        failed=tuple(failed),
        comparisons=totals["comparisons"],
        links_created=totals["links_created"],
        elapsed_s=time.perf_counter() - started,
    )


def _conditions(kind: str | None, since: datetime.date | None) -> list[ColumnElement[bool]]:
    """The conditions on the exhibits to correlate again (none: every exhibit)."""
    conditions = []
    if kind is not None:
        conditions.append(Exhibit.kind == str(parse_item_kind(kind)))
    if since is not None:
        start = datetime.datetime.combine(since, datetime.time.min, tzinfo=datetime.UTC)
        conditions.append(Exhibit.created_at >= start)
    return conditions


def _with_descriptors(
    context: ServiceContext, keys: list[int], failed: list[dict[str, str]]
) -> list[int]:
    """Return those of ``keys`` with a descriptor of the current version; name the others in
    ``failed``."""
    with context.store.transaction() as session:
        have = descriptor_vectors(session, keys).keys()
        missing = [key for key in keys if key not in have]
        if missing:
            rows = session.execute(
                select(Exhibit.id, Exhibit.exhibit_id).where(Exhibit.id.in_(missing))
            )
            names = {int(key): str(name) for key, name in rows}
            failed.extend(
                {
                    "exhibit_id": str(names.get(key, key)),
                    "error": "no descriptor of the current version; run `ballistics reindex`",
                }
                for key in missing
            )
    return [key for key in keys if key in have]


def _count_links(context: ServiceContext) -> int:
    with context.store.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Link)) or 0)
