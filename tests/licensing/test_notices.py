"""A new agreement version is mailed to the admins of the firms that signed its template."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from charter.accounts import service as accounts
from charter.config import Settings
from charter.core.auth import Role
from charter.worker.runner import run_until_idle
from tests.licensing.factories import new_version, product, sign, template
from tests.mail import Inbox, mail_settings
from tests.partners.factories import partner


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    return mail_settings(tmp_path, inbox)


def _admin(db, system, firm_id: str) -> str:
    user = accounts.create_user(
        db,
        system,
        email=f"admin.{firm_id.lower()}@firm.example",
        display_name="Firm Admin",
        role=Role.PARTNER_ADMIN,
        password=None,
        partner_id=firm_id,
    )
    return user.email


def test_the_firms_that_signed_are_told_of_a_new_version(sessions, system, inbox, frozen_clock):
    with sessions() as db, db.begin():
        signer = partner(db, system, status="active")
        bystander = partner(db, system, status="active")
        told = _admin(db, system, signer.id)
        untold = _admin(db, system, bystander.id)
        offer = template(db, system, product_id=product(db, system).id, name="Reseller terms")
        sign(db, system, partner_id=signer.id, template_id=offer.id)
    run_until_idle(sessions)
    assert inbox.messages == []  # the first version is news to no one
    with sessions() as db, db.begin():
        new_version(
            db,
            system,
            template_id=offer.id,
            summary="The royalty drops to 10%.",
            effective_from=(frozen_clock.now() + timedelta(days=30)).isoformat(),
        )
    run_until_idle(sessions)

    [mail] = inbox.to(told)
    assert mail["Subject"] == '"Reseller terms" has a new version (2)'
    body = mail.get_body(("plain",)).get_content()
    assert "2026-03-31" in body
    assert "The royalty drops to 10%." in body
    assert signer.name in body
    assert inbox.to(untold) == []
