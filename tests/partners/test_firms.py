"""Partner firms: registration, profiles, the lifecycle of statuses, listing and scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound
from charter.core.models import Event
from charter.partners import firms, onboarding
from charter.partners.enums import OnboardingCheck, PartnerStatus
from charter.partners.models import Partner
from charter.partners.schemas import PartnerCreate, PartnerUpdate
from tests.codes import PartnerType, Region
from tests.partners import factories


def _partner_user(partner_id: str, role: Role = Role.PARTNER_ADMIN) -> Principal:
    return Principal.for_user(
        user_id="usr_partner", role=role, partner_id=partner_id, name="Partner User"
    )


def _events(db, type_: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq)))


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_a_new_partner_is_an_applicant_with_nothing_onboarded(db, system):
    firm = firms.create_partner(
        db,
        system,
        data=PartnerCreate(
            name="  Northwind Consulting ",
            type=PartnerType.MSP,
            regions=[Region.EMEA, Region.NA, Region.EMEA],
            country="de",
            website="https://northwind.example",
            external_id="SF-0001",
        ),
    )
    db.commit()
    stored = db.get(Partner, firm.id)
    assert stored.id.startswith("prt_")
    assert stored.name == "Northwind Consulting"
    assert stored.status == "applicant"
    assert stored.country == "DE"
    assert stored.regions == ["emea", "na"]
    assert all(not entry["done"] for entry in stored.onboarding.values())
    [created] = _events(db, "partner.created")
    assert created.partner_id == firm.id
    assert created.payload["type"] == "msp"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "Germany"),
        ("website", "not a url"),
        ("website", "ftp://files.example.com"),
        ("regions", []),
        ("name", "   "),
    ],
)
def test_bad_partner_input_names_the_field(field, value):
    data = {"name": "Contoso", "type": "var", "regions": ["na"], "country": "US", field: value}
    with pytest.raises(ValidationError) as caught:
        PartnerCreate(**data)
    assert [error["loc"][0] for error in caught.value.errors()] == [field]


def test_duplicate_external_id_is_a_conflict(db, system):
    factories.partner(db, system, external_id="SF-42")
    with pytest.raises(Conflict, match="SF-42"):
        factories.partner(db, system, external_id="SF-42")
    assert _count(db, Partner) == 1


def test_partner_users_cannot_register_firms(db, system):
    firm = factories.partner(db, system)
    with pytest.raises(Forbidden):
        factories.partner(db, _partner_user(firm.id))


def test_update_changes_the_profile_and_records_what_changed(db, system):
    firm = factories.partner(db, system, regions=[Region.EMEA, Region.APAC])
    firms.update_partner(
        db,
        system,
        partner_id=firm.id,
        data=PartnerUpdate(name="Renamed Ltd", regions=[Region.APAC, Region.NA], website=None),
    )
    db.commit()
    db.expire_all()
    stored = db.get(Partner, firm.id)
    assert stored.name == "Renamed Ltd"
    assert stored.regions == ["apac", "na"]
    assert stored.website is None
    [updated] = _events(db, "partner.updated")
    assert set(updated.payload["changes"]) == {"name", "regions", "website"}
    assert updated.payload["changes"]["regions"] == {"from": ["apac", "emea"], "to": ["apac", "na"]}


def test_an_update_that_changes_nothing_records_nothing(db, system):
    firm = factories.partner(db, system)
    firms.update_partner(db, system, partner_id=firm.id, data=PartnerUpdate(name=firm.name))
    assert _events(db, "partner.updated") == []


def test_required_profile_fields_cannot_be_cleared():
    with pytest.raises(ValidationError) as caught:
        PartnerUpdate(name=None)
    assert caught.value.errors()[0]["loc"] == ("name",)


def test_the_lifecycle_walks_with_reasons(db, system, frozen_clock):
    firm = factories.partner(db, system)
    firms.change_partner_status(
        db, system, partner_id=firm.id, status=PartnerStatus.ONBOARDING, reason="application ok"
    )
    factories.complete_onboarding(db, system, firm.id)
    frozen_clock.advance(timedelta(days=3))
    firms.change_partner_status(
        db, system, partner_id=firm.id, status=PartnerStatus.ACTIVE, reason="all checks passed"
    )
    db.commit()
    stored = db.get(Partner, firm.id)
    assert stored.status == "active"
    assert stored.status_reason == "all checks passed"
    assert stored.status_changed_at == frozen_clock.now()
    changes = [event.payload for event in _events(db, "partner.status_changed")]
    assert changes == [
        {"from": "applicant", "to": "onboarding", "reason": "application ok"},
        {"from": "onboarding", "to": "active", "reason": "all checks passed"},
    ]


def test_an_invalid_transition_is_refused_and_changes_nothing(db, system):
    firm = factories.partner(db, system)
    db.commit()
    with pytest.raises(Conflict) as caught:
        firms.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.SUSPENDED, reason="late payment"
        )
    assert "cannot go from applicant to suspended" in caught.value.detail
    assert caught.value.extensions["allowed"] == ["onboarding", "terminated"]
    db.rollback()
    assert db.get(Partner, firm.id).status == "applicant"
    assert _events(db, "partner.status_changed") == []


def test_activation_without_onboarding_is_refused(db, system):
    firm = factories.partner(db, system, status="onboarding")
    onboarding.set_onboarding_check(
        db, system, partner_id=firm.id, check=OnboardingCheck.IDENTITY_VERIFIED, done=True
    )
    with pytest.raises(Conflict) as caught:
        firms.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.ACTIVE, reason="go"
        )
    assert "eligibility, agreement_signed, security_posture" in caught.value.detail
    assert "identity_verified" not in caught.value.detail
    assert db.get(Partner, firm.id).status == "onboarding"


def test_terminated_is_final(db, system):
    firm = factories.partner(db, system, status="terminated")
    with pytest.raises(Conflict, match="final"):
        firms.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.APPLICANT, reason="again"
        )


def test_a_status_change_needs_a_reason(db, system):
    firm = factories.partner(db, system)
    with pytest.raises(Invalid) as caught:
        firms.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.ONBOARDING, reason="   "
        )
    assert caught.value.errors[0].field == "reason"
    assert db.get(Partner, firm.id).status == "applicant"


def test_active_factory_reaches_active(db, system):
    firm = factories.partner(db, system, status="active")
    assert firm.status == "active"
    assert factories.partner(db, system, status="suspended").status == "suspended"


def test_list_partners_filters(db, system):
    emea_de = factories.partner(db, system, regions=[Region.EMEA], country="DE", name="Alpha GmbH")
    factories.partner(db, system, regions=[Region.NA], country="US", name="Beta Inc")
    both = factories.partner(
        db, system, regions=[Region.NA, Region.EMEA], country="US", type=PartnerType.MSP
    )
    active = factories.partner(db, system, status="active", regions=[Region.APAC], country="JP")

    def ids(**filters):
        return [firm.id for firm in firms.list_partners(db, system, **filters).items]

    assert ids(region=Region.EMEA) == [emea_de.id, both.id]
    assert ids(country="de") == [emea_de.id]
    assert ids(type=PartnerType.MSP) == [both.id]
    assert ids(status=PartnerStatus.ACTIVE) == [active.id]
    assert ids(q="gmbh") == [emea_de.id]
    assert ids(q="%") == []
    assert ids(region=Region.NA, country="US", type=PartnerType.MSP) == [both.id]


def test_list_partners_refuses_unknown_country(db, system):
    with pytest.raises(Invalid) as caught:
        firms.list_partners(db, system, country="ZZ")
    assert caught.value.errors[0].field == "country"


def test_pagination_returns_every_partner_once(db, system):
    made = {factories.partner(db, system).id for _ in range(7)}
    seen: list[str] = []
    cursor = None
    while True:
        page = firms.list_partners(db, system, cursor=cursor, limit=3)
        seen.extend(firm.id for firm in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == 7
    assert set(seen) == made


def test_partner_admin_edits_own_profile_but_not_others_or_status(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    admin = _partner_user(mine.id)
    firms.update_partner(
        db, admin, partner_id=mine.id, data=PartnerUpdate(website="https://mine.example.org")
    )
    assert db.get(Partner, mine.id).website == "https://mine.example.org"
    with pytest.raises(NotFound):
        firms.update_partner(db, admin, partner_id=other.id, data=PartnerUpdate(name="Mine"))
    with pytest.raises(Forbidden):
        firms.change_partner_status(
            db, admin, partner_id=mine.id, status=PartnerStatus.ONBOARDING, reason="please"
        )
    with pytest.raises(Forbidden):
        onboarding.set_onboarding_check(
            db, admin, partner_id=mine.id, check=OnboardingCheck.ELIGIBILITY, done=True
        )
    assert db.get(Partner, other.id).name != "Mine"


def test_partner_member_cannot_edit(db, system):
    mine = factories.partner(db, system)
    with pytest.raises(Forbidden):
        firms.update_partner(
            db,
            _partner_user(mine.id, Role.PARTNER_MEMBER),
            partner_id=mine.id,
            data=PartnerUpdate(name="X"),
        )


def test_termination_is_not_a_bare_status_change(db, system):
    # A terminated firm's tiers, badges and access go with it: only the termination flow may
    # record the status, so no caller of the partners service can skip the wind-up.
    firm = factories.partner(db, system, status="active")
    with pytest.raises(Invalid) as caught:
        firms.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.TERMINATED, reason="breach"
        )
    assert caught.value.errors[0].field == "status"
    assert db.get(Partner, firm.id).status == "active"
    assert _events(db, "partner.status_changed")[-1].payload["to"] == "active"
