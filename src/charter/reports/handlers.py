"""Worker handlers for reports: registered with :mod:`charter.worker.registry` on import."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.reports import certification
from charter.worker import registry

COUNT_EVERY = timedelta(hours=1)
"""How often the certified headcount of the month under way is counted again."""


@registry.periodic("reports.count_headcounts", COUNT_EVERY)
def count_headcounts(db: Session, actor: Principal, period_start: datetime) -> None:
    """The month under way counted now, and each closed month not yet counted at its end."""
    certification.count_headcounts(db, now=clock.now())
