"""Licensing services on SQLite and PostgreSQL: signing, issuing, keys at rest, lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from charter.config import Settings
from charter.core.auth import Principal, Role
from charter.core.errors import Conflict, Forbidden, Invalid, NotFound, RequirementsNotMet
from charter.core.models import Event
from charter.licensing import agreements, keyformat, keystore, service
from charter.licensing.enums import AgreementStatus, LicenseStatus
from charter.licensing.models import Agreement, License
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.taxonomy_schemas import TaxonomyEntryCreate
from charter.tiers import service as tiers
from tests.credentials.factories import award
from tests.licensing.factories import license, new_version, product, sign, template, terms
from tests.partners.factories import partner, person
from tests.programs.factories import certification


def _partner_user(role: Role, firm: str) -> Principal:
    return Principal.for_user(user_id="usr_X", role=role, partner_id=firm, name="Partner user")


def _events(db, type_: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.type == type_).order_by(Event.seq)))


def test_issued_license_carries_a_working_key_that_is_never_stored(
    sessions, system, world, backend
):
    with sessions() as db, db.begin():
        issued, key = license(db, system, agreement_id=world.agreement)
        license_id = issued.id

    assert keyformat.normalize(key) == key
    with sessions() as db:
        dump = "\n".join(
            str(row)
            for table in ("licenses", "events", "agreements")
            for row in db.execute(text(f"SELECT * FROM {table}"))
        )
        assert key not in dump
        assert key.replace("-", "") not in dump
        stored = db.get(License, license_id)
        assert stored.key_prefix == key[:9]
        typed = key.lower().replace("-", " ").replace("0", "o")
        assert service.find_license_by_key(db, system, key=typed).id == license_id


def test_the_lookup_hash_is_keyed_by_the_deployment_secret(tmp_path):
    key = keyformat.generate()
    one = Settings(secret_key="one", data_dir=tmp_path)
    two = Settings(secret_key="two", data_dir=tmp_path)

    assert keystore.lookup_hash(one, key) != keystore.lookup_hash(two, key)
    assert keystore.lookup_hash(one, key) == keystore.lookup_hash(one, key)
    sealed = keystore.seal(one, "lic_A", key)
    assert keystore.unseal(one, "lic_A", sealed) == key
    with pytest.raises(keystore.SealedKeyError):
        keystore.unseal(one, "lic_B", sealed)  # bound to its license
    with pytest.raises(keystore.SealedKeyError):
        keystore.unseal(two, "lic_A", sealed)


def test_a_mistyped_key_is_refused_naming_the_field_and_an_unknown_one_is_not_found(
    sessions, system, world
):
    with sessions() as db, db.begin():
        _, key = license(db, system, agreement_id=world.agreement)
    body = key.replace("-", "")[3:]
    typo = ("1" if body[4] != "1" else "2").join([body[:4], body[5:]])
    with sessions() as db:
        with pytest.raises(Invalid) as caught:
            service.find_license_by_key(db, system, key=typo)
        assert caught.value.errors[0].field == "key"
        with pytest.raises(NotFound):
            service.find_license_by_key(db, system, key=keyformat.generate())


def test_entitlements_are_the_agreements_features_and_the_tiers_benefits(sessions, system, world):
    with sessions() as db, db.begin():
        issued, _ = license(db, system, agreement_id=world.agreement)
        # The firm holds Registered: its benefit joins the agreement's two features.
        assert issued.entitlements == ["analytics", "api_access", "partner_portal"]
        license_id = issued.id
    with sessions() as db, db.begin():
        cert = certification(db, system)
        award(
            db,
            system,
            person_id=person(db, system, partner_id=world.firm).id,
            certification_id=cert.id,
        )
        tiers.evaluate_firm(db, system, partner_id=world.firm)  # now Gold
        stored = db.get(License, license_id)
        assert service.refresh_entitlements(db, stored) is True
        assert stored.entitlements == ["analytics", "api_access", "priority_support"]
        assert service.refresh_entitlements(db, stored) is False
    with sessions() as db:
        [changed] = _events(db, "license.entitlements_changed")
        assert changed.payload["added"] == ["priority_support"]
        assert changed.payload["removed"] == ["partner_portal"]


def test_regions_and_countries_must_lie_within_the_territory(sessions, system, world):
    with sessions() as db, db.begin():
        with pytest.raises(Invalid) as caught:
            license(db, system, agreement_id=world.agreement, regions=["emea", "apac"])
        assert caught.value.errors[0].field == "regions.1"
        with pytest.raises(Invalid) as caught:
            license(db, system, agreement_id=world.agreement, countries=["US"])
        assert caught.value.errors[0].field == "countries.0"
        issued, _ = license(db, system, agreement_id=world.agreement, countries=["DE"])
        assert issued.regions == ["emea"]
        assert issued.countries == ["DE"]


def test_signing_needs_the_versions_requirements(sessions, system, world):
    with sessions() as db, db.begin():
        cert = certification(db, system)
        gated = template(
            db,
            system,
            product_id=world.product,
            requirements={"min_tier": "gold", "required_certifications": [cert.code]},
        )
    with sessions() as db, db.begin():
        with pytest.raises(RequirementsNotMet) as caught:
            sign(db, system, partner_id=world.firm, template_id=gated.id)
        assert caught.value.unmet == [
            "tier Gold or higher (holds Registered)",
            f"a person certified in {cert.code}",
        ]
    with sessions() as db, db.begin():
        holder = person(db, system, partner_id=world.firm)
        award(db, system, person_id=holder.id, certification_id=cert.id)
        tiers.evaluate_firm(db, system, partner_id=world.firm)
        signed = sign(db, system, partner_id=world.firm, template_id=gated.id)
        assert signed.version == 1
        [event] = [e for e in _events(db, "agreement.signed") if e.subject_id == signed.id]
        assert event.payload["signer_name"] == "Dana Signer"
        assert event.partner_id == world.firm


def test_a_new_version_names_the_firms_it_affects_and_signing_it_supersedes(
    sessions, system, world, frozen_clock
):
    with sessions() as db, db.begin():
        bystander = partner(db, system, status="active")
        version = new_version(db, system, template_id=world.template)
    with sessions() as db:
        [published] = [
            e for e in _events(db, "agreement.version_published") if e.subject_id == version.id
        ]
        assert published.payload["partner_ids"] == [world.firm]
        assert published.payload["previous_version"] == 1
        assert bystander.id not in published.payload["partner_ids"]
    with sessions() as db, db.begin():
        newer = sign(db, system, partner_id=world.firm, template_id=world.template)
        assert newer.version == 2
        older = db.get(Agreement, world.agreement)
        assert older.status == AgreementStatus.SUPERSEDED.value
        assert older.superseded_by == newer.id
        with pytest.raises(Conflict, match="already signed"):
            sign(db, system, partner_id=world.firm, template_id=world.template)


def test_versions_are_never_dated_before_the_latest(sessions, system, world, frozen_clock):
    with sessions() as db, db.begin():
        new_version(
            db,
            system,
            template_id=world.template,
            effective_from=(frozen_clock.now() + timedelta(days=30)).isoformat(),
        )
        with pytest.raises(Invalid) as caught:
            new_version(db, system, template_id=world.template)
        assert caught.value.errors[0].field == "effective_from"


def test_terms_may_only_grant_the_products_features(sessions, system, world):
    from tests.licensing.factories import terms

    with sessions() as db, db.begin():
        with pytest.raises(Invalid) as caught:
            new_version(
                db,
                system,
                template_id=world.template,
                terms=terms(features=["analytics", "teleportation"]),
            )
        assert caught.value.errors[0].field == "terms.features.1"


def test_lifecycle_changes_are_events_with_their_reasons(sessions, system, world):
    with sessions() as db, db.begin():
        issued, _ = license(db, system, agreement_id=world.agreement)
        license_id = issued.id
    with sessions() as db, db.begin():
        service.suspend_license(db, system, license_id=license_id, reason="unpaid invoice")
        service.reinstate_license(db, system, license_id=license_id, reason="invoice paid")
        revoked = service.revoke_license(db, system, license_id=license_id, reason="key leaked")
        assert revoked.status == LicenseStatus.REVOKED.value
        with pytest.raises(Conflict, match="revoked cannot be reinstated"):
            service.reinstate_license(db, system, license_id=license_id, reason="oops")
    with sessions() as db:
        changes = [
            (e.type, e.payload["from_status"], e.payload["to_status"], e.payload["reason"])
            for e in db.scalars(
                select(Event).where(Event.subject_id == license_id).order_by(Event.seq)
            )
            if e.type != "license.issued"
        ]
    assert changes == [
        ("license.suspended", "active", "suspended", "unpaid invoice"),
        ("license.reinstated", "suspended", "active", "invoice paid"),
        ("license.revoked", "active", "revoked", "key leaked"),
    ]


def test_expiry_is_recorded_and_renewal_brings_a_license_back(
    sessions, system, world, frozen_clock
):
    with sessions() as db, db.begin():
        issued, _ = license(db, system, agreement_id=world.agreement)
        license_id, end = issued.id, issued.valid_until
    assert end == frozen_clock.now().replace(year=frozen_clock.now().year + 1)
    frozen_clock.advance(timedelta(days=366))
    with sessions() as db, db.begin():
        assert service.status_of(db.get(License, license_id)) is LicenseStatus.EXPIRED
        assert service.expire_due_licenses(db, system) == 1
        assert service.expire_due_licenses(db, system) == 0
        renewed = service.renew_license(db, system, license_id=license_id)
        assert renewed.status == LicenseStatus.ACTIVE.value
        assert renewed.valid_until == frozen_clock.now().replace(year=frozen_clock.now().year + 1)
    with sessions() as db:
        [expired] = _events(db, "license.expired")
        [renewal] = _events(db, "license.renewed")
        assert expired.payload["reason"] == "its term ended"
        assert renewal.payload["from_status"] == "expired"


def test_partner_users_see_only_their_firms_licenses_and_only_admins_read_keys(
    sessions, system, world
):
    with sessions() as db, db.begin():
        issued, key = license(db, system, agreement_id=world.agreement)
        other = partner(db, system, status="active")
    admin = _partner_user(Role.PARTNER_ADMIN, world.firm)
    member = _partner_user(Role.PARTNER_MEMBER, world.firm)
    stranger = _partner_user(Role.PARTNER_ADMIN, other.id)
    with sessions() as db, db.begin():
        assert service.get_license(db, member, license_id=issued.id).id == issued.id
        assert service.reveal_key(db, admin, license_id=issued.id) == key
        with pytest.raises(Forbidden):
            service.reveal_key(db, member, license_id=issued.id)
        with pytest.raises(NotFound):
            service.get_license(db, stranger, license_id=issued.id)
        with pytest.raises(NotFound):
            service.reveal_key(db, stranger, license_id=issued.id)
        assert service.list_licenses(db, stranger).items == []
        assert [row["id"] for row in service.list_licenses(db, member).items] == [issued.id]
        [viewed] = _events(db, "license.key_viewed")
        assert key not in str(viewed.payload)


def test_a_suspended_firm_gets_no_license_and_cannot_sign(sessions, system, world):
    with sessions() as db, db.begin():
        idle = partner(db, system, status="suspended")
        with pytest.raises(Conflict, match="cannot sign"):
            sign(db, system, partner_id=idle.id, template_id=world.template)
    with sessions() as db, db.begin():
        fresh = partner(db, system, status="onboarding")
        signed = sign(db, system, partner_id=fresh.id, template_id=world.template)
        with pytest.raises(Conflict, match="licenses go to active firms"):
            license(db, system, agreement_id=signed.id)


def test_a_partner_admin_signs_for_their_own_firm_only(sessions, system, world):
    with sessions() as db, db.begin():
        other = partner(db, system, status="active")
        offer = template(db, system, product_id=product(db, system).id)
    admin = _partner_user(Role.PARTNER_ADMIN, world.firm)
    member = _partner_user(Role.PARTNER_MEMBER, world.firm)
    with sessions() as db, db.begin():
        with pytest.raises(NotFound):
            sign(db, admin, partner_id=other.id, template_id=offer.id)
        with pytest.raises(Forbidden):
            sign(db, member, partner_id=world.firm, template_id=offer.id)
        signed = sign(db, admin, partner_id=world.firm, template_id=offer.id)
        assert signed.signed_by == "usr_X"
        page = agreements.list_agreements(db, member)
        assert {row["id"] for row in page.items} == {world.agreement, signed.id}


def test_a_territory_names_regions_of_the_programs_taxonomy(sessions, system):
    with sessions() as db, db.begin():
        made = product(db, system)
        with pytest.raises(Invalid) as caught:
            template(
                db,
                system,
                product_id=made.id,
                terms=terms(territory={"regions": ["mars"], "countries": []}),
            )
        assert caught.value.errors[0].field == "version.terms.territory.regions"
        with pytest.raises(Invalid) as caught:
            template(
                db, system, product_id=made.id, requirements={"min_certified_by_track": {"x": 1}}
            )
        assert caught.value.errors[0].field == "version.requirements.min_certified_by_track"
        taxonomy.add_entry(
            db,
            system,
            data=TaxonomyEntryCreate(kind=TaxonomyKind.REGION, code="mars", label="Mars"),
        )
        created = template(
            db,
            system,
            product_id=made.id,
            terms=terms(territory={"regions": ["mars"], "countries": []}),
        )
        assert created.id.startswith("agt_")
