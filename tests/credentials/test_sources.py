"""What credentials are built from is read for a whole batch at once."""

from __future__ import annotations

from charter.credentials import sources
from charter.partners import people as partners
from charter.partners.models import Person
from charter.partners.schemas import PersonUpdate
from tests.credentials.factories import HOLDER_DID, many_awards


def test_holders_are_loaded_with_their_primary_email_and_did(db, system):
    made = many_awards(db, system, 3)
    first, second, third = (row.person_id for row in made)
    partners.add_person_email(db, system, person_id=first, email="second-address@example.com")
    partners.add_person_email(
        db, system, person_id=second, email="now-primary@example.com", primary=True
    )
    partners.update_person(db, system, person_id=third, data=PersonUpdate(did=HOLDER_DID))
    holders = sources.load_holders(db, made)
    assert holders.emails == {
        person_id: db.get(Person, person_id).primary_email for person_id in (first, second, third)
    }
    assert holders.emails[second] == "now-primary@example.com"
    assert holders.dids == {third: HOLDER_DID}
