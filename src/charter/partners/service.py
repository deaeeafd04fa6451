"""Finding partner firms and people within the caller's scope: the gate every partners module uses.

Every service function in :mod:`charter.partners` checks the caller's permission and partner
scope, changes state, appends its event and flushes; the caller owns the transaction. Partner
users see their own firm and its current people only: anything else is reported as not
found, so its existence does not leak.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.core.text import is_storable
from charter.partners.models import Partner, Person


def _partner_row(db: Session, partner_id: str, *, lock: bool = False) -> Partner | None:
    if not is_storable(partner_id):
        return None
    query = select(Partner).where(Partner.id == partner_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalars(query).one_or_none()


def _person_row(db: Session, person_id: str, *, lock: bool = False) -> Person | None:
    if not is_storable(person_id):
        return None
    query = select(Person).where(Person.id == person_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.scalars(query).one_or_none()


def scoped_partner(
    db: Session, actor: Principal, partner_id: str, *, lock: bool = False
) -> Partner:
    """The firm, if the caller may see it (``lock``: for update); :class:`NotFound` if not."""
    if actor.partner_scope is not None and partner_id != actor.partner_scope:
        raise NotFound(f"partner {partner_id} not found")
    partner = _partner_row(db, partner_id, lock=lock)
    if partner is None:
        raise NotFound(f"partner {partner_id} not found")
    return partner


def scoped_person(db: Session, actor: Principal, person_id: str, *, lock: bool = False) -> Person:
    """The person, if the caller may see them (``lock``: for update); :class:`NotFound` if not."""
    person = _person_row(db, person_id, lock=lock)
    if person is None or (
        actor.partner_scope is not None and person.partner_id != actor.partner_scope
    ):
        raise NotFound(f"person {person_id} not found")
    return person


def get_partner(db: Session, actor: Principal, *, partner_id: str) -> Partner:
    """A partner firm; :class:`NotFound` if unknown or outside the caller's scope."""
    actor.require(Permission.PARTNERS_READ)
    return scoped_partner(db, actor, partner_id)


def partner_names(db: Session, actor: Principal, partner_ids: Iterable[str]) -> dict[str, str]:
    """The names of the firms among ``partner_ids`` that the caller may see, in one query
    (a page of people names their firms; unknown and out-of-scope ids are left out)."""
    actor.require(Permission.PARTNERS_READ)
    wanted = {partner_id for partner_id in partner_ids if is_storable(partner_id)}
    if actor.partner_scope is not None:
        wanted &= {actor.partner_scope}
    if not wanted:
        return {}
    query = select(Partner.id, Partner.name).where(Partner.id.in_(sorted(wanted)))
    return {partner_id: name for partner_id, name in db.execute(query)}  # noqa: C416


def get_person(db: Session, actor: Principal, *, person_id: str) -> Person:
    """A person; :class:`NotFound` if unknown or, for partner users, not at their firm now."""
    actor.require(Permission.PEOPLE_READ)
    return scoped_person(db, actor, person_id)
