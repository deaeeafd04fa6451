"""The tiers API: schemes, track records, standings, forecast, badges; 422s and partner scope."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlsplit

from charter.core import clock
from charter.core.auth import Role
from charter.worker.runner import run_until_idle
from tests.codes import Track
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered


def _setup(sessions, system):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        other = partner(db, system, status="active")
        cert = certification(db, system, track=Track.TECHNICAL)
        for _ in range(2):
            engineer = person(db, system, partner_id=firm.id)
            award(db, system, person_id=engineer.id, certification_id=cert.id)
        return firm.id, other.id, cert.code


def test_schemes_standings_and_badges_over_http(client, sessions, system, make, frozen_clock):
    firm, other, _code = _setup(sessions, system)
    manager = make.login(Role.PROGRAM_MANAGER)
    response = client.post(
        "/api/v1/tier-schemes",
        json={"tiers": [registered(), gold()]},
        headers=manager.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1
    assert response.json()["in_force"] is True

    evaluated = client.post(f"/api/v1/partners/{firm}/tiers/evaluate", headers=manager.headers)
    assert evaluated.status_code == 200, evaluated.text
    (standing,) = evaluated.json()
    assert standing["tier"]["key"] == "gold"
    assert standing["benefits"]["entitlements"] == ["nfr-licenses", "deal-registration"]
    assert standing["next_tier"] is None
    assert standing["next_tier_missing"] == []

    # The badge's URL is its public page, which serves the signed JSON to clients asking for it.
    badge_path = urlsplit(standing["badge_url"]).path
    assert badge_path == f"/credentials/{standing['badge_id']}"
    badge = client.get(badge_path, headers={"Accept": "application/vc+ld+json"})
    assert badge.status_code == 200
    assert badge.headers["content-type"].startswith("application/vc+ld+json")
    assert badge.json()["id"] == standing["badge_url"]
    api = client.get(f"/api/v1/tier-badges/{standing['badge_id']}")
    assert api.content == badge.content
    verdict = client.post("/api/v1/verify", json={"credential": badge.json()})
    assert verdict.json()["status"] == "valid", verdict.text

    # Partner users see their own firm's standing, and nobody else's.
    own = make.login(Role.PARTNER_MEMBER, partner_id=firm)
    assert client.get(f"/api/v1/partners/{firm}/tiers", headers=own.headers).status_code == 200
    assert client.get(f"/api/v1/partners/{other}/tiers", headers=own.headers).status_code == 404
    denied = client.post(f"/api/v1/partners/{firm}/tiers/evaluate", headers=own.headers)
    assert denied.status_code == 403
    forecast = client.get("/api/v1/tier-forecast?days=60", headers=own.headers)
    assert forecast.status_code == 200
    assert forecast.json() == []


def test_bad_input_is_a_422_naming_the_field(client, sessions, system, make, frozen_clock):
    firm, _, _ = _setup(sessions, system)
    manager = make.login(Role.PROGRAM_MANAGER)

    def problem(path, body):
        response = client.post(path, json=body, headers=manager.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        return [error["field"] for error in response.json()["errors"]]

    assert problem("/api/v1/tier-schemes", {"tiers": []}) == ["tiers"]
    assert problem("/api/v1/tier-schemes", {"tiers": [gold(grace_days=-3)]}) == [
        "tiers.0.grace_days"
    ]
    assert problem("/api/v1/tier-schemes", {"tiers": [gold(key="Not A Key")]}) == ["tiers.0.key"]
    bad_track = gold()
    bad_track["requirements"]["min_certified_by_track"] = {"marketing": 1}
    assert problem("/api/v1/tier-schemes", {"tiers": [bad_track]})[0].startswith(
        "tiers.0.requirements.min_certified_by_track"
    )
    unknown = gold(requirements={"required_certifications": ["NOPE-1"]})
    assert problem("/api/v1/tier-schemes", {"tiers": [unknown]}) == [
        "tiers.0.requirements.required_certifications.0"
    ]
    duplicate = problem("/api/v1/tier-schemes", {"tiers": [registered(), registered(rank=2)]})
    assert duplicate == ["tiers"]
    assert problem(
        "/api/v1/track-records", {"partner_id": "prt_nope", "metric": "deployments", "value": 1}
    ) == ["partner_id"]
    assert problem(
        "/api/v1/track-records", {"partner_id": firm, "metric": "Bad Metric", "value": 1}
    ) == ["metric"]
    future = (clock.now() + timedelta(days=1)).isoformat()
    assert problem(
        "/api/v1/track-records",
        {"partner_id": firm, "metric": "deployments", "value": 1, "recorded_at": future},
    ) == ["recorded_at"]
    assert problem(f"/api/v1/partners/{firm}/terminate", {"reason": "  "}) == ["reason"]
    response = client.get("/api/v1/tier-forecast?days=45", headers=manager.headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["days"]


def test_a_nul_in_a_track_record_external_id_is_a_422_and_records_nothing(
    client, sessions, system, make, frozen_clock
):
    firm, _, _ = _setup(sessions, system)
    manager = make.login(Role.PROGRAM_MANAGER)
    body = {"partner_id": firm, "metric": "deployments", "value": 3, "external_id": "tr\x00-1"}
    response = client.post("/api/v1/track-records", json=body, headers=manager.headers)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["external_id"]
    listed = client.get(f"/api/v1/partners/{firm}/track-records", headers=manager.headers)
    assert listed.status_code == 200
    assert listed.json() == []


def test_track_records_import_from_csv(sessions, system, frozen_clock, tmp_path, cli):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active", external_id="crm-acme")
        firm_id = firm.id
    path = tmp_path / "records.csv"
    path.write_text(
        "external_id,partner_external_id,metric,value,recorded_at,source\n"
        "tr-1,crm-acme,deployments,12,2026-02-01T00:00:00Z,CRM\n"
        "tr-2,crm-acme,customer_satisfaction,4.4,,survey\n",
        encoding="utf-8",
    )
    result = cli("tiers", "import-track-records", str(path))
    assert result.exit_code == 0, result.output
    assert "2 track records created" in result.output
    again = cli("tiers", "import-track-records", str(path))
    assert "0 track records created, 2 skipped" in again.output
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "external_id,partner_external_id,metric,value\n"
        "tr-3,crm-nobody,deployments,1\n"
        "tr-4,crm-acme,deployments,many\n",
        encoding="utf-8",
    )
    refused = cli("tiers", "import-track-records", str(bad))
    assert refused.exit_code == 1
    assert "line 2" in refused.output
    assert "line 3" in refused.output
    from charter.tiers import track_records

    with sessions() as db:
        records = track_records.list_track_records(db, system, partner_id=firm_id)
        assert {(r.metric, r.value) for r in records} == {
            ("deployments", 12.0),
            ("customer_satisfaction", 4.4),
        }


def test_the_worker_keeps_tiers_current(client, sessions, system, make, frozen_clock, settings):
    firm, _, _ = _setup(sessions, system)
    manager = make.login(Role.PROGRAM_MANAGER)
    client.post(
        "/api/v1/tier-schemes", json={"tiers": [registered(), gold()]}, headers=manager.headers
    )
    run_until_idle(sessions, settings)
    shown = client.get(f"/api/v1/partners/{firm}/tiers", headers=manager.headers).json()
    assert shown[0]["tier"]["key"] == "gold"
    # A year on, the worker expires the awards, puts the firm at risk, and later moves it down.
    frozen_clock.advance(timedelta(days=366))
    run_until_idle(sessions, settings)
    shown = client.get(f"/api/v1/partners/{firm}/tiers", headers=manager.headers).json()
    assert shown[0]["tier"]["key"] == "gold"
    assert shown[0]["at_risk"] is True
    assert shown[0]["missing"] == ["2 more technical certifications"]
    frozen_clock.advance(timedelta(days=31))
    run_until_idle(sessions, settings)
    shown = client.get(f"/api/v1/partners/{firm}/tiers", headers=manager.headers).json()
    assert shown[0]["tier"]["key"] == "registered"
    assert shown[0]["at_risk"] is False
    events = client.get(f"/api/v1/events?subject_id={firm}&limit=500", headers=manager.headers)
    kinds = [e["type"] for e in events.json()["items"] if e["type"].startswith("tier.")]
    assert kinds == ["tier.upgraded", "tier.at_risk", "tier.downgraded"]


def test_report_at_risk_on_the_command_line(sessions, system, frozen_clock, cli):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        cert = certification(db, system, track=Track.TECHNICAL, validity_days=365)
        first, second = (person(db, system, partner_id=firm.id) for _ in range(2))
        award(db, system, person_id=first.id, certification_id=cert.id)
        frozen_clock.advance(timedelta(days=325))  # the first award now expires in 40 days
        award(db, system, person_id=second.id, certification_id=cert.id)
        from charter.tiers import service
        from tests.tiers.factories import scheme

        scheme(db, system)
        service.sweep(db, system)
        firm_id, first_id, name = firm.id, first.id, first.display_name

    quiet = cli("report", "at-risk", "--days", "30")
    assert quiet.exit_code == 0, quiet.output
    assert "no firm falls below its tier within 30 days" in quiet.output
    table = cli("report", "at-risk", "--days", "60")
    assert table.exit_code == 0, table.output
    assert firm_id in table.output
    assert name in table.output
    listed = cli("report", "at-risk", "--days", "60", "--json")
    (item,) = json.loads(listed.output)
    assert item["partner_id"] == firm_id
    assert [r["person_id"] for r in item["renewals"]] == [first_id]
    refused = cli("report", "at-risk", "--days", "45")
    assert refused.exit_code == 1
    assert "days" in refused.output


def test_standings_list_is_filtered_and_scoped(client, sessions, system, make, frozen_clock):
    firm, other, _ = _setup(sessions, system)
    manager = make.login(Role.PROGRAM_MANAGER)
    client.post(
        "/api/v1/tier-schemes", json={"tiers": [registered(), gold()]}, headers=manager.headers
    )
    for partner_id in (firm, other):
        client.post(f"/api/v1/partners/{partner_id}/tiers/evaluate", headers=manager.headers)
    everyone = client.get("/api/v1/firm-tiers", headers=manager.headers).json()
    assert {(s["partner_id"], s["tier"]) for s in everyone} == {
        (firm, "gold"),
        (other, "registered"),
    }
    gold_only = client.get("/api/v1/firm-tiers?tier=gold", headers=manager.headers).json()
    assert [s["partner_id"] for s in gold_only] == [firm]
    own = make.login(Role.PARTNER_ADMIN, partner_id=other)
    mine = client.get("/api/v1/firm-tiers", headers=own.headers).json()
    assert [s["partner_id"] for s in mine] == [other]
