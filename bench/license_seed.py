"""A license in the seeded demo, for the validation row of the server benchmark."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core.auth import Principal
from charter.licensing import agreements, products, service
from charter.licensing.schemas import AgreementSign, LicenseCreate, ProductCreate, TemplateCreate
from charter.partners.enums import PartnerStatus
from charter.partners.models import Partner

PRODUCT_CODE = "BENCH-PLATFORM"
TERMS: dict[str, Any] = {
    "features": ["analytics"],
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
    "term": {"months": 12, "renewal": "on_request"},
    "fee": {"model": "flat", "amount": "1000.00", "currency": "EUR", "period": "year"},
    "royalty_percent": "10",
    "audit": {"allowed": True, "notice_days": 30, "max_per_year": 1},
    "termination": {"wind_down_days": 30, "duties": ["Stop new sales"]},
}


def issue_bench_license(db: Session, actor: Principal) -> tuple[str, str]:
    """A product, an agreement an active demo firm signs, and a license under it: its key and
    the product's code."""
    firm = db.scalars(
        select(Partner).where(Partner.status == PartnerStatus.ACTIVE.value).order_by(Partner.id)
    ).first()
    if firm is None:
        raise SystemExit("the demo holds no active firm to license")
    product = products.create_product(
        db,
        actor,
        data=ProductCreate.model_validate(
            {
                "code": PRODUCT_CODE,
                "name": "Bench platform",
                "features": [{"key": "analytics", "name": "Analytics"}],
            }
        ),
    )
    template = agreements.create_template(
        db,
        actor,
        data=TemplateCreate.model_validate(
            {
                "code": "BENCH-RESELL",
                "name": "Bench reseller agreement",
                "product_id": product.id,
                "version": {"terms": TERMS, "requirements": {}},
            }
        ),
    )
    agreement = agreements.sign_agreement(
        db,
        actor,
        partner_id=firm.id,
        data=AgreementSign.model_validate(
            {"template_id": template.id, "signer_name": "Bench Signer", "signer_email": "b@x.io"}
        ),
    )
    _, key = service.issue_license(
        db, actor, data=LicenseCreate.model_validate({"agreement_id": agreement.id, "seats": 5})
    )
    return key, PRODUCT_CODE
