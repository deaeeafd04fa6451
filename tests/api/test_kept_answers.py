"""Answers a worker keeps between changes (``deps.kept_answer``): never stale, never another's.

The list of awards and ``/users/me`` are kept per caller and URL while nothing is committed
(SQLite's ``data_version``; PostgreSQL keeps nothing here, where no server listens for change
notices, and every assertion holds there too). Each answer carries an ``ETag``.
"""

from __future__ import annotations

from datetime import timedelta

from charter.core.auth import Role
from charter.credentials import service
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification


def _statuses(client, headers, query: str = "") -> dict[str, str]:
    response = client.get(f"/api/v1/awards{query}", headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item["status"] for item in response.json()["items"]}


def test_a_list_answered_again_carries_its_etag_and_a_304_for_it(client, make, db, system):
    cert = certification(db, system)
    award(db, system, person_id=person(db, system, partner_id=None).id, certification_id=cert.id)
    db.commit()
    admin = make.login(Role.ADMIN).headers

    first = client.get("/api/v1/awards", headers=admin)
    again = client.get("/api/v1/awards", headers=admin)

    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in first.headers["vary"]
    unchanged = client.get(
        "/api/v1/awards", headers={**admin, "If-None-Match": first.headers["etag"]}
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == first.headers["etag"]


def test_a_change_committed_elsewhere_is_in_the_very_next_answer(client, make, db, system):
    cert = certification(db, system)
    someone = person(db, system, partner_id=None)
    given = award(db, system, person_id=someone.id, certification_id=cert.id)
    db.commit()
    admin = make.login(Role.ADMIN).headers
    before = client.get("/api/v1/awards", headers=admin)
    assert _statuses(client, admin) == {given.id: "active"}

    # Committed through another connection, as another worker or the CLI would.
    service.revoke_award(db, system, award_id=given.id, reason="exam fraud")
    db.commit()

    after = client.get("/api/v1/awards", headers=admin)
    assert {item["id"]: item["status"] for item in after.json()["items"]} == {given.id: "revoked"}
    assert after.headers["etag"] != before.headers["etag"]
    stale = client.get("/api/v1/awards", headers={**admin, "If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200


def test_a_status_that_lapses_by_the_clock_alone_is_not_kept(
    client, make, db, system, frozen_clock
):
    cert = certification(db, system, validity_days=30, renewal_window_days=10)
    given = award(
        db, system, person_id=person(db, system, partner_id=None).id, certification_id=cert.id
    )
    db.commit()
    auditor = make.login(Role.AUDITOR).headers
    assert _statuses(client, auditor) == {given.id: "active"}

    frozen_clock.advance(timedelta(days=31))  # nothing committed: only the clock moved

    assert _statuses(client, auditor) == {given.id: "expired"}


def test_an_answer_kept_for_one_caller_is_never_given_to_another(client, make, db, system):
    cert = certification(db, system)
    mine, theirs = partner(db, system), partner(db, system)
    own = award(
        db, system, person_id=person(db, system, partner_id=mine.id).id, certification_id=cert.id
    )
    award(
        db, system, person_id=person(db, system, partner_id=theirs.id).id, certification_id=cert.id
    )
    db.commit()
    admin = make.login(Role.ADMIN).headers
    member = make.login(Role.PARTNER_ADMIN, partner_id=mine.id).headers

    assert len(_statuses(client, admin)) == 2
    assert _statuses(client, admin, f"?partner_id={theirs.id}") != {}
    # The same URLs, asked by a partner admin of the other firm right after.
    assert _statuses(client, member) == {own.id: "active"}
    assert _statuses(client, member, f"?partner_id={theirs.id}") == {}
    assert client.get("/api/v1/users/me", headers=member).json()["role"] == "partner_admin"
    assert client.get("/api/v1/users/me", headers=admin).json()["role"] == "admin"


def test_a_revoked_key_is_refused_even_where_its_answer_was_kept(client, make, db, system):
    login = make.login(Role.ADMIN)
    assert client.get("/api/v1/users/me", headers=login.headers).status_code == 200
    assert client.get("/api/v1/users/me", headers=login.headers).status_code == 200

    other = make.login(Role.ADMIN).headers
    key_id = login.principal.id
    revoked = client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=other)
    assert revoked.status_code == 200, revoked.text

    assert client.get("/api/v1/users/me", headers=login.headers).status_code == 401
