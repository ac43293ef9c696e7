"""What an operator watches of the store: exhibits, comparisons and links, counted cheaply."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.store.models import CorrelationResult, Exhibit, Link


def exhibits_by_kind_and_status(session: Session) -> dict[tuple[str, str], int]:
    """Return the number of exhibits of each (kind, status) (pairs without exhibits left out)."""
    rows = session.execute(
        select(Exhibit.kind, Exhibit.status, func.count()).group_by(Exhibit.kind, Exhibit.status)
    )
    return {(str(kind), str(status)): int(count) for kind, status, count in rows}


def comparisons_recorded(session: Session) -> int:
    """Return how many comparison results were ever recorded.

    The highest result id, one index lookup however large the table (a ``count(*)`` scans it
    on PostgreSQL): it counts every result recorded, those of rolled-back transactions
    included, and never goes down, as a Prometheus counter must.
    """
    return int(session.scalar(select(func.max(CorrelationResult.id))) or 0)


def links_by_status(session: Session) -> dict[str, int]:
    """Return the number of links of each status (statuses without links left out)."""
    rows = session.execute(select(Link.status, func.count()).group_by(Link.status))
    return {str(status): int(count) for status, count in rows}
