"""Listing firms by the tier they hold, within the caller's scope."""

from __future__ import annotations

import pytest

from charter.core.auth import Principal, Role
from charter.core.errors import Forbidden, Invalid
from charter.partners.enums import PartnerStatus
from charter.tiers import listing
from charter.tiers import service as tiers
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme


def _user(role: Role, partner_id: str | None = None) -> Principal:
    return Principal.for_user(user_id="usr_1", role=role, partner_id=partner_id, name="Someone")


@pytest.fixture
def firms(db, system):
    """A Gold firm and a Registered one."""
    golden = partner(db, system, status=PartnerStatus.ACTIVE, name="Golden Firm")
    plain = partner(db, system, status=PartnerStatus.ACTIVE, name="Plain Firm")
    cert = certification(db, system)
    for _ in range(2):
        engineer = person(db, system, partner_id=golden.id)
        award(db, system, person_id=engineer.id, certification_id=cert.id)
    scheme(db, system, [registered(), gold(grace_days=0)])
    for firm in (golden, plain):
        tiers.evaluate_firm(db, system, partner_id=firm.id)
    db.commit()
    return golden, plain


def test_firms_are_listed_by_the_tier_they_hold(db, firms):
    golden, plain = firms
    auditor = _user(Role.AUDITOR)
    assert [firm.id for firm in listing.list_partners(db, auditor, tier="gold").items] == [
        golden.id
    ]
    assert [firm.id for firm in listing.list_partners(db, auditor, tier="registered").items] == [
        plain.id
    ]
    assert listing.list_partners(db, auditor, tier="platinum").items == []
    both = listing.list_partners(db, auditor, tier=" ", q="firm").items
    assert {firm.id for firm in both} == {golden.id, plain.id}
    assert listing.held_tier_names(db, auditor, partner_ids=[golden.id, plain.id]) == {
        golden.id: ["Gold"],
        plain.id: ["Registered"],
    }
    choices = listing.tier_choices(db, auditor)
    assert [(choice.key, choice.name) for choice in choices] == [
        ("gold", "Gold"),
        ("registered", "Registered"),
    ]


def test_partner_users_see_only_their_own_firm(db, firms):
    golden, plain = firms
    member = _user(Role.PARTNER_MEMBER, plain.id)
    assert listing.list_partners(db, member, tier="gold").items == []
    assert [firm.id for firm in listing.list_partners(db, member).items] == [plain.id]
    assert listing.held_tier_names(db, member, partner_ids=[golden.id, plain.id]) == {
        plain.id: ["Registered"]
    }


def test_a_bad_tier_filter_names_the_field(db, firms):
    with pytest.raises(Invalid) as refused:
        listing.list_partners(db, _user(Role.AUDITOR), tier="gold\x00")
    assert refused.value.problem()["errors"][0]["field"] == "tier"


def test_listing_needs_partners_read(db, firms):
    keyless = Principal.for_user(
        user_id="usr_1",
        role=Role.AUDITOR,
        partner_id=None,
        name="Someone",
        api_key_id="key_1",
        scopes=frozenset(),
    )
    with pytest.raises(Forbidden):
        listing.list_partners(db, keyless, tier="gold")
    with pytest.raises(Forbidden):
        listing.held_tier_names(db, keyless, partner_ids=[])
