"""Every table, imported in one place (for Alembic and for tests)."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, text
from sqlalchemy.orm import Session

from charter.accounts import models as accounts_models
from charter.approvals import models as approvals_models
from charter.core import eventstore
from charter.core import models as core_models
from charter.credentials import models as credentials_models
from charter.crypto import models as crypto_models
from charter.db import freshness
from charter.db.base import Base
from charter.licensing import alert_models as licensing_alert_models
from charter.licensing import models as licensing_models
from charter.licensing import usage_models
from charter.notify import models as notify_models
from charter.partners import models as partners_models
from charter.partners import taxonomy
from charter.programs import models as programs_models
from charter.reports import models as reports_models
from charter.tiers import models as tiers_models
from charter.webhooks import models as webhooks_models
from charter.worker import models as worker_models

MODULES = (
    core_models,
    partners_models,
    accounts_models,
    approvals_models,
    programs_models,
    crypto_models,
    credentials_models,
    tiers_models,
    licensing_models,
    licensing_alert_models,
    usage_models,
    worker_models,
    notify_models,
    webhooks_models,
    reports_models,
)


def metadata() -> MetaData:
    """The metadata of all of Charter's tables."""
    return Base.metadata


def create_all(engine: Engine) -> None:
    """Create every table directly (tests, benchmarks); deployments use migrations instead."""
    Base.metadata.create_all(engine)
    with Session(engine) as db, db.begin():
        eventstore.ensure_head(db)
        # As the migration does: a program starts with the default taxonomy.
        taxonomy.seed_defaults(db)
        if engine.dialect.name == "postgresql":
            for statement in freshness.notify_trigger_ddl():
                db.execute(text(statement))
