"""The scope gate: partner users see their own firm and its current people only."""

from __future__ import annotations

import pytest

from charter.core.auth import Principal, Role
from charter.core.errors import NotFound
from charter.partners import employment, firms, service
from tests.partners import factories


def _partner_user(partner_id: str, role: Role = Role.PARTNER_ADMIN) -> Principal:
    return Principal.for_user(
        user_id="usr_partner", role=role, partner_id=partner_id, name="Partner User"
    )


def test_partner_users_see_only_their_own_firm(db, system):
    mine = factories.partner(db, system)
    other = factories.partner(db, system)
    me = _partner_user(mine.id, Role.PARTNER_MEMBER)
    assert [firm.id for firm in firms.list_partners(db, me).items] == [mine.id]
    assert service.get_partner(db, me, partner_id=mine.id).id == mine.id
    with pytest.raises(NotFound):
        service.get_partner(db, me, partner_id=other.id)


def test_a_person_who_left_is_gone_for_their_old_firm(db, system):
    firm = factories.partner(db, system)
    person = factories.person(db, system, partner_id=firm.id)
    employment.person_leaves_partner(db, _partner_user(firm.id), person_id=person.id)
    with pytest.raises(NotFound):
        service.get_person(db, _partner_user(firm.id, Role.PARTNER_MEMBER), person_id=person.id)
