"""The page's verdict on Charter's own credentials comes from its records, and is the verifier's.

For every state a credential can be in, :func:`standing.own_standing` (what the page and the
embed show) must say what the full verifier (:func:`public.verify_own`) says, reason included;
and showing a page must not run the verifier at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from charter.app import create_app
from charter.config import Settings
from charter.core import clock
from charter.credentials import issuance, jsonld, proofs, service, verify
from charter.crypto import keyring
from charter.partners import employment
from charter.tiers import service as tiers
from charter.tiers.models import FirmTier
from charter.web import public, standing
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme

DAY = timedelta(days=1)
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass(frozen=True)
class Issued:
    """A person's credential as the test knows it."""

    id: str
    award_id: str


def _issue(db, system, settings: Settings) -> Issued:
    db.info["settings"] = settings
    holder = person(db, system, partner_id=partner(db, system).id)
    cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
    awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
    credential = issuance.current_credential_for_award(db, awarded.id)
    assert credential is not None
    return Issued(credential.id, awarded.id)


def _firm_badges(db, system, settings: Settings) -> tuple[str, str]:
    """A firm's Gold badge, revoked when the firm fell to Registered, and its Registered one."""
    db.info["settings"] = settings
    firm = partner(db, system, status="active")
    cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
    engineers = [person(db, system, partner_id=firm.id) for _ in range(2)]
    for engineer in engineers:
        award(db, system, person_id=engineer.id, certification_id=cert.id)
    scheme(db, system, [registered(), gold(grace_days=0)])
    tiers.evaluate_firm(db, system, partner_id=firm.id)
    gold_badge = db.get(FirmTier, (firm.id, "default")).badge_id
    employment.person_leaves_partner(db, system, person_id=engineers[0].id)
    tiers.evaluate_firm(db, system, partner_id=firm.id)
    return gold_badge, db.get(FirmTier, (firm.id, "default")).badge_id


def _agree(db, settings: Settings, credential_id: str) -> str:
    """The page's status for a credential, checked to be the verifier's, with its reason."""
    found = public.find_credential(db, settings, credential_id)
    document = found.document
    full = public.verify_own(db, settings, document)
    shown = standing.own_standing(db, settings, found, document, clock.now())
    assert (shown.status, shown.reason) == (full.status, full.reason)
    return shown.status


def _banner(client: TestClient, credential_id: str) -> str:
    page = client.get(f"/credentials/{credential_id}", headers={"Accept": BROWSER_ACCEPT}).text
    match = re.search(r'id="status-banner" data-status="([a-z_]+)"', page)
    assert match, "the page has no status banner"
    embed = client.get(f"/credentials/{credential_id}/embed").text
    assert f'data-status="{match.group(1)}"' in embed
    return match.group(1)


def _revoke(db, system, issued: Issued) -> None:
    service.revoke_award(db, system, award_id=issued.award_id, reason="exam <fraud>")


def _suspend(db, system, issued: Issued) -> None:
    service.suspend_award(db, system, award_id=issued.award_id, reason="payment overdue")


def _reinstate(db, system, issued: Issued) -> None:
    _suspend(db, system, issued)
    service.reinstate_award(db, system, award_id=issued.award_id, reason="paid")


def _nothing(db, system, issued: Issued) -> None:
    pass


# (name, what happens to the credential, how far the clock moves afterwards, the verdict)
STATES: list[tuple[str, Callable[..., None], timedelta, str]] = [
    ("valid", _nothing, timedelta(0), "valid"),
    ("expired", _nothing, 400 * DAY, "expired"),
    ("not yet valid", _nothing, -DAY, "not_yet_valid"),
    ("revoked", _revoke, timedelta(0), "revoked"),
    ("revoked, then expired", _revoke, 400 * DAY, "revoked"),
    ("suspended", _suspend, timedelta(0), "suspended"),
    ("suspended, then expired", _suspend, 400 * DAY, "suspended"),
    # Reinstating issues a new credential: the suspended one stays revoked, superseded.
    ("reinstated", _reinstate, timedelta(0), "revoked"),
]


@pytest.mark.parametrize(
    ("change", "moved", "expected"),
    [state[1:] for state in STATES],
    ids=[state[0] for state in STATES],
)
def test_the_page_says_what_the_verifier_says(
    client, db, system, settings, frozen_clock, change, moved, expected
):
    issued = _issue(db, system, settings)
    change(db, system, issued)
    db.commit()
    frozen_clock.advance(moved)
    assert _agree(db, settings, issued.id) == expected
    db.rollback()
    assert _banner(client, issued.id) == expected


def test_a_reissued_credential_is_revoked_and_its_replacement_valid(
    client, db, system, settings, frozen_clock
):
    issued = _issue(db, system, settings)
    new = issuance.reissue_credential(db, system, credential_id=issued.id, reason="name fix")
    new_id = new.id
    db.commit()
    assert _agree(db, settings, issued.id) == "revoked"
    assert _agree(db, settings, new_id) == "valid"
    db.rollback()
    assert _banner(client, issued.id) == "revoked"
    assert _banner(client, new_id) == "valid"


def test_a_credential_signed_by_a_retired_key_stays_valid(
    client, db, system, settings, frozen_clock
):
    issued = _issue(db, system, settings)
    keyring.rotate_key(db, system, settings)
    db.commit()
    assert _agree(db, settings, issued.id) == "valid"
    db.rollback()
    assert _banner(client, issued.id) == "valid"


def test_firm_badges_say_what_the_verifier_says(client, db, system, settings, frozen_clock):
    gold_badge, registered_badge = _firm_badges(db, system, settings)
    db.commit()
    assert _agree(db, settings, gold_badge) == "revoked"
    assert _agree(db, settings, registered_badge) == "valid"
    db.rollback()
    assert _banner(client, gold_badge) == "revoked"
    assert _banner(client, registered_badge) == "valid"


@pytest.mark.parametrize(
    "earlier_url",
    ["http://127.0.0.1:8000", "https://old.example.com"],
    ids=["did:key", "did:web"],
)
def test_a_credential_issued_under_an_earlier_address_is_not_valid_here(
    engine, db, system, settings, frozen_clock, earlier_url
):
    earlier = settings.model_copy(update={"public_url": earlier_url})
    now = settings.model_copy(update={"public_url": "https://badges.example.com"})
    old = _issue(db, system, earlier)
    db.commit()
    assert _agree(db, earlier, old.id) == "valid"
    # Here, its status list (and, for a did:web, its key) are at an address no longer served.
    db.info["settings"] = now
    keyring.active_signer(db, now)  # the issuer moves to the new address
    db.commit()
    assert _agree(db, now, old.id) == "invalid"
    db.rollback()
    with TestClient(create_app(now, engine=engine)) as client:
        assert _banner(client, old.id) == "invalid"


def test_showing_a_page_does_not_run_the_verifier(
    client, db, system, settings, frozen_clock, monkeypatch
):
    valid = _issue(db, system, settings)
    revoked = _issue(db, system, settings)
    _revoke(db, system, revoked)
    suspended = _issue(db, system, settings)
    _suspend(db, system, suspended)
    gold_badge, registered_badge = _firm_badges(db, system, settings)
    db.commit()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the full verifier ran for a page view")

    monkeypatch.setattr(verify, "verify_credential", refuse)
    monkeypatch.setattr(public, "verify_credential", refuse)
    monkeypatch.setattr(proofs, "verify_proof", refuse)
    monkeypatch.setattr(jsonld, "dropped_terms", refuse)
    shown = {
        credential_id: _banner(client, credential_id)
        for credential_id in (valid.id, revoked.id, suspended.id, gold_badge, registered_badge)
    }
    assert shown == {
        valid.id: "valid",
        revoked.id: "revoked",
        suspended.id: "suspended",
        gold_badge: "revoked",
        registered_badge: "valid",
    }
    # The patches bite: the Verify button's API, which runs the verifier, now fails.
    document = client.get(f"/credentials/{valid.id}.json").json()
    assert client.post("/api/v1/verify", json={"credential": document}).status_code == 500
