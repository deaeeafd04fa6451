"""The program's taxonomy over HTTP: its lists, adding and retiring entries, and every write
that names a track, region or partner type checked against them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from charter.core.auth import Role
from charter.core.models import Event

API = "/api/v1"
FIRM = {"name": "Fjord Consulting", "type": "implementation", "regions": ["emea"], "country": "NO"}


@pytest.fixture
def manager(make):
    return make.login(Role.PROGRAM_MANAGER)


def _problem_fields(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


def _add(client, login, **body):
    return client.post(f"{API}/program/taxonomy", json=body, headers=login.headers)


def test_everyone_signed_in_reads_the_default_lists(client, make):
    member = make.login(Role.AUDITOR)
    response = client.get(f"{API}/program/taxonomy", headers=member.headers)
    assert response.status_code == 200, response.text
    lists = response.json()
    assert [entry["code"] for entry in lists["tracks"]] == [
        "sales",
        "technical",
        "support",
        "specialty",
    ]
    regions = {entry["code"]: entry for entry in lists["regions"]}
    assert list(regions) == ["na", "latam", "emea", "apac"]
    assert {"US", "CA"} <= set(regions["na"]["countries"])
    assert "DE" in regions["emea"]["countries"]
    assert "BR" in regions["latam"]["countries"]
    assert "JP" in regions["apac"]["countries"]
    assert regions["emea"]["label"] == "EMEA"
    assert [entry["code"] for entry in lists["partner_types"]][:2] == ["reseller", "var"]
    assert client.get(f"{API}/program/taxonomy").status_code == 401


def test_a_new_region_is_used_on_a_firm_and_an_unknown_one_is_refused(client, manager, db):
    added = _add(client, manager, kind="region", code="nordics", label="Nordics", countries=["aq"])
    assert added.status_code == 201, added.text
    assert added.json()["countries"] == ["AQ"]
    assert added.json()["position"] == 5
    firm = client.post(
        f"{API}/partners", json={**FIRM, "regions": ["nordics"]}, headers=manager.headers
    )
    assert firm.status_code == 201, firm.text
    assert firm.json()["regions"] == ["nordics"]
    listed = client.get(f"{API}/partners", params={"region": "nordics"}, headers=manager.headers)
    assert [item["name"] for item in listed.json()["items"]] == ["Fjord Consulting"]

    unknown = client.post(
        f"{API}/partners", json={**FIRM, "regions": ["mars"]}, headers=manager.headers
    )
    assert _problem_fields(unknown) == ["regions"]
    assert "'mars' is not a region of this program" in unknown.json()["detail"]
    wrong_type = client.post(
        f"{API}/partners", json={**FIRM, "type": "wizard"}, headers=manager.headers
    )
    assert _problem_fields(wrong_type) == ["type"]
    changed = client.patch(
        f"{API}/partners/{firm.json()['id']}", json={"type": "wizard"}, headers=manager.headers
    )
    assert _problem_fields(changed) == ["type"]

    person = {
        "given_name": "Ada",
        "family_name": "Byron",
        "track": "juggling",
        "emails": ["ada@fjord.example"],
    }
    refused = client.post(f"{API}/people", json=person, headers=manager.headers)
    assert _problem_fields(refused) == ["track"]
    # A country is grouped by one region at most.
    taken = _add(client, manager, kind="region", code="dach", label="DACH", countries=["DE"])
    assert _problem_fields(taken) == ["countries"]
    assert "DE (emea)" in taken.json()["detail"]
    events = db.scalars(select(Event.type).where(Event.type.like("taxonomy%"))).all()
    assert events == ["taxonomy_entry.added"]


def test_a_new_track_serves_people_and_certifications(client, manager):
    assert (
        _add(client, manager, kind="track", code="pre-sales", label="Pre-sales").status_code == 201
    )
    person = client.post(
        f"{API}/people",
        json={
            "given_name": "Grace",
            "family_name": "Hopper",
            "track": "pre-sales",
            "emails": ["grace@example.com"],
        },
        headers=manager.headers,
    )
    assert person.status_code == 201, person.text
    assert person.json()["track"] == "pre-sales"
    certification = {
        "code": "PS-1",
        "name": "Pre-sales Professional",
        "track": "nothing-like-it",
        "level": "professional",
        "validity_days": 365,
        "renewal_window_days": 30,
        "criteria": {"narrative": "Pass the exam.", "requirements": {}},
    }
    refused = client.post(f"{API}/certifications", json=certification, headers=manager.headers)
    assert _problem_fields(refused) == ["track"]
    created = client.post(
        f"{API}/certifications",
        json={**certification, "track": "pre-sales"},
        headers=manager.headers,
    )
    assert created.status_code == 201, created.text


def test_a_retired_entry_keeps_old_data_valid_and_is_refused_for_new(client, manager):
    assert _add(client, manager, kind="partner_type", code="oem", label="OEM").status_code == 201
    firm = client.post(f"{API}/partners", json={**FIRM, "type": "oem"}, headers=manager.headers)
    assert firm.status_code == 201, firm.text
    retired = client.post(
        f"{API}/program/taxonomy/partner_type/oem/retire", headers=manager.headers
    )
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired"] is True

    firm_id = firm.json()["id"]
    read = client.get(f"{API}/partners/{firm_id}", headers=manager.headers)
    assert read.status_code == 200
    assert read.json()["type"] == "oem"
    # The firm keeps its type through other changes, and may even be given it again.
    kept = client.patch(
        f"{API}/partners/{firm_id}",
        json={"name": "Fjord OEM", "type": "oem"},
        headers=manager.headers,
    )
    assert kept.status_code == 200, kept.text
    refused = client.post(f"{API}/partners", json={**FIRM, "type": "oem"}, headers=manager.headers)
    assert _problem_fields(refused) == ["type"]
    assert "retired" in refused.json()["detail"]
    lists = client.get(f"{API}/program/taxonomy", headers=manager.headers).json()
    assert {"code": "oem", "retired": True}.items() <= lists["partner_types"][-1].items()

    restored = client.patch(
        f"{API}/program/taxonomy/partner_type/oem",
        json={"retired": False, "label": "Original equipment maker"},
        headers=manager.headers,
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["label"] == "Original equipment maker"
    again = client.post(f"{API}/partners", json={**FIRM, "type": "oem"}, headers=manager.headers)
    assert again.status_code == 201, again.text


def test_reordering_and_bad_entries(client, manager):
    order = client.put(
        f"{API}/program/taxonomy/region/order",
        json={"codes": ["emea", "na", "apac", "latam"]},
        headers=manager.headers,
    )
    assert order.status_code == 200, order.text
    lists = client.get(f"{API}/program/taxonomy", headers=manager.headers).json()
    assert [entry["code"] for entry in lists["regions"]] == ["emea", "na", "apac", "latam"]
    partial = client.put(
        f"{API}/program/taxonomy/region/order", json={"codes": ["emea"]}, headers=manager.headers
    )
    assert _problem_fields(partial) == ["codes"]

    assert _problem_fields(_add(client, manager, kind="track", code="Big Deals", label="x")) == [
        "code"
    ]
    assert _problem_fields(_add(client, manager, kind="planet", code="mars", label="x")) == ["kind"]
    not_a_region = _add(client, manager, kind="track", code="deals", label="x", countries=["DE"])
    assert _problem_fields(not_a_region) == ["countries"]
    duplicate = _add(client, manager, kind="track", code="sales", label="Sales again")
    assert duplicate.status_code == 409
    missing = client.patch(
        f"{API}/program/taxonomy/track/nothing", json={"label": "x"}, headers=manager.headers
    )
    assert missing.status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.GOVERNANCE_OWNER, Role.PARTNER_ADMIN])
def test_only_program_admins_change_the_taxonomy(client, make, db, role):
    partner_id = None
    if role.is_partner_role:
        admin = make.login(Role.PROGRAM_MANAGER)
        created = client.post(f"{API}/partners", json=FIRM, headers=admin.headers)
        partner_id = created.json()["id"]
    login = make.login(role, partner_id=partner_id)
    assert client.get(f"{API}/program/taxonomy", headers=login.headers).status_code == 200
    for response in (
        _add(client, login, kind="track", code="deals", label="Deals"),
        client.patch(
            f"{API}/program/taxonomy/track/sales", json={"label": "x"}, headers=login.headers
        ),
        client.post(f"{API}/program/taxonomy/track/sales/retire", headers=login.headers),
        client.put(
            f"{API}/program/taxonomy/track/order",
            json={"codes": ["specialty", "support", "technical", "sales"]},
            headers=login.headers,
        ),
    ):
        assert response.status_code == 403, response.text
    assert db.scalars(select(Event.type).where(Event.type.like("taxonomy%"))).all() == []


def test_a_track_gets_a_badge_colour_checked_like_any_field(client, manager):
    lists = client.get(f"{API}/program/taxonomy", headers=manager.headers).json()
    assert {entry["code"]: entry["colour"] for entry in lists["tracks"]} == {
        "sales": "#b54708",
        "technical": "#1f6feb",
        "support": "#1f7a4d",
        "specialty": "#6941c6",
    }
    assert {entry["colour"] for entry in lists["regions"]} == {None}

    for bad in ("red", "#12345", "#12345g", "1f6feb", 7):
        refused = _add(client, manager, kind="track", code="presales", label="Pre", colour=bad)
        assert _problem_fields(refused) == ["colour"], bad
    not_a_track = _add(client, manager, kind="region", code="polar", label="P", colour="#123456")
    assert _problem_fields(not_a_track) == ["colour"]

    added = _add(client, manager, kind="track", code="presales", label="Pre", colour="#0E7090")
    assert added.status_code == 201, added.text
    assert added.json()["colour"] == "#0e7090"
    path = f"{API}/program/taxonomy/track/presales"
    refused = client.patch(path, json={"colour": "blue"}, headers=manager.headers)
    assert _problem_fields(refused) == ["colour"]
    changed = client.patch(path, json={"colour": "#aa3300"}, headers=manager.headers)
    assert changed.json()["colour"] == "#aa3300"
    kept = client.patch(path, json={"label": "Presales"}, headers=manager.headers)
    assert kept.json()["colour"] == "#aa3300"
    cleared = client.patch(path, json={"colour": None}, headers=manager.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["colour"] is None
