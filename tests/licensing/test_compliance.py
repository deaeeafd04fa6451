"""Rights follow the partner: licenses go to grace, lapse and come back with the firm's
certified people and tier; a terminated firm's licenses close, then end with the wind-down."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.config import Settings
from charter.core.auth import Role
from charter.core.models import Event
from charter.credentials import service as awards
from charter.licensing import compliance
from charter.licensing import service as licenses
from charter.licensing.models import License
from charter.tiers import flows
from charter.tiers import service as tiers
from charter.webhooks import service as webhooks
from charter.webhooks.schemas import EndpointCreate
from charter.worker.runner import run_until_idle
from tests.codes import Track
from tests.credentials.factories import award
from tests.licensing.conftest import publish_tiers
from tests.licensing.factories import license, product, sign, template
from tests.mail import Inbox, mail_settings
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.webhooks.receiver import Receiver

GRACE_DAYS = 14  # shorter than the tier's own grace (30 days): the license lapses first


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, inbox: Inbox) -> Settings:
    return mail_settings(
        tmp_path,
        inbox,
        webhook_allow_private=True,
        webhook_timeout_seconds=5,
        license_grace_days=GRACE_DAYS,
    )


@dataclass
class Firm:
    id: str
    admin: str
    certification: str
    award: str
    license: str


@pytest.fixture
def firm(sessions, system, settings, receiver, frozen_clock) -> Firm:
    """A Gold firm with one certified engineer, licensed under an agreement requiring Gold and
    one technically certified person; a webhook listens to license events."""
    with sessions() as db, db.begin():
        publish_tiers(db, system)
        made = partner(db, system, status="active", name="Northwind Systems")
        admin = accounts.create_user(
            db,
            system,
            email=f"admin.{made.id.lower()}@firm.example",
            display_name="Firm Admin",
            role=Role.PARTNER_ADMIN,
            password=None,
            partner_id=made.id,
        )
        cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
        engineer = person(db, system, partner_id=made.id)
        held = award(db, system, person_id=engineer.id, certification_id=cert.id)
        tiers.evaluate_firm(db, system, partner_id=made.id)
        offer = template(
            db,
            system,
            product_id=product(db, system).id,
            name="Reseller terms",
            requirements={"min_tier": "gold", "min_certified_by_track": {"technical": 1}},
        )
        agreement = sign(db, system, partner_id=made.id, template_id=offer.id)
        issued, _ = license(db, system, agreement_id=agreement.id)
        webhooks.create_endpoint(
            db,
            system,
            settings,
            data=EndpointCreate(url=receiver.url, event_types=["license.*"]),
        )
    run_until_idle(sessions, settings)
    receiver.requests.clear()  # the issuance
    return Firm(made.id, admin.email, cert.id, held.id, issued.id)


def _license(sessions, license_id: str) -> License:
    with sessions() as db:
        found = db.get(License, license_id)
        assert found is not None
        db.expunge(found)
        return found


def _events(sessions, kind: str, subject_id: str) -> list[Event]:
    with sessions() as db:
        found = list(
            db.scalars(
                select(Event)
                .where(Event.type == kind, Event.subject_id == subject_id)
                .order_by(Event.seq)
            )
        )
        db.expunge_all()
        return found


def _lose_the_engineer(sessions, system, firm: Firm) -> None:
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=firm.award, reason="exam fraud")


def _subjects(inbox: Inbox, address: str) -> list[str]:
    return [mail["Subject"] for mail in inbox.to(address)]


def test_losing_the_certified_engineer_means_grace_then_lapse_then_back_after_a_new_award(
    sessions, system, settings, firm, inbox, receiver, frozen_clock
):
    start = _license(sessions, firm.license)
    assert start.compliance == "ok"
    assert "priority_support" in start.entitlements  # a Gold benefit

    _lose_the_engineer(sessions, system, firm)
    run_until_idle(sessions, settings)

    graced = _license(sessions, firm.license)
    assert graced.compliance == "grace"
    assert graced.status == "active"  # the lifecycle is not touched
    assert graced.grace_until == frozen_clock.now() + timedelta(days=GRACE_DAYS)
    assert graced.compliance_missing == ["1 people certified in the technical track (has 0)"]
    [started] = _events(sessions, "license.grace_started", firm.license)
    assert started.partner_id == firm.id
    assert started.payload["missing"] == graced.compliance_missing
    assert started.payload["from_compliance"] == "ok"
    grace_mail = [s for s in _subjects(inbox, firm.admin) if "grace period" in s]
    assert grace_mail == [f"Northwind Systems's license {graced.key_prefix} is in a grace period"]
    [mail] = [m for m in inbox.to(firm.admin) if "grace period" in m["Subject"]]
    body = mail.get_body(("plain",)).get_content()
    assert "1 people certified in the technical track (has 0)" in body
    assert graced.grace_until is not None
    assert graced.grace_until.date().isoformat() in body
    assert [r.json["type"] for r in receiver.requests] == ["license.grace_started"]

    # Judging again with nothing changed records nothing.
    with sessions() as db, db.begin():
        assert compliance.reassess_partner(db, system, partner_id=firm.id) == []

    # The grace period passes (the firm still holds Gold, at risk): the hourly task lapses it.
    frozen_clock.advance(timedelta(days=GRACE_DAYS, hours=1))
    run_until_idle(sessions, settings)
    lapsed = _license(sessions, firm.license)
    assert lapsed.compliance == "lapsed"
    assert lapsed.status == "active"
    assert len(_events(sessions, "license.lapsed", firm.license)) == 1
    assert any("is suspended until" in s for s in _subjects(inbox, firm.admin))
    assert [r.json["type"] for r in receiver.requests] == [
        "license.grace_started",
        "license.lapsed",
    ]

    # The tier's own grace ends too: Gold is lost, and its benefits leave the license.
    frozen_clock.advance(timedelta(days=30))
    run_until_idle(sessions, settings)
    downgraded = _license(sessions, firm.license)
    assert "priority_support" not in downgraded.entitlements
    assert downgraded.compliance == "lapsed"
    assert downgraded.compliance_missing == [
        "tier Gold or higher (holds Registered)",
        "1 people certified in the technical track (has 0)",
    ]
    [changed] = _events(sessions, "license.entitlements_changed", firm.license)
    assert "priority_support" in changed.payload["removed"]

    # A new engineer is certified: the firm is Gold again and the license comes back.
    with sessions() as db, db.begin():
        newcomer = person(db, system, partner_id=firm.id)
        award(db, system, person_id=newcomer.id, certification_id=firm.certification)
    run_until_idle(sessions, settings)
    back = _license(sessions, firm.license)
    assert back.compliance == "ok"
    assert back.grace_until is None
    assert back.compliance_missing == []
    assert "priority_support" in back.entitlements
    [restored] = _events(sessions, "license.restored", firm.license)
    assert restored.payload["from_compliance"] == "lapsed"
    assert len(_events(sessions, "license.entitlements_changed", firm.license)) == 2


def test_a_manual_suspension_outlives_the_firm_meeting_its_requirements_again(
    sessions, system, settings, firm, frozen_clock
):
    _lose_the_engineer(sessions, system, firm)
    run_until_idle(sessions, settings)
    with sessions() as db, db.begin():
        licenses.suspend_license(db, system, license_id=firm.license, reason="unpaid invoice")
        newcomer = person(db, system, partner_id=firm.id)
        award(db, system, person_id=newcomer.id, certification_id=firm.certification)
    run_until_idle(sessions, settings)

    after = _license(sessions, firm.license)
    assert after.compliance == "ok"
    assert after.status == "suspended"
    assert after.status_reason == "unpaid invoice"
    assert len(_events(sessions, "license.restored", firm.license)) == 1
    assert _events(sessions, "license.reinstated", firm.license) == []


def test_termination_closes_activations_at_once_and_ends_the_license_with_the_wind_down(
    sessions, system, settings, firm, frozen_clock, receiver
):
    with sessions() as db, db.begin():
        flows.terminate_partner(db, system, partner_id=firm.id, reason="breach of contract")
    run_until_idle(sessions, settings)

    closed = _license(sessions, firm.license)
    assert closed.activations_closed_at == frozen_clock.now()
    assert closed.wind_down_until == frozen_clock.now() + timedelta(days=90)
    assert closed.status == "active"  # winding down, not over yet
    [event] = _events(sessions, "license.activations_closed", firm.license)
    assert event.payload["reason"] == "partner terminated: breach of contract"
    assert event.payload["wind_down_days"] == 90
    # The tier lost on termination does not put the winding-down license in grace.
    assert closed.compliance == "ok"

    frozen_clock.advance(timedelta(days=89))
    run_until_idle(sessions, settings)
    assert _license(sessions, firm.license).status == "active"

    frozen_clock.advance(timedelta(days=1, hours=1))
    run_until_idle(sessions, settings)
    ended = _license(sessions, firm.license)
    assert ended.status == "terminated"
    assert ended.status_reason == (
        "the firm was terminated and the agreement's wind-down period ended"
    )
    assert len(_events(sessions, "license.terminated", firm.license)) == 1
    assert [r.json["type"] for r in receiver.requests] == [
        "license.activations_closed",
        "license.terminated",
    ]


def test_a_license_issued_while_the_firm_falls_short_starts_its_grace_at_once(
    sessions, system, settings, firm, frozen_clock
):
    _lose_the_engineer(sessions, system, firm)
    run_until_idle(sessions, settings)
    with sessions() as db, db.begin():
        first = db.get(License, firm.license)
        assert first is not None
        second, _ = license(db, system, agreement_id=first.agreement_id)
    run_until_idle(sessions, settings)

    issued = _license(sessions, second.id)
    assert issued.compliance == "grace"
    assert issued.compliance_missing == ["1 people certified in the technical track (has 0)"]
    assert len(_events(sessions, "license.grace_started", second.id)) == 1
