"""Tier evaluation over real data: grace, downgrade, badges, idempotence."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.credentials import service as awards
from charter.credentials import status
from charter.partners import employment
from charter.tiers import badges, handlers, service, standings, track_records
from charter.tiers.models import FirmTier, TierBadge
from charter.tiers.schemas import TrackRecordCreate
from charter.web.public import verify_own
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme


def _events(db: Session, kind: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == kind).order_by(Event.seq)))


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Event)) or 0)


def _standing(db: Session, partner_id: str) -> FirmTier:
    row = db.get(FirmTier, (partner_id, "default"))
    assert row is not None
    db.refresh(row)
    return row


@pytest.fixture
def gold_firm(db: Session, system: Principal, frozen_clock: clock.FrozenClock):
    """An active firm whose only two technical engineers are certified, in a Gold scheme."""
    firm = partner(db, system, status="active")
    cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
    engineers = [person(db, system, partner_id=firm.id) for _ in range(2)]
    held = [award(db, system, person_id=p.id, certification_id=cert.id) for p in engineers]
    scheme(db, system)
    db.commit()
    return firm, cert, engineers, held


def test_expiry_puts_the_firm_at_risk_then_grace_ends_in_a_downgrade_and_a_new_badge(
    db, system, frozen_clock, gold_firm, settings
):
    firm, _cert, _engineers, _held = gold_firm
    assert service.evaluate_firm(db, system, partner_id=firm.id) == 1
    db.commit()
    standing = _standing(db, firm.id)
    assert standing.tier == "gold"
    gold_badge = db.get(TierBadge, standing.badge_id)
    assert gold_badge is not None
    assert gold_badge.tier == "gold"
    upgraded = _events(db, "tier.upgraded")
    assert [e.payload for e in upgraded] == [
        {"from_tier": None, "from_tier_name": None, "to_tier": "gold", "to_tier_name": "Gold"}
    ]
    assert upgraded[0].partner_id == firm.id
    assert upgraded[0].subject_id == firm.id
    assert verify_own(db, settings, json.loads(gold_badge.document)).status == "valid"

    # Both certifications lapse: the worker expires them and re-evaluates on each event.
    frozen_clock.advance(timedelta(days=365, hours=1))
    assert awards.expire_due_awards(db, system) == 2
    for event in _events(db, "award.expired"):
        handlers.reevaluate(db, system, event)
    db.commit()
    standing = _standing(db, firm.id)
    assert standing.tier == "gold"  # kept during the grace period
    assert standing.grace_until == clock.now() + timedelta(days=30)
    at_risk = _events(db, "tier.at_risk")
    assert len(at_risk) == 1
    assert at_risk[0].payload["tier"] == "gold"
    assert at_risk[0].payload["missing"] == ["2 more technical certifications"]
    assert db.get(TierBadge, gold_badge.id).status == "active"

    # Re-running evaluation and the sweep changes nothing.
    before = _count(db)
    for event in _events(db, "award.expired"):
        handlers.reevaluate(db, system, event)
    assert service.sweep(db, system).changed == 0
    db.commit()
    assert _count(db) == before

    # The grace period ends: the nightly sweep moves the firm down and swaps its badge.
    frozen_clock.advance(timedelta(days=30, minutes=1))
    handlers.nightly_sweep(db, system, clock.now())
    db.commit()
    standing = _standing(db, firm.id)
    assert standing.tier == "registered"
    assert standing.at_risk_since is None
    downgraded = _events(db, "tier.downgraded")
    assert [e.payload for e in downgraded] == [
        {
            "from_tier": "gold",
            "from_tier_name": "Gold",
            "to_tier": "registered",
            "to_tier_name": "Registered",
        }
    ]
    old = db.get(TierBadge, gold_badge.id)
    db.refresh(old)
    assert old.status == "revoked"
    assert status.get_bit(db, old.revocation_list_id, old.revocation_index) is True
    verdict = verify_own(db, settings, json.loads(old.document))
    assert verdict.status == "revoked"
    new = db.get(TierBadge, standing.badge_id)
    assert new is not None
    assert new.tier == "registered"
    assert new.id != old.id
    assert verify_own(db, settings, json.loads(new.document)).status == "valid"
    subject = json.loads(new.document)["credentialSubject"]
    assert subject["id"] == badges.firm_url(settings, firm.id)
    assert subject["achievement"]["name"] == "Registered"

    # And once more: nothing changes.
    before = _count(db)
    assert service.sweep(db, system).changed == 0
    handlers.nightly_sweep(db, system, clock.now())
    db.commit()
    assert _count(db) == before
    assert db.scalar(select(func.count()).select_from(TierBadge)) == 2


def test_renewal_within_grace_recovers_the_tier(db, system, frozen_clock, gold_firm):
    firm, cert, engineers, _held = gold_firm
    service.evaluate_firm(db, system, partner_id=firm.id)
    badge_id = _standing(db, firm.id).badge_id
    frozen_clock.advance(timedelta(days=365, hours=1))
    service.sweep(db, system)
    assert _standing(db, firm.id).at_risk_since is not None
    # A new certified engineer joins and another is recertified: the firm meets Gold again.
    newcomer = person(db, system, partner_id=firm.id)
    award(db, system, person_id=newcomer.id, certification_id=cert.id)
    award(db, system, person_id=engineers[0].id, certification_id=cert.id)
    service.sweep(db, system)
    db.commit()
    standing = _standing(db, firm.id)
    assert standing.tier == "gold"
    assert standing.at_risk_since is None
    assert [e.payload for e in _events(db, "tier.recovered")] == [
        {"tier": "gold", "tier_name": "Gold"}
    ]
    assert standing.badge_id == badge_id  # the badge stays: the tier never changed


def test_people_leaving_count_no_more_and_upgrades_are_immediate(
    db, system, frozen_clock, gold_firm
):
    firm, cert, engineers, _held = gold_firm
    service.evaluate_firm(db, system, partner_id=firm.id)
    employment.person_leaves_partner(db, system, person_id=engineers[0].id)
    for event in _events(db, "person.left_partner"):
        handlers.reevaluate(db, system, event)
    db.commit()
    assert _standing(db, firm.id).at_risk_since is not None
    # Their credential is still theirs and still valid.
    assert awards.effective_status_of(_held[0]).value == "active"

    other = partner(db, system, status="active")
    service.evaluate_firm(db, system, partner_id=other.id)
    assert _standing(db, other.id).tier == "registered"
    employment.person_joins_partner(db, system, person_id=engineers[0].id, partner_id=other.id)
    recruit = person(db, system, partner_id=other.id)
    award(db, system, person_id=recruit.id, certification_id=cert.id)
    for event in _events(db, "award.issued")[-1:] + _events(db, "person.joined_partner")[-1:]:
        handlers.reevaluate(db, system, event)
    db.commit()
    assert _standing(db, other.id).tier == "gold"


def test_suspension_and_revocation_of_awards_count(db, system, frozen_clock, gold_firm):
    firm, _cert, _engineers, held = gold_firm
    service.evaluate_firm(db, system, partner_id=firm.id)
    awards.suspend_award(db, system, award_id=held[0].id, reason="investigation")
    service.evaluate_firm(db, system, partner_id=firm.id)
    assert _standing(db, firm.id).missing == ["1 more technical certification"]
    awards.reinstate_award(db, system, award_id=held[0].id)
    service.evaluate_firm(db, system, partner_id=firm.id)
    db.commit()
    assert _standing(db, firm.id).at_risk_since is None
    assert len(_events(db, "tier.recovered")) == 1


def test_track_records_and_requirements_by_certification(db, system, frozen_clock):
    firm = partner(db, system, status="active")
    cert = certification(db, system, track=Track.SALES)
    seller = person(db, system, partner_id=firm.id, track=Track.SALES)
    award(db, system, person_id=seller.id, certification_id=cert.id)
    elite = {
        "key": "elite",
        "name": "Elite",
        "rank": 3,
        "requirements": {
            "required_certifications": [cert.code],
            "min_track_record": {"customer_satisfaction": 4.3, "deployments": 10},
        },
    }
    scheme(db, system, [registered(), elite])
    track_records.record_track_record(
        db,
        system,
        data=TrackRecordCreate(partner_id=firm.id, metric="customer_satisfaction", value=4.1),
    )
    shown = standings.firm_tiers(db, system, partner_id=firm.id)[0]
    assert shown.qualified is not None
    assert shown.qualified.key == "registered"
    assert shown.next_tier is not None
    assert shown.next_tier.key == "elite"
    assert shown.next_tier_missing == [
        "customer satisfaction 4.1 < 4.3",
        "deployments not recorded (needs 10)",
    ]
    track_records.record_track_record(
        db,
        system,
        data=TrackRecordCreate(partner_id=firm.id, metric="customer_satisfaction", value=4.5),
    )
    track_records.record_track_record(
        db, system, data=TrackRecordCreate(partner_id=firm.id, metric="deployments", value=12)
    )
    for event in _events(db, "track_record.recorded"):
        handlers.reevaluate(db, system, event)
    db.commit()
    assert _standing(db, firm.id).tier == "elite"


def test_a_scheduled_scheme_takes_effect_at_its_date(db, system, frozen_clock, gold_firm):
    firm, *_ = gold_firm
    service.evaluate_firm(db, system, partner_id=firm.id)
    scheme(
        db,
        system,
        [registered(), gold(technical=3)],
        effective_from=clock.now() + timedelta(days=7),
    )
    assert service.sweep(db, system).changed == 0
    frozen_clock.advance(timedelta(days=8))
    service.sweep(db, system)
    db.commit()
    standing = _standing(db, firm.id)
    assert standing.tier == "gold"
    assert standing.missing == ["1 more technical certification"]
    assert standing.scheme_version == 2
