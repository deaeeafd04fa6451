"""Every API route, called by every role: the allowed/denied matrix.

The expected matrix is written out here, route by route, as the product's access policy. A
route missing from it fails the test, so a new route cannot ship without a decision. Allowed
calls are made with valid input on the caller's own firm and must succeed (2xx); denied calls
must be refused (403, or 404 for partner users, who may not learn what exists elsewhere).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest

from charter.accounts import service as accounts
from charter.app import create_app
from charter.approvals import service as approvals
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Principal, Role
from charter.credentials import service as awards
from charter.licensing import keyformat
from charter.partners import invitations
from charter.partners.schemas import PersonCreate
from tests.approvals import types as approval_types
from tests.credentials.factories import award
from tests.licensing.factories import terms as licensing_terms
from tests.partners.factories import partner, person
from tests.programs.factories import assessment, certification, passing_evidence

A, PM, GOV, AUD, PADM, PMEM = (
    Role.ADMIN,
    Role.PROGRAM_MANAGER,
    Role.GOVERNANCE_OWNER,
    Role.AUDITOR,
    Role.PARTNER_ADMIN,
    Role.PARTNER_MEMBER,
)
EVERYONE = frozenset(Role)
STAFF = frozenset({A, PM, GOV, AUD})
MANAGERS = frozenset({A, PM})
FIRM_EDITORS = MANAGERS | {PADM}

# (method, path) -> roles allowed to call it.
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("POST", "/api/v1/users"): frozenset({A}),
    ("GET", "/api/v1/users"): frozenset({A}),
    # Anyone may check a badge, signed in or not.
    ("POST", "/api/v1/verify"): EVERYONE,
    ("GET", "/api/v1/users/me"): EVERYONE,
    ("POST", "/api/v1/api-keys"): EVERYONE,
    ("GET", "/api/v1/api-keys"): EVERYONE,
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): EVERYONE,
    # Another user's password, role and access are the admins'; one's own sessions are one's own.
    ("POST", "/api/v1/users/{user_id}/password"): frozenset({A}),
    ("POST", "/api/v1/users/{user_id}/role"): frozenset({A}),
    ("POST", "/api/v1/users/{user_id}/disable"): frozenset({A}),
    ("POST", "/api/v1/users/{user_id}/enable"): frozenset({A}),
    ("GET", "/api/v1/users/{user_id}/sessions"): EVERYONE,
    ("POST", "/api/v1/users/{user_id}/sessions/end"): EVERYONE,
    ("GET", "/api/v1/events"): STAFF,
    ("GET", "/api/v1/events/verify"): STAFF,
    ("POST", "/api/v1/partners"): MANAGERS,
    ("GET", "/api/v1/partners"): EVERYONE,
    ("GET", "/api/v1/partners/{partner_id}"): EVERYONE,
    ("PATCH", "/api/v1/partners/{partner_id}"): FIRM_EDITORS,
    ("PATCH", "/api/v1/partners/{partner_id}/listing"): FIRM_EDITORS,
    ("POST", "/api/v1/partners/{partner_id}/status"): MANAGERS,
    ("PUT", "/api/v1/partners/{partner_id}/onboarding/{check}"): MANAGERS,
    ("GET", "/api/v1/partners/{partner_id}/people"): EVERYONE,
    ("POST", "/api/v1/people"): FIRM_EDITORS,
    ("GET", "/api/v1/people"): EVERYONE,
    ("GET", "/api/v1/people/{person_id}"): EVERYONE,
    ("PATCH", "/api/v1/people/{person_id}"): FIRM_EDITORS,
    ("POST", "/api/v1/people/{person_id}/emails"): FIRM_EDITORS,
    ("DELETE", "/api/v1/people/{person_id}/emails/{email}"): FIRM_EDITORS,
    # Moving someone in from another firm is the vendor's call: a partner cannot see them.
    ("POST", "/api/v1/people/{person_id}/join"): MANAGERS,
    ("POST", "/api/v1/people/{person_id}/leave"): FIRM_EDITORS,
    ("GET", "/api/v1/people/{person_id}/employments"): EVERYONE,
    ("GET", "/api/v1/people/{person_id}/eligibility"): EVERYONE,
    # Invitations a firm sent, to addresses it typed itself: its people may see them.
    ("GET", "/api/v1/partners/{partner_id}/invitations"): EVERYONE,
    ("GET", "/api/v1/invitations/{invitation_id}"): EVERYONE,
    ("POST", "/api/v1/invitations/{invitation_id}/cancel"): FIRM_EDITORS,
    ("POST", "/api/v1/certifications"): MANAGERS,
    ("GET", "/api/v1/certifications"): EVERYONE,
    ("GET", "/api/v1/certifications/{certification_id}"): EVERYONE,
    ("PATCH", "/api/v1/certifications/{certification_id}"): MANAGERS,
    ("POST", "/api/v1/certifications/{certification_id}/retire"): MANAGERS,
    ("POST", "/api/v1/certifications/{certification_id}/criteria"): MANAGERS,
    ("GET", "/api/v1/certifications/{certification_id}/criteria"): EVERYONE,
    ("POST", "/api/v1/assessments"): MANAGERS,
    ("GET", "/api/v1/assessments"): EVERYONE,
    ("GET", "/api/v1/assessments/{assessment_id}"): EVERYONE,
    ("POST", "/api/v1/awards"): MANAGERS,
    ("POST", "/api/v1/awards/batch"): MANAGERS,
    ("GET", "/api/v1/awards"): EVERYONE,
    ("GET", "/api/v1/awards/{award_id}"): EVERYONE,
    ("POST", "/api/v1/awards/{award_id}/revoke"): MANAGERS | {GOV},
    ("POST", "/api/v1/awards/{award_id}/suspend"): MANAGERS | {GOV},
    ("POST", "/api/v1/awards/{award_id}/reinstate"): MANAGERS | {GOV},
    ("POST", "/api/v1/awards/{award_id}/renew"): MANAGERS,
    # Webhook endpoints receive every firm's events: the vendor's integrators only.
    ("POST", "/api/v1/webhooks"): MANAGERS,
    ("GET", "/api/v1/webhooks"): MANAGERS,
    ("GET", "/api/v1/webhooks/{endpoint_id}"): MANAGERS,
    ("PATCH", "/api/v1/webhooks/{endpoint_id}"): MANAGERS,
    ("POST", "/api/v1/webhooks/{endpoint_id}/rotate-secret"): MANAGERS,
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries"): MANAGERS,
    ("GET", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): MANAGERS,
    ("POST", "/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay"): MANAGERS,
    ("POST", "/api/v1/tier-schemes"): MANAGERS,
    ("GET", "/api/v1/tier-schemes"): EVERYONE,
    ("POST", "/api/v1/track-records"): MANAGERS,
    ("GET", "/api/v1/partners/{partner_id}/track-records"): EVERYONE,
    ("GET", "/api/v1/partners/{partner_id}/tiers"): EVERYONE,
    ("POST", "/api/v1/partners/{partner_id}/tiers/evaluate"): MANAGERS,
    ("GET", "/api/v1/tier-forecast"): EVERYONE,
    ("GET", "/api/v1/firm-tiers"): EVERYONE,
    ("POST", "/api/v1/partners/{partner_id}/terminate"): MANAGERS,
    # Firm badges are public, like credential pages: anyone may fetch and verify one.
    ("GET", "/api/v1/tier-badges/{badge_id}"): EVERYONE,
    # Program managers and partner admins ask for exceptions; governance owners and admins
    # decide them (never their own); the requester, their firm's admin or an admin withdraws.
    ("POST", "/api/v1/approvals"): MANAGERS | {PADM},
    ("GET", "/api/v1/approvals"): EVERYONE,
    ("GET", "/api/v1/approvals/{approval_id}"): EVERYONE,
    ("POST", "/api/v1/approvals/{approval_id}/approve"): frozenset({A, GOV}),
    ("POST", "/api/v1/approvals/{approval_id}/reject"): frozenset({A, GOV}),
    ("POST", "/api/v1/approvals/{approval_id}/withdraw"): frozenset({A, PADM}),
    ("GET", "/api/v1/approval-types"): EVERYONE,
    ("PUT", "/api/v1/approval-types/{type_name}/owners"): frozenset({A}),
    # Licensing: the catalogue is the vendor's and everyone reads it; a firm's agreements and
    # licenses are its own; its admin signs for it and may read its license keys again.
    ("POST", "/api/v1/products"): MANAGERS,
    ("GET", "/api/v1/products"): EVERYONE,
    ("GET", "/api/v1/products/{product_id}"): EVERYONE,
    ("POST", "/api/v1/agreement-templates"): MANAGERS,
    ("GET", "/api/v1/agreement-templates"): EVERYONE,
    ("GET", "/api/v1/agreement-templates/{template_id}"): EVERYONE,
    ("POST", "/api/v1/agreement-templates/{template_id}/versions"): MANAGERS,
    ("GET", "/api/v1/agreement-templates/{template_id}/versions"): EVERYONE,
    ("POST", "/api/v1/partners/{partner_id}/agreements"): FIRM_EDITORS,
    ("GET", "/api/v1/agreements"): EVERYONE,
    ("GET", "/api/v1/agreements/{agreement_id}"): EVERYONE,
    ("POST", "/api/v1/licenses"): MANAGERS,
    ("GET", "/api/v1/licenses"): EVERYONE,
    ("GET", "/api/v1/licenses/{license_id}"): EVERYONE,
    ("POST", "/api/v1/licenses/{license_id}/key"): FIRM_EDITORS,
    ("POST", "/api/v1/licenses/{license_id}/suspend"): MANAGERS,
    ("POST", "/api/v1/licenses/{license_id}/reinstate"): MANAGERS,
    ("POST", "/api/v1/licenses/{license_id}/revoke"): MANAGERS,
    ("POST", "/api/v1/licenses/{license_id}/renew"): MANAGERS,
    # Licensed software activates with its license key, whoever else the caller is; the firm
    # sees its deployments, and the vendor's managers free a seat.
    ("POST", "/api/v1/licenses/activate"): EVERYONE,
    ("POST", "/api/v1/licenses/deactivate"): EVERYONE,
    ("POST", "/api/v1/licenses/heartbeat"): EVERYONE,
    ("GET", "/api/v1/licenses/{license_id}/activations"): EVERYONE,
    ("POST", "/api/v1/licenses/{license_id}/activations/{activation_id}/deactivate"): MANAGERS,
    # A license's offline token: whoever may read the license. Validation is public (the key
    # is the credential), so every role, signed in or not, gets an answer.
    ("GET", "/api/v1/licenses/{license_id}/token"): EVERYONE,
    ("POST", "/api/v1/licenses/validate"): EVERYONE,
    # Anomaly alerts: read like licenses (partner users their own firm's), handled by managers.
    ("GET", "/api/v1/license-alerts"): EVERYONE,
    ("GET", "/api/v1/license-alerts/{alert_id}"): EVERYONE,
    ("POST", "/api/v1/license-alerts/{alert_id}/acknowledge"): MANAGERS,
    ("POST", "/api/v1/license-alerts/{alert_id}/resolve"): MANAGERS,
    # Usage of a firm's licenses: reported by its admin's integration (or the licensed software
    # with its key), read by everyone who may read the license.
    ("POST", "/api/v1/usage"): FIRM_EDITORS,
    ("GET", "/api/v1/licenses/{license_id}/usage"): EVERYONE,
    # Program reports span every firm: vendor staff only (partner users are told none exist).
    ("GET", "/api/v1/reports/{name}"): STAFF,
    # The program's tracks, regions and partner types: everyone reads them (forms need them);
    # program managers and admins change them.
    ("GET", "/api/v1/program/taxonomy"): EVERYONE,
    ("POST", "/api/v1/program/taxonomy"): MANAGERS,
    ("PATCH", "/api/v1/program/taxonomy/{kind}/{code}"): MANAGERS,
    ("POST", "/api/v1/program/taxonomy/{kind}/{code}/retire"): MANAGERS,
    ("PUT", "/api/v1/program/taxonomy/{kind}/order"): MANAGERS,
}

_unique = itertools.count(1)
MATRIX_FINGERPRINT = "matrix-machine-01"


@dataclass
class World:
    """Two firms with people, a certification, evidence and awards in several states."""

    firm: str
    other_firm: str
    person: str
    other_person: str
    joiner: str  # works at the other firm, ready to move to ours
    candidate: str  # has passing evidence, no award yet
    certification: str
    assessment: str
    award: str
    other_award: str
    suspended_award: str
    renewable_award: str
    person_email: str
    spare_email: str
    webhook_endpoint: str = ""
    webhook_delivery: str = ""
    tier_badge: str = ""  # the firm's badge for the tier it holds
    staff_user: str = ""  # a program manager, whom admins may change
    approval: str = ""  # a pending request about the firm, made by the system
    invitation: str = ""  # a pending invitation from the firm
    product: str = ""
    template: str = ""  # signed by the firm, with licenses under it
    unsigned_template: str = ""  # for the firm to sign
    agreement: str = ""
    license: str = ""
    suspended_license: str = ""
    license_key: str = ""
    activation: str = ""  # of the license, by the fingerprint MATRIX_FINGERPRINT
    alert: str = ""  # an open anomaly alert on the license


def _build(sessions, frozen_clock) -> World:
    system = Principal.system("matrix")
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        other = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        other_holder = person(db, system, partner_id=other.id)
        joiner = person(db, system, partner_id=other.id)
        candidate = person(db, system, partner_id=firm.id)
        cert = certification(db, system)
        renewable_cert = certification(db, system)
        early = award(db, system, person_id=holder.id, certification_id=renewable_cert.id)
        frozen_clock.advance(timedelta(days=330))  # now inside early's 60-day renewal window
        main_award = award(db, system, person_id=holder.id, certification_id=cert.id)
        other_award = award(db, system, person_id=other_holder.id, certification_id=cert.id)
        suspended = award(db, system, person_id=joiner.id, certification_id=cert.id)
        awards.suspend_award(db, system, award_id=suspended.id, reason="matrix")
        passing_evidence(db, system, person_id=candidate.id, certification_id=cert.id)
        # Evidence for renewing ``early`` under the criteria in force now.
        passing_evidence(db, system, person_id=holder.id, certification_id=renewable_cert.id)
        evidence = assessment(db, system, person_id=holder.id)
        spare = f"spare.{next(_unique)}@example.com"
        from charter.partners import people as partners

        partners.add_person_email(db, system, person_id=holder.id, email=spare)
        from charter.core import events
        from charter.webhooks import service as webhooks
        from charter.webhooks.schemas import EndpointCreate

        endpoint, _ = webhooks.create_endpoint(
            db,
            system,
            db.info["settings"],
            data=EndpointCreate(url="https://crm.example.com/hooks", event_types=["*"]),
        )
        [delivery] = webhooks.fan_out(db, events.append(db, system, "partner.noted", firm))
        from charter.tiers import schemes
        from charter.tiers import service as tiers
        from charter.tiers.models import FirmTier
        from charter.tiers.schemas import SchemeCreate

        tier = {"key": "registered", "name": "Registered", "rank": 1}
        schemes.publish_scheme(db, system, data=SchemeCreate.model_validate({"tiers": [tier]}))
        tiers.evaluate_firm(db, system, partner_id=firm.id)
        standing = db.get(FirmTier, (firm.id, "default"))
        from tests.licensing.factories import license, product, sign, template

        made = product(db, system)
        offer = template(db, system, product_id=made.id)
        unsigned = template(db, system, product_id=made.id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        issued, license_key = license(db, system, agreement_id=agreement.id)
        from charter.licensing import activations

        activation, _ = activations.activate(
            db,
            key=license_key,
            fingerprint=MATRIX_FINGERPRINT,
            region="emea",
            customer_name="Matrix Customer",
        )
        from charter.licensing import alerts
        from charter.licensing.anomalies import Finding, Rule, Severity

        alert = alerts.raise_alert(
            db,
            system,
            license_id=issued.id,
            finding=Finding(Rule.SHARING, Severity.MEDIUM, {"distinct_fingerprints": 30}),
            at=clock.now(),
        )
        held, _ = license(db, system, agreement_id=agreement.id)
        from charter.licensing import service as licensing

        licensing.suspend_license(db, system, license_id=held.id, reason="matrix")
        staff = accounts.create_user(
            db,
            system,
            email=f"staff.{next(_unique)}@example.com",
            display_name="Staff",
            role=Role.PROGRAM_MANAGER,
            password="a long staff password",
        )
        pending = approvals.request_approval(
            db,
            system,
            type=approval_types.WEBSITE,
            subject_type="partner",
            subject_id=firm.id,
            partner_id=firm.id,
            justification="The firm moved its site.",
            proposed_change={"website": "https://moved.example"},
        )
        invited = invitations.invite_person(
            db,
            system,
            data=PersonCreate(
                given_name="Invited",
                family_name="Person",
                track="sales",
                partner_id=firm.id,
                emails=[f"invited.{next(_unique)}@example.com"],
            ),
        )
        return World(
            approval=pending.id,
            invitation=invited.id,
            firm=firm.id,
            other_firm=other.id,
            person=holder.id,
            other_person=other_holder.id,
            joiner=joiner.id,
            candidate=candidate.id,
            certification=cert.id,
            assessment=evidence.id,
            award=main_award.id,
            other_award=other_award.id,
            suspended_award=suspended.id,
            renewable_award=early.id,
            person_email=holder.emails[0],
            spare_email=spare,
            webhook_endpoint=endpoint.id,
            webhook_delivery=delivery.id,
            tier_badge=standing.badge_id if standing and standing.badge_id else "",
            staff_user=staff.id,
            product=made.id,
            template=offer.id,
            unsigned_template=unsigned.id,
            agreement=agreement.id,
            license=issued.id,
            suspended_license=held.id,
            license_key=license_key,
            activation=activation.id,
            alert=alert.id,
        )


def _request(route: tuple[str, str], world: World, own_key: str) -> tuple[str, dict | None]:
    """The concrete URL and a valid body for calling ``route`` on the caller's own firm."""
    n = next(_unique)
    _, path = route
    award_for = {
        "revoke": world.award,
        "suspend": world.award,
        "reinstate": world.suspended_award,
        "renew": world.renewable_award,
    }
    action = path.rsplit("/", 1)[-1]
    license_for = {"reinstate": world.suspended_license}
    url = path.format(
        product_id=world.product,
        template_id=world.template,
        agreement_id=world.agreement,
        license_id=license_for.get(action, world.license),
        key_id=own_key,
        partner_id=world.firm,
        check="eligibility",
        person_id=world.joiner if action == "join" else world.person,
        email=world.spare_email,
        certification_id=world.certification,
        assessment_id=world.assessment,
        award_id=award_for.get(action, world.award),
        endpoint_id=world.webhook_endpoint,
        delivery_id=world.webhook_delivery,
        badge_id=world.tier_badge,
        user_id="me" if "/sessions" in path else world.staff_user,
        approval_id=world.approval,
        type_name=approval_types.WEBSITE,
        invitation_id=world.invitation,
        activation_id=world.activation,
        alert_id=world.alert,
        name="renewals",
        kind="track",
        code="specialty",
    )
    today = clock.now().isoformat()
    bodies: dict[tuple[str, str], dict] = {
        ("POST", "/api/v1/users"): {
            "email": f"new.{n}@example.com",
            "display_name": "New",
            "role": "auditor",
            "password": "p" * 16,
        },
        ("POST", "/api/v1/api-keys"): {"name": f"key {n}"},
        ("POST", "/api/v1/users/{user_id}/password"): {"new_password": f"a new password {n}"},
        ("POST", "/api/v1/users/{user_id}/role"): {"role": "auditor"},
        ("POST", "/api/v1/verify"): {
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
            }
        },
        ("POST", "/api/v1/partners"): {
            "name": f"Firm {n}",
            "type": "reseller",
            "regions": ["na"],
            "country": "US",
        },
        ("PATCH", "/api/v1/partners/{partner_id}"): {"website": f"https://firm{n}.example"},
        ("PATCH", "/api/v1/partners/{partner_id}/listing"): {"listed": True},
        ("POST", "/api/v1/program/taxonomy"): {"kind": "track", "code": f"t{n}", "label": "New"},
        ("PATCH", "/api/v1/program/taxonomy/{kind}/{code}"): {"label": "Specialist"},
        ("PUT", "/api/v1/program/taxonomy/{kind}/order"): {
            "codes": ["specialty", "support", "technical", "sales"]
        },
        ("POST", "/api/v1/partners/{partner_id}/status"): {
            "status": "suspended",
            "reason": "late payment",
        },
        ("PUT", "/api/v1/partners/{partner_id}/onboarding/{check}"): {"done": True},
        ("POST", "/api/v1/people"): {
            "given_name": "Ada",
            "family_name": "Byron",
            "track": "technical",
            "partner_id": world.firm,
            "emails": [f"ada.{n}@example.com"],
        },
        # The holder DID is an ordinary person field: the same people who edit a person set it.
        ("PATCH", "/api/v1/people/{person_id}"): {
            "track": "support",
            "did": f"did:web:ada{n}.example",
        },
        ("POST", "/api/v1/people/{person_id}/emails"): {"email": f"extra.{n}@example.com"},
        ("POST", "/api/v1/people/{person_id}/join"): {"partner_id": world.firm},
        ("POST", "/api/v1/certifications"): {
            "code": f"NEW-{n}",
            "name": "New certification",
            "track": "sales",
            "level": "associate",
            "validity_days": 365,
            "renewal_window_days": 30,
            "criteria": {"narrative": "Pass the exam.", "requirements": {}},
        },
        ("PATCH", "/api/v1/certifications/{certification_id}"): {"name": "Renamed"},
        ("POST", "/api/v1/certifications/{certification_id}/criteria"): {
            "narrative": "Pass the new exam.",
            "requirements": {},
        },
        ("POST", "/api/v1/assessments"): {
            "person_id": world.person,
            "kind": "training",
            "code": "TR-1",
            "passed": True,
            "assessor": "LMS",
            "occurred_at": today,
        },
        ("POST", "/api/v1/awards"): {
            "person_id": world.candidate,
            "certification_id": world.certification,
        },
        ("POST", "/api/v1/awards/batch"): {
            "items": [{"person_id": world.candidate, "certification_id": world.certification}]
        },
        ("POST", "/api/v1/awards/{award_id}/revoke"): {"reason": "fraud"},
        ("POST", "/api/v1/awards/{award_id}/suspend"): {"reason": "investigation"},
        ("POST", "/api/v1/awards/{award_id}/reinstate"): {},
        ("POST", "/api/v1/awards/{award_id}/renew"): {},
        ("POST", "/api/v1/webhooks"): {
            "url": f"https://crm{n}.example.com/hooks",
            "event_types": ["award.*"],
        },
        ("PATCH", "/api/v1/webhooks/{endpoint_id}"): {"description": f"CRM {n}"},
        ("POST", "/api/v1/tier-schemes"): {
            "tiers": [{"key": "registered", "name": "Registered", "rank": 1}]
        },
        ("POST", "/api/v1/track-records"): {
            "partner_id": world.firm,
            "metric": "deployments",
            "value": 3,
        },
        ("POST", "/api/v1/partners/{partner_id}/terminate"): {"reason": "breach of contract"},
        ("POST", "/api/v1/approvals"): {
            # Another type than the world's pending request: one pending per type and subject.
            "type": approval_types.REFUSED,
            "subject_type": "partner",
            "subject_id": world.firm,
            "partner_id": world.firm,
            "justification": "Our site moved.",
            "proposed_change": {"website": f"https://moved{n}.example"},
        },
        ("POST", "/api/v1/approvals/{approval_id}/reject"): {"reason": "not verified"},
        ("PUT", "/api/v1/approval-types/{type_name}/owners"): {"user_ids": []},
        ("POST", "/api/v1/products"): {"code": f"PRD-{n}", "name": "Product"},
        ("POST", "/api/v1/agreement-templates"): {
            "code": f"AGT-{n}",
            "name": "Agreement",
            "product_id": world.product,
            "version": {"terms": licensing_terms()},
        },
        ("POST", "/api/v1/agreement-templates/{template_id}/versions"): {
            "terms": licensing_terms()
        },
        ("POST", "/api/v1/partners/{partner_id}/agreements"): {
            "template_id": world.unsigned_template,
            "signer_name": "Dana Signer",
            "signer_email": "dana@example.com",
        },
        ("POST", "/api/v1/licenses"): {"agreement_id": world.agreement, "seats": 5},
        ("POST", "/api/v1/licenses/{license_id}/suspend"): {"reason": "unpaid"},
        ("POST", "/api/v1/licenses/{license_id}/reinstate"): {"reason": "paid"},
        ("POST", "/api/v1/licenses/{license_id}/revoke"): {"reason": "breach"},
        ("POST", "/api/v1/licenses/{license_id}/renew"): {},
        ("POST", "/api/v1/licenses/activate"): {
            "key": world.license_key,
            "fingerprint": f"matrix-node-{n:06d}",
            "region": "emea",
            "customer_name": "Matrix Customer",
        },
        ("POST", "/api/v1/licenses/deactivate"): {
            "key": world.license_key,
            "fingerprint": MATRIX_FINGERPRINT,
        },
        ("POST", "/api/v1/licenses/heartbeat"): {
            "key": world.license_key,
            "fingerprint": MATRIX_FINGERPRINT,
        },
        ("POST", "/api/v1/licenses/{license_id}/activations/{activation_id}/deactivate"): {
            "reason": "hardware replaced"
        },
        ("POST", "/api/v1/license-alerts/{alert_id}/resolve"): {"note": "a build farm"},
        ("POST", "/api/v1/licenses/validate"): {
            "key": keyformat.generate(),
            "product": "PLAT",
            "nonce": f"matrix-{n:04d}",
        },
        ("POST", "/api/v1/usage"): {
            "records": [
                {
                    "license_id": world.license,
                    "metric": "api_calls",
                    "quantity": 3,
                    "occurred_at": today,
                    "record_id": f"matrix-{n}",
                }
            ]
        },
    }
    if route == ("GET", "/api/v1/people/{person_id}/eligibility"):
        url += f"?certification_id={world.certification}"
    return url, bodies.get(route)


def _api_routes(app) -> set[tuple[str, str]]:
    found = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith("/api/v1/")
    }
    found.discard(("GET", "/api/v1/health"))
    return found


def test_every_api_route_has_a_decision(tmp_path):
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/x.db", secret_key="k", data_dir=tmp_path)
    )
    routes = _api_routes(app)
    assert routes - set(MATRIX) == set(), "routes without an access decision"
    assert set(MATRIX) - routes == set(), "decisions for routes that do not exist"


def _login(sessions, role: Role, firm: str):
    system = Principal.system("matrix")
    with sessions() as db, db.begin():
        user = accounts.create_user(
            db,
            system,
            email=f"{role.value}.{next(_unique)}@example.com",
            display_name=role.value,
            role=role,
            password=None,
            partner_id=firm if role.is_partner_role else None,
        )
        _, token = accounts.create_api_key(db, system, user_id=user.id, name="main")
        spare, _ = accounts.create_api_key(db, system, user_id=user.id, name="spare")
        return {"Authorization": f"Bearer {token}"}, spare.id


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda route: f"{route[0]} {route[1]}")
def test_role_matrix(route, role, client, sessions, frozen_clock):
    world = _build(sessions, frozen_clock)
    headers, own_key = _login(sessions, role, world.firm)
    url, body = _request(route, world, own_key)

    response = client.request(route[0], url, json=body, headers=headers)

    if role in MATRIX[route]:
        assert response.is_success, f"{role.value} should be allowed: {response.text}"
    else:
        denied = {403, 404} if role.is_partner_role else {403}
        assert response.status_code in denied, f"{role.value} should be denied: {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json")


SCOPED = sorted(
    route
    for route, roles in MATRIX.items()
    if PADM in roles
    and "{" in route[1]
    # Keys and sessions are personal and certifications are the vendor's public catalogue:
    # not firm data.
    and not route[1].startswith(
        (
            "/api/v1/api-keys",
            "/api/v1/users",
            "/api/v1/certifications",
            "/api/v1/tier-badges",
            "/api/v1/products",
            "/api/v1/agreement-templates",
        )
    )
)


@pytest.mark.parametrize("route", SCOPED, ids=lambda route: f"{route[0]} {route[1]}")
def test_partner_users_cannot_reach_another_firm(route, client, sessions, frozen_clock):
    world = _build(sessions, frozen_clock)
    headers, own_key = _login(sessions, PADM, world.other_firm)  # their firm is the other one
    url, body = _request(route, world, own_key)

    response = client.request(route[0], url, json=body, headers=headers)

    assert response.status_code in {403, 404}, response.text
