"""Anomaly alerts: each rule opens an alert from validations and activations made over HTTP;
seeing it again updates the alert; managers acknowledge and resolve it (with events); partner
users read their own firm's only; the rules themselves are pure and tested on values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.licensing import alerts, anomalies
from charter.licensing import service as licensing
from charter.licensing.alert_models import LicenseAlert, LicenseCheck
from charter.licensing.anomalies import Check, Place, Rule, Severity, Thresholds
from charter.licensing.models import Product
from charter.licensing.validation_api import flush_checks
from charter.notify.models import EmailMessage
from charter.worker.runner import run_until_idle
from tests.licensing.factories import license
from tests.partners.factories import partner

VALIDATE = "/api/v1/licenses/validate"
ACTIVATE = "/api/v1/licenses/activate"
DEACTIVATE = "/api/v1/licenses/deactivate"
ALERTS = "/api/v1/license-alerts"
LIMITS = Thresholds()


def _issue(sessions, system, world, **fields) -> tuple[str, str, str]:
    with sessions() as db, db.begin():
        made, key = license(db, system, agreement_id=world.agreement, **fields)
        return made.id, key, db.get(Product, made.product_id).code


def _validate(client, key: str, product: str, n: int, **fields) -> dict:
    response = client.post(
        VALIDATE, json={"key": key, "product": product, "nonce": f"nonce-{n:06d}"} | fields
    )
    assert response.status_code == 200, response.text
    return response.json()


def _scan(client, sessions, system) -> list[LicenseAlert]:
    flush_checks(client.app)
    with sessions() as db, db.begin():
        found = alerts.scan(db, system)
        db.expunge_all()
        return found


def _alerts(sessions, license_id: str) -> list[LicenseAlert]:
    with sessions() as db:
        return list(db.scalars(select(LicenseAlert).where(LicenseAlert.license_id == license_id)))


def _events(sessions, kind: str) -> list[Event]:
    with sessions() as db:
        return list(db.scalars(select(Event).where(Event.type == kind).order_by(Event.seq)))


# Each rule from real traffic, on both databases.


def test_validations_are_recorded_in_the_background_not_for_unknown_keys(
    client, sessions, system, world, frozen_clock
):
    license_id, key, product = _issue(sessions, system, world)
    _validate(client, key, product, 1, fingerprint="office-box-1", region="emea", country="DE")
    unknown = client.post(
        VALIDATE,
        json={"key": "CHL-0ABCD-EFGH1-JKMNP-QRSTV-W", "product": product, "nonce": "n-1234567"},
    )
    assert unknown.status_code in {200, 422}

    assert flush_checks(client.app) == 1
    with sessions() as db:
        [check] = db.scalars(select(LicenseCheck)).all()
    assert (check.license_id, check.fingerprint, check.region, check.country, check.code) == (
        license_id,
        "office-box-1",
        "emea",
        "DE",
        "NOT_ACTIVATED",
    )
    assert flush_checks(client.app) == 0


def test_one_key_on_many_machines_opens_a_sharing_alert_and_a_repeat_updates_it(
    client, sessions, system, world, frozen_clock
):
    license_id, key, product = _issue(sessions, system, world, seats=1)
    for n in range(5):
        _validate(client, key, product, n, fingerprint=f"shared-machine-{n}")

    [opened] = _scan(client, sessions, system)
    assert (opened.rule, opened.license_id, opened.state) == ("sharing", license_id, "open")
    assert opened.partner_id == world.firm
    assert opened.evidence["distinct_fingerprints"] == 5
    assert opened.evidence["limit"] == 3

    for n in range(5, 8):
        _validate(client, key, product, n, fingerprint=f"shared-machine-{n}")
    frozen_clock.advance(timedelta(minutes=15))
    _scan(client, sessions, system)

    [alert] = _alerts(sessions, license_id)
    assert alert.id == opened.id
    assert alert.evidence["distinct_fingerprints"] == 8
    assert len(_events(sessions, "license.alert_opened")) == 1


def test_a_few_machines_within_the_seats_open_nothing(client, sessions, system, world):
    license_id, key, product = _issue(sessions, system, world, seats=10)
    for n in range(6):
        _validate(client, key, product, n, fingerprint=f"office-machine-{n % 3}")
    assert _scan(client, sessions, system) == []
    assert _alerts(sessions, license_id) == []


def test_cycling_seats_opens_an_activation_burst_alert(client, sessions, system, world):
    license_id, key, _ = _issue(sessions, system, world, seats=2)

    def activate(fingerprint: str) -> None:
        body = {"key": key, "fingerprint": fingerprint, "region": "emea", "customer_name": "Acme"}
        response = client.post(ACTIVATE, json=body)
        assert response.status_code in {200, 201}, response.text

    def deactivate(fingerprint: str) -> None:
        response = client.post(DEACTIVATE, json={"key": key, "fingerprint": fingerprint})
        assert response.status_code == 200, response.text

    activate("burst-machine-1")
    activate("burst-machine-2")
    deactivate("burst-machine-1")
    activate("burst-machine-3")
    deactivate("burst-machine-2")
    activate("burst-machine-4")

    [alert] = _scan(client, sessions, system)
    assert (alert.rule, alert.license_id) == ("activation_burst", license_id)
    assert alert.evidence["activations"] == 4


def test_use_outside_the_territory_opens_an_alert(client, sessions, system, world):
    _, key, product = _issue(sessions, system, world)
    answer = _validate(client, key, product, 1, region="na", country="US")
    assert answer["code"] == "REGION_NOT_PERMITTED"

    [alert] = _scan(client, sessions, system)
    assert (alert.rule, alert.severity) == ("out_of_territory", "low")
    assert alert.evidence["places"] == [{"region": "na", "country": "US"}]

    for n in range(2, 5):
        _validate(client, key, product, n, region="apac", country="JP")
    _scan(client, sessions, system)
    [again] = _alerts(sessions, alert.license_id)
    assert (again.id, again.severity) == (alert.id, "medium")
    assert again.evidence["validations_outside"] == 4


def test_use_after_revocation_opens_a_high_alert(client, sessions, system, world, frozen_clock):
    license_id, key, product = _issue(sessions, system, world)
    _validate(client, key, product, 1, fingerprint="before-revocation")
    assert _scan(client, sessions, system) == []
    with sessions() as db, db.begin():
        licensing.revoke_license(db, system, license_id=license_id, reason="unpaid")
    frozen_clock.advance(timedelta(hours=1))
    assert _validate(client, key, product, 2, fingerprint="after-revocation")["code"] == "REVOKED"

    [alert] = _scan(client, sessions, system)
    assert (alert.rule, alert.severity) == ("use_after_revocation", "high")
    assert alert.evidence["checks_after"] == 1
    assert alert.evidence["fingerprints"] == ["after-revocation"]


def test_the_worker_scans_and_mails_managers_of_a_high_alert(
    client, sessions, system, world, make, frozen_clock
):
    admin = make.login(Role.ADMIN)
    manager = make.login(Role.PROGRAM_MANAGER)
    auditor = make.login(Role.AUDITOR)
    license_id, key, product = _issue(sessions, system, world)
    with sessions() as db, db.begin():
        licensing.revoke_license(db, system, license_id=license_id, reason="unpaid")
    frozen_clock.advance(timedelta(hours=1))
    _validate(client, key, product, 1, fingerprint="after-revocation")
    flush_checks(client.app)

    run_until_idle(sessions)

    [alert] = _alerts(sessions, license_id)
    assert alert.rule == "use_after_revocation"
    with sessions() as db:
        mails = db.scalars(select(EmailMessage).where(EmailMessage.kind == "license_alert")).all()
    assert sorted(mail.recipient for mail in mails) == sorted(
        [admin.user.email, manager.user.email]
    )
    assert auditor.user.email not in {mail.recipient for mail in mails}
    assert all(license_id in mail.subject for mail in mails)
    assert all(alert.id in mail.text_body for mail in mails)


# Acknowledging, resolving and reading over HTTP.


def _open_sharing_alert(client, sessions, system, world) -> str:
    _, key, product = _issue(sessions, system, world, seats=1)
    for n in range(5):
        _validate(client, key, product, n, fingerprint=f"shared-machine-{n}")
    [alert] = _scan(client, sessions, system)
    return alert.id


def test_managers_acknowledge_then_resolve_with_events(client, sessions, system, world, make):
    alert_id = _open_sharing_alert(client, sessions, system, world)
    manager = make.login(Role.PROGRAM_MANAGER)
    member = make.login(Role.PARTNER_MEMBER, partner_id=world.firm)
    path = f"{ALERTS}/{alert_id}"

    assert client.post(f"{path}/acknowledge", headers=member.headers).status_code == 403
    acked = client.post(
        f"{path}/acknowledge", json={"note": "calling the firm"}, headers=manager.headers
    )
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == manager.user.id
    again = client.post(f"{path}/acknowledge", headers=manager.headers)
    assert again.status_code == 409

    missing = client.post(f"{path}/resolve", json={}, headers=manager.headers)
    assert missing.status_code == 422
    assert "note" in missing.text
    resolved = client.post(
        f"{path}/resolve", json={"note": "two offices share a build box"}, headers=manager.headers
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["state"] == "resolved"
    assert resolved.json()["note"] == "two offices share a build box"

    [acknowledged] = _events(sessions, "license.alert_acknowledged")
    [closed] = _events(sessions, "license.alert_resolved")
    assert acknowledged.subject_id == closed.subject_id == alert_id
    assert closed.partner_id == world.firm

    # Resolved: the next sighting opens a new alert.
    [reopened] = _scan(client, sessions, system)
    assert reopened.id != alert_id
    assert len(_events(sessions, "license.alert_opened")) == 2


def test_alerts_are_filtered_and_partner_users_see_their_own(client, sessions, system, world, make):
    alert_id = _open_sharing_alert(client, sessions, system, world)
    manager = make.login(Role.AUDITOR)
    member = make.login(Role.PARTNER_MEMBER, partner_id=world.firm)
    with sessions() as db, db.begin():
        stranger_firm = partner(db, system, status="active")
    stranger = make.login(Role.PARTNER_ADMIN, partner_id=stranger_firm.id)

    def ids(query: str, login) -> list[str]:
        response = client.get(f"{ALERTS}{query}", headers=login.headers)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("", manager) == [alert_id]
    assert ids("?state=open&severity=medium&rule=sharing", manager) == [alert_id]
    assert ids(f"?partner_id={world.firm}", manager) == [alert_id]
    assert ids("?state=resolved", manager) == []
    assert ids("?rule=usage_spike", manager) == []
    assert ids("", member) == [alert_id]
    assert ids("", stranger) == []
    assert ids(f"?partner_id={world.firm}", stranger) == []
    assert client.get(f"{ALERTS}/{alert_id}", headers=member.headers).status_code == 200
    assert client.get(f"{ALERTS}/{alert_id}", headers=stranger.headers).status_code == 404

    bad = client.get(f"{ALERTS}?state=closed", headers=manager.headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "state"


def test_old_checks_are_pruned(client, sessions, system, world, frozen_clock):
    _, key, product = _issue(sessions, system, world)
    _validate(client, key, product, 1)
    flush_checks(client.app)
    from charter.licensing import checks

    with sessions() as db, db.begin():
        assert checks.prune(db, before=frozen_clock.now() - timedelta(days=1)) == 0
        assert checks.prune(db, before=frozen_clock.now() + timedelta(seconds=1)) == 1
        assert db.scalar(select(func.count()).select_from(LicenseCheck)) == 0


# The pure rules.

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _check(code: str = "VALID", minutes: int = 0, **fields) -> Check:
    values = {"address": "203.0.113.7", "fingerprint": None, "region": None, "country": None}
    values.update(fields)
    return Check(code=code, checked_at=AT + timedelta(minutes=minutes), **values)


def test_the_spike_rule_does_not_fire_on_a_steady_series_and_fires_on_a_spike():
    steady = [(f"2026-02-{day:02d}", 100.0 + (day % 3) * 5) for day in range(1, 15)]
    assert anomalies.usage_spike(series=steady, thresholds=LIMITS) is None

    spiked = [*steady, ("2026-02-15", 400.0)]
    found = anomalies.usage_spike(series=spiked, thresholds=LIMITS)
    assert found is not None
    assert (found.rule, found.severity) == (Rule.USAGE_SPIKE, Severity.HIGH)
    assert found.evidence["period"] == "2026-02-15"
    assert found.evidence["median"] == 105.0


def test_the_spike_rule_needs_enough_history():
    short = [("2026-02-01", 10.0), ("2026-02-02", 10.0), ("2026-02-03", 1000.0)]
    assert anomalies.usage_spike(series=short, thresholds=LIMITS) is None


def test_one_outlier_in_the_history_does_not_hide_a_spike():
    # A mean and standard deviation would be dragged up by the one big day; the median is not.
    history = [(f"d{n:02d}", 100.0 + n % 2) for n in range(12)] + [("d12", 5000.0)]
    found = anomalies.usage_spike(series=[*history, ("d13", 300.0)], thresholds=LIMITS)
    assert found is not None


@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=7, max_size=40),
    st.floats(min_value=0, max_value=1e6),
)
def test_the_spike_rule_fires_exactly_above_median_plus_k_mad(history, latest):
    series = [(f"p{n:03d}", value) for n, value in enumerate([*history, latest])]
    centre, mad = anomalies.median_absolute_deviation(history)
    found = anomalies.usage_spike(series=series, thresholds=LIMITS)
    if mad > 0:
        assert (found is not None) == (latest > centre + LIMITS.spike_k * mad)
    if latest <= centre:
        assert found is None


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=0, max_value=200))
def test_sharing_fires_only_above_the_seats_multiple(seats, machines):
    found = anomalies.sharing(
        seats=seats,
        fingerprints=[f"m{n}" for n in range(machines)],
        addresses=["198.51.100.1"],
        thresholds=LIMITS,
    )
    assert (found is not None) == (machines > max(3, seats * 2))


def test_territory_coverage_follows_activation():
    regions, countries = frozenset({"emea"}), frozenset({"US"})
    assert anomalies.covered(Place("emea", "DE"), regions=regions, countries=countries)
    assert anomalies.covered(Place("na", "US-CA"), regions=regions, countries=countries)
    assert anomalies.covered(Place(None, None), regions=regions, countries=countries)
    assert not anomalies.covered(Place("apac", "JP"), regions=regions, countries=countries)
    found = anomalies.out_of_territory(
        checks=[_check("EMBARGOED_REGION", country="KP")],
        activations=[],
        regions=regions,
        countries=countries,
    )
    assert found is not None
    assert found.severity is Severity.HIGH


def test_use_after_revocation_counts_only_later_checks():
    checks = [_check("VALID", -5), _check("REVOKED", 5, fingerprint="late-box")]
    assert anomalies.use_after_revocation(status="active", revoked_at=None, checks=checks) is None
    found = anomalies.use_after_revocation(status="revoked", revoked_at=AT, checks=checks)
    assert found is not None
    assert found.evidence["checks_after"] == 1
    assert found.evidence["fingerprints"] == ["late-box"]
    assert (
        anomalies.use_after_revocation(status="revoked", revoked_at=AT, checks=checks[:1]) is None
    )


def test_a_usage_spike_reported_through_the_api_opens_an_alert(
    client, sessions, system, world, frozen_clock
):
    license_id, key, _ = _issue(sessions, system, world)

    def next_day(quantity: int) -> None:
        frozen_clock.advance(timedelta(days=1))
        record = {
            "metric": "api_calls",
            "quantity": quantity,
            "occurred_at": frozen_clock.now().isoformat(),
            "record_id": f"day-{frozen_clock.now():%Y%m%d}",
        }
        response = client.post("/api/v1/usage", json={"key": key, "records": [record]})
        assert response.status_code == 200, response.text

    for quantity in [100, 104, 98, 101, 99, 103, 97, 100, 102, 99, 101, 100]:
        next_day(quantity)
    assert [a for a in _scan(client, sessions, system) if a.rule == "usage_spike"] == []

    next_day(900)
    [spike] = [a for a in _scan(client, sessions, system) if a.rule == "usage_spike"]
    assert spike.license_id == license_id
    assert spike.evidence["metric"] == "api_calls"
