"""The demo program: a realistic Nimbus Cloud program, seeded once, reused on later runs."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charter.app import create_app
from charter.approvals.models import ApprovalRequest
from charter.config import Settings, get_settings
from charter.core import eventverify
from charter.core.models import Event
from charter.credentials import ob3
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award, IssuedCredential
from charter.db.engine import make_engine, make_sessionmaker
from charter.demo.people import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AUDITOR_EMAIL,
    GOVERNANCE_EMAIL,
    PARTNER_ADMIN_PASSWORD,
)
from charter.demo.seeding import SeedSummary, seed
from charter.demo.serving import run_demo, sign_ins
from charter.licensing.models import License, LicenseActivation
from charter.licensing.usage_models import UsageCapPassed, UsageRecord, UsageRollup
from charter.partners.models import Partner, PartnerRegion, Person
from charter.tiers.enums import BadgeStatus
from charter.tiers.models import FirmTier, TierBadge, TrackRecord
from tests.codes import PartnerType, Region
from tests.web.helpers import csrf_from, sign_in


@dataclass
class Seeded:
    url: str
    data_dir: Path
    first: SeedSummary
    second: SeedSummary


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'charter.db'}"
    # The deployment secret (license keys hash and seal under it) lives in the data folder.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHARTER_DATA_DIR", str(folder))
        get_settings.cache_clear()
        try:
            first = seed(url)
            second = seed(url)
            yield Seeded(url, folder, first, second)
        finally:
            get_settings.cache_clear()


@pytest.fixture
def demo_db(seeded: Seeded) -> Iterator[Session]:
    engine = make_engine(seeded.url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def demo_client(seeded: Seeded, tmp_path) -> Iterator[TestClient]:
    settings = Settings(database_url=seeded.url, secret_key="demo-test-secret", data_dir=tmp_path)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def test_the_demo_program_has_the_planned_shape(seeded):
    summary = seeded.first
    assert summary.created
    assert summary.partners_by_status == {
        "applicant": 2,
        "onboarding": 3,
        "active": 51,
        "suspended": 3,
        "terminated": 1,
    }
    assert 550 <= summary.people <= 650
    assert summary.certifications == 5
    assert summary.criteria_versions == 6  # the Professional criteria were revised once
    assert summary.assessments > summary.people
    awards = summary.awards_by_status
    assert awards["active"] > 300
    assert awards["expired"] >= 10
    assert awards["revoked"] >= 3
    assert awards["suspended"] >= 2
    assert summary.awards_expiring_within_30_days >= 3
    # Admin, program manager, governance owner, auditor, partner admin and partner member.
    assert summary.users == 6
    assert summary.partner_admin_email
    # Firms hold every tier, each with its signed badge, and a few are at risk.
    assert list(summary.firms_by_tier) == ["authorized", "certified", "elite"]
    assert all(count >= 3 for count in summary.firms_by_tier.values())
    assert summary.firm_badges == sum(summary.firms_by_tier.values())
    assert summary.firms_at_risk >= 2


def test_seeding_again_reuses_the_data(seeded):
    again = seeded.second
    assert not again.created
    first = seeded.first
    for name in (
        "partners_by_status",
        "people",
        "certifications",
        "assessments",
        "awards_by_status",
        "users",
        "events",
        "firms_by_tier",
        "firms_at_risk",
        "firm_badges",
    ):
        assert getattr(again, name) == getattr(first, name), name


def test_firms_cover_every_type_and_region_and_size(demo_db):
    types = set(demo_db.scalars(select(Partner.type).distinct()))
    assert types == {kind.value for kind in PartnerType}
    regions = set(demo_db.scalars(select(PartnerRegion.region).distinct()))
    assert regions == {region.value for region in Region}
    headcounts = sorted(
        count
        for (count,) in demo_db.execute(
            select(func.count(Person.id))
            .join(Partner, Partner.id == Person.partner_id)
            .where(Partner.status == "active")
            .group_by(Person.partner_id)
        )
    )
    assert headcounts[0] <= 6
    assert headcounts[-1] >= 20


def test_history_spans_years_in_order_and_the_log_verifies(demo_db):
    times = list(demo_db.scalars(select(Event.occurred_at).order_by(Event.seq)))
    assert times == sorted(times)
    assert (times[-1] - times[0]).days > 3 * 365
    issued = list(demo_db.scalars(select(Award.issued_at)))
    assert (max(issued) - min(issued)).days > 2 * 365
    assert eventverify.verify_chain(demo_db).ok


def test_revoked_and_suspended_awards_say_why(demo_db):
    rows = demo_db.scalars(
        select(Award).where(
            Award.status.in_([AwardStatus.REVOKED.value, AwardStatus.SUSPENDED.value])
        )
    ).all()
    assert rows
    assert all(row.status_reason for row in rows)


def test_every_demo_credential_passes_the_official_ob3_schema(demo_db):
    documents = [
        *demo_db.scalars(select(IssuedCredential.document)),
        *demo_db.scalars(select(TierBadge.document)),
    ]
    assert len(documents) > 300
    failing = {}
    for text in documents:
        document = json.loads(text)
        problems = ob3.validate_credential(document)
        if problems:
            failing[document["id"]] = problems
    assert not failing, list(failing.items())[:3]


def test_tiers_come_from_imported_satisfaction_and_certified_staff(demo_db):
    imported = demo_db.scalars(select(TrackRecord).where(TrackRecord.source.is_not(None))).all()
    assert len({row.external_id for row in imported}) == len(imported) > 100
    assert {row.metric for row in imported} == {"customer_satisfaction"}
    at_risk = demo_db.scalars(select(FirmTier).where(FirmTier.at_risk_since.is_not(None))).all()
    assert any("customer satisfaction" in line for row in at_risk for line in row.missing)
    assert all(row.grace_until is not None and row.tier for row in at_risk)
    holders = demo_db.scalars(select(FirmTier).where(FirmTier.tier.is_not(None))).all()
    badges = {badge.id: badge for badge in demo_db.scalars(select(TierBadge))}
    for row in holders:
        badge = badges[row.badge_id]
        assert (badge.partner_id, badge.tier) == (row.partner_id, row.tier)
        assert badge.status == BadgeStatus.ACTIVE.value


def test_a_demo_firm_badge_has_its_public_page(demo_client, demo_db):
    badge = demo_db.scalar(
        select(TierBadge)
        .where(TierBadge.tier == "elite", TierBadge.status == BadgeStatus.ACTIVE.value)
        .order_by(TierBadge.id)
        .limit(1)
    )
    assert badge is not None
    firm = demo_db.get(Partner, badge.partner_id)
    assert firm is not None
    badge_id, firm_name = badge.id, firm.name
    demo_db.rollback()  # the page may write (a status list re-signed): no open read on SQLite
    page = demo_client.get(f"/credentials/{badge_id}").text
    assert 'data-status="valid"' in page
    assert "Elite Partner" in page
    assert html.escape(firm_name) in page
    embed = demo_client.get(f"/credentials/{badge_id}/embed").text
    assert 'data-status="valid"' in embed


def test_the_printed_logins_work(demo_client, seeded):
    response = sign_in(demo_client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 303
    page = demo_client.get("/dashboard").text
    assert 'class="figure">60</span><span class="label">partner firms' in page
    assert 'id="partners-by-tier"' in page
    assert "Elite Partner" in page
    demo_client.post("/logout", data={"csrf": csrf_from(page)})

    email = seeded.first.partner_admin_email
    assert sign_in(demo_client, email, PARTNER_ADMIN_PASSWORD).status_code == 303
    page = demo_client.get("/dashboard").text
    assert 'class="figure">1</span><span class="label">firm' in page
    demo_client.post("/logout", data={"csrf": csrf_from(page)})

    # One user of each role signs in with what the demo prints.
    for _role, address, password in sign_ins(seeded.first):
        assert sign_in(demo_client, address, password).status_code == 303, address
        page = demo_client.get("/dashboard").text
        demo_client.post("/logout", data={"csrf": csrf_from(page)})
    assert {role for role, _, _ in sign_ins(seeded.first)} == {
        "admin",
        "program manager",
        "governance owner",
        "auditor",
        "partner admin",
        "partner member",
    }


def test_run_demo_prints_where_to_sign_in(seeded, monkeypatch, capsys):
    monkeypatch.setenv("CHARTER_DATABASE_URL", seeded.url)
    monkeypatch.setenv("CHARTER_DATA_DIR", str(seeded.data_dir))
    # run_demo sets CHARTER_PUBLIC_URL when it is unset: setting it first makes monkeypatch
    # remember it was unset, so it is unset again after the test.
    monkeypatch.setenv("CHARTER_PUBLIC_URL", "unset after the test")
    monkeypatch.delenv("CHARTER_PUBLIC_URL")
    get_settings.cache_clear()
    try:
        run_demo(port=8123, serve=False)
        assert get_settings().public_url == "http://127.0.0.1:8123"
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "Reusing" in out
    assert ADMIN_EMAIL in out
    assert ADMIN_PASSWORD in out
    assert AUDITOR_EMAIL in out
    for url in ("/dashboard", "/api/docs", "/api/v1/health"):
        assert f"http://127.0.0.1:8123{url}" in out
    licensing = seeded.first.licensing
    assert f"{licensing.licenses} licenses ({licensing.licenses_by_status['active']} active" in out
    assert "1 approval pending" in out
    assert GOVERNANCE_EMAIL in out
    assert licensing.try_key is not None
    assert f'"key": "{licensing.try_key}"' in out
    assert "/api/v1/licenses/validate" in out


@pytest.fixture
def seeding_client(seeded: Seeded) -> Iterator[TestClient]:
    """The app with the settings the demo was seeded with (its deployment secret)."""
    settings = Settings(database_url=seeded.url, data_dir=seeded.data_dir)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    app.state.engine.dispose()


def test_the_demo_licenses_products_to_most_firms(seeded, demo_db):
    licensing = seeded.first.licensing
    assert licensing == seeded.second.licensing
    assert licensing.products == 3
    assert licensing.agreement_versions == 4  # the Edge agreement has a second version
    assert licensing.agreements >= 40
    by_status = licensing.licenses_by_status
    assert 200 <= licensing.licenses <= 400
    assert by_status["active"] > licensing.licenses / 2
    assert by_status["suspended"] >= 5
    assert by_status["revoked"] >= 5
    assert by_status["expired"] >= 3
    licensed_firms = demo_db.scalar(select(func.count(func.distinct(License.partner_id))))
    assert licensed_firms >= 30
    # The second Edge version named the firms that had signed the first, to be told.
    published = [
        event
        for event in demo_db.scalars(
            select(Event).where(Event.type == "agreement.version_published")
        )
        if event.payload["version"] == 2
    ]
    assert len(published) == 1
    published_v2 = published[0]
    assert len(published_v2.payload["partner_ids"]) >= 10


def test_the_demo_deployments_heartbeat_and_ended_licenses_hold_no_seat(seeded, demo_db):
    states = seeded.first.licensing.activations_by_state
    assert states["active"] >= 150
    assert states["reaped"] >= 1  # floating leases whose heartbeats stopped
    assert seeded.first.licensing.stale_activations > states["reaped"]
    kinds = set(demo_db.scalars(select(LicenseActivation.kind).distinct()))
    assert kinds == {"node_locked", "floating"}
    held_by_ended = demo_db.scalar(
        select(func.count())
        .select_from(LicenseActivation)
        .join(License, License.id == LicenseActivation.license_id)
        .where(
            LicenseActivation.state == "active",
            License.status.in_(["expired", "revoked", "terminated"]),
        )
    )
    assert held_by_ended == 0
    freed = demo_db.scalars(
        select(LicenseActivation.ended_reason).where(
            LicenseActivation.ended_reason.like("the license was expired:%")
        )
    ).all()
    assert freed


def test_the_demo_meters_usage_with_a_trend_and_one_license_over_its_cap(seeded, demo_db):
    licensing = seeded.first.licensing
    assert licensing.usage_records >= 300
    assert licensing.licenses_over_cap == 1
    [over] = demo_db.scalars(select(UsageCapPassed.license_id).distinct()).all()
    reported = list(
        demo_db.scalars(
            select(UsageRecord.quantity)
            .where(UsageRecord.license_id == over)
            .order_by(UsageRecord.occurred_at)
        )
    )
    assert len(reported) >= 20  # weekly, for months
    assert sum(reported[-4:]) > 1.1 * sum(reported[:4])  # use grows
    totals = list(demo_db.scalars(select(UsageRollup.total).where(UsageRollup.license_id == over)))
    assert sum(totals) == sum(reported)  # the monthly rollups count each record once
    assert max(totals) > 2_000_000  # the cap


def test_the_demo_has_grace_a_pending_approval_and_alerts(seeded, demo_db):
    licensing = seeded.first.licensing
    assert licensing.licenses_in_grace >= 1
    graced = demo_db.scalars(select(License).where(License.compliance == "grace")).all()
    assert any("NSEC" in line for license in graced for line in license.compliance_missing)
    assert all(license.grace_until is not None for license in graced)
    started = demo_db.scalars(select(Event.type).where(Event.type == "license.grace_started"))
    assert len(started.all()) >= len(graced)

    assert licensing.pending_approvals == 1
    [pending] = demo_db.scalars(
        select(ApprovalRequest).where(ApprovalRequest.state == "pending")
    ).all()
    assert pending.type == "license.territory"
    assert pending.proposed_change["add_regions"] == ["apac"]

    assert set(licensing.alerts_by_rule) == {
        "sharing",
        "activation_burst",
        "out_of_territory",
        "usage_spike",
        "use_after_revocation",
    }
    opened = demo_db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "license.alert_opened")
    )
    assert opened == sum(licensing.alerts_by_rule.values())


def test_the_printed_license_key_validates(seeded, seeding_client):
    licensing = seeded.first.licensing
    assert licensing.try_key is not None
    body = {"key": licensing.try_key, "product": licensing.try_product, "nonce": "try-it-0001"}

    answer = seeding_client.post("/api/v1/licenses/validate", json=body)

    assert answer.status_code == 200, answer.text
    assert answer.json()["valid"] is True
    assert answer.json()["code"] == "VALID"


def _urls_in(value: object, base: str) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_urls_in(item, base) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_urls_in(item, base) for item in value))
    if isinstance(value, str) and value.startswith(base + "/"):
        return {urlsplit(value).path}
    return set()


def test_every_url_in_the_demo_credentials_resolves(demo_client, demo_db):
    base = demo_client.app.state.settings.public_url.rstrip("/")
    # One credential of every certification, and one firm badge of every tier.
    people = demo_db.scalars(
        select(IssuedCredential.document).where(
            IssuedCredential.id.in_(
                select(func.min(IssuedCredential.id))
                .join(Award, Award.id == IssuedCredential.award_id)
                .group_by(Award.certification_id)
            )
        )
    ).all()
    firms = demo_db.scalars(
        select(TierBadge.document).where(
            TierBadge.id.in_(select(func.min(TierBadge.id)).group_by(TierBadge.tier))
        )
    ).all()
    demo_db.rollback()
    assert len(people) == 5
    assert len(firms) >= 3
    paths: set[str] = set()
    for document in [*people, *firms]:
        paths |= _urls_in(json.loads(document), base)
    assert {path.split("/")[1] for path in paths} >= {"achievements", "tiers", "partners"}
    for path in sorted(paths):
        assert demo_client.get(path, headers={"Accept": "text/html"}).status_code == 200, path
        if path.startswith(("/achievements/", "/tiers/", "/partners/")):
            for media_type in ("application/ld+json", "application/json"):
                document = demo_client.get(path, headers={"Accept": media_type})
                assert document.status_code == 200, (path, media_type)
                assert document.json()["id"] == base + path


def test_the_demo_directory_lists_most_active_firms(demo_client, demo_db):
    listed = demo_db.scalar(
        select(func.count()).select_from(Partner).where(Partner.listed.is_(True))
    )
    demo_db.rollback()
    assert listed is not None
    assert listed >= 30
    page = demo_client.get("/directory")
    assert page.status_code == 200
    assert page.text.count('class="card firm"') == 20
    assert 'rel="next"' in page.text
    elite = demo_client.get("/directory", params={"tier": "elite"})
    assert 'data-tier="elite"' in elite.text
    assert 'data-tier="authorized"' not in elite.text
