"""Onboarding checks: who marked each one, when, and with what note."""

from __future__ import annotations

from sqlalchemy import select

from charter.core.auth import Principal, Role
from charter.core.models import Event
from charter.partners import onboarding
from charter.partners.enums import OnboardingCheck
from charter.partners.models import Partner
from tests.partners import factories


def _vendor(role: Role = Role.PROGRAM_MANAGER) -> Principal:
    return Principal.for_user(user_id="usr_vendor", role=role, partner_id=None, name="Vendor")


def _events(db, type_: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq)))


def test_onboarding_checks_record_who_and_when(db, system, frozen_clock):
    firm = factories.partner(db, system)
    manager = _vendor()
    onboarding.set_onboarding_check(
        db,
        manager,
        partner_id=firm.id,
        check=OnboardingCheck.AGREEMENT_SIGNED,
        done=True,
        note="signed 2026-02-27",
    )
    db.commit()
    db.expire_all()
    entry = db.get(Partner, firm.id).onboarding["agreement_signed"]
    assert entry["done"] is True
    assert entry["by"] == "usr_vendor"
    assert entry["note"] == "signed 2026-02-27"
    assert entry["at"].startswith("2026-03-01T12:00:00")
    [event] = _events(db, "partner.onboarding_updated")
    assert event.payload["check"] == "agreement_signed"
    assert event.payload["missing"] == ["identity_verified", "eligibility", "security_posture"]
