"""Products, agreement templates, signed agreements and licenses for tests, built through the
licensing services. Defaults are realistic and unique per call."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.licensing import agreements, products, service
from charter.licensing.models import Agreement, AgreementTemplate, License, Product
from charter.licensing.schemas import (
    AgreementSign,
    LicenseCreate,
    ProductCreate,
    TemplateCreate,
    VersionCreate,
)

_counter = itertools.count(1)

FEATURES = ["analytics", "api_access", "sso"]


def terms(**overrides: Any) -> dict[str, Any]:
    """Agreement terms a reseller signs: use and distribute in EMEA, per-seat fee, 12 months."""
    value: dict[str, Any] = {
        "features": ["analytics", "api_access"],
        "rights": {
            "use": True,
            "reproduce": False,
            "distribute": True,
            "modify": False,
            "derivative_works": False,
            "sublicense": False,
            "white_label": False,
        },
        "territory": {"regions": ["emea"], "countries": ["DE", "FR"]},
        "verticals": ["healthcare"],
        "term": {"months": 12, "renewal": "on_request"},
        "fee": {
            "model": "per_seat",
            "amount_per_seat": "25.00",
            "currency": "EUR",
            "period": "year",
        },
        "royalty_percent": "12.5",
        "audit": {"allowed": True, "notice_days": 30, "max_per_year": 1},
        "termination": {"wind_down_days": 90, "duties": ["Stop new sales", "Return materials"]},
    }
    value.update(overrides)
    return value


def product(db: Session, actor: Principal, **overrides: Any) -> Product:
    """A product with three features (``FEATURES``)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "code": f"PLAT-{n}{uuid.uuid4().hex[:4].upper()}",
        "name": f"Platform {n}",
        "description": "The vendor's data platform.",
        "features": [{"key": key, "name": key.replace("_", " ").title()} for key in FEATURES],
    }
    fields.update(overrides)
    return products.create_product(db, actor, data=ProductCreate.model_validate(fields))


def template(
    db: Session,
    actor: Principal,
    *,
    product_id: str,
    requirements: dict[str, Any] | None = None,
    **overrides: Any,
) -> AgreementTemplate:
    """An agreement template with version 1 in force now."""
    n = next(_counter)
    version: dict[str, Any] = {
        "terms": overrides.pop("terms", terms()),
        "requirements": requirements or {},
    }
    fields: dict[str, Any] = {
        "code": f"RESELL-{n}{uuid.uuid4().hex[:4].upper()}",
        "name": f"Reseller agreement {n}",
        "product_id": product_id,
        "version": version,
    }
    fields.update(overrides)
    return agreements.create_template(db, actor, data=TemplateCreate.model_validate(fields))


def new_version(db: Session, actor: Principal, *, template_id: str, **overrides: Any) -> Any:
    """A new version of a template (terms as :func:`terms`), in force now."""
    fields: dict[str, Any] = {"terms": terms(), "summary": "Royalty lowered."}
    fields.update(overrides)
    return agreements.publish_version(
        db, actor, template_id=template_id, data=VersionCreate.model_validate(fields)
    )


def sign(
    db: Session, actor: Principal, *, partner_id: str, template_id: str, **overrides: Any
) -> Agreement:
    """The firm signs the template's version in force."""
    fields: dict[str, Any] = {
        "template_id": template_id,
        "signer_name": "Dana Signer",
        "signer_email": "dana.signer@example.com",
        "signer_title": "CEO",
    }
    fields.update(overrides)
    return agreements.sign_agreement(
        db, actor, partner_id=partner_id, data=AgreementSign.model_validate(fields)
    )


def license(
    db: Session, actor: Principal, *, agreement_id: str, **overrides: Any
) -> tuple[License, str]:
    """A license of 10 seats under the agreement, with its key."""
    fields: dict[str, Any] = {"agreement_id": agreement_id, "seats": 10}
    fields.update(overrides)
    return service.issue_license(db, actor, data=LicenseCreate.model_validate(fields))
