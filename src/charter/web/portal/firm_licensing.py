"""A firm's licensing: its licenses (keys masked), activations, usage against caps, the alerts
that concern it and the approval requests it made.

Each part is read through its service, so partner users see their own firm's only (another
firm's page is a 404 page). A license's full key is shown only to a role that may read keys,
after a button press (a POST: reading a key is recorded in the events log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from charter.approvals import service as approvals
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.core.pagination import MAX_LIMIT
from charter.deps import DbSession, api_router
from charter.licensing import activations, agreements, alerts, products, usage
from charter.licensing import service as licensing
from charter.licensing.alert_models import LicenseAlert
from charter.licensing.enums import ActivationState
from charter.licensing.models import LicenseActivation
from charter.partners import service as partners
from charter.partners.models import Partner
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.posted import Posted, signed_form

router = api_router(include_in_schema=False)

LICENSES_SHOWN = MAX_LIMIT
ACTIVATIONS_SHOWN = 20
ALERTS_SHOWN = 50
REQUESTS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class LicenseLine:
    """One license and what it is used for."""

    row: dict[str, Any]
    product: str
    masked_key: str
    active_activations: int
    activations: list[LicenseActivation]
    more_activations: bool
    caps: list[usage.CapUse]
    key: str | None = None


@dataclass(slots=True)
class LicensingView:
    """The firm's licensing page; ``None`` for a part the viewer may not read."""

    firm: Partner
    licenses: list[LicenseLine] = field(default_factory=list)
    more_licenses: bool = False
    alerts: list[LicenseAlert] = field(default_factory=list)
    requests: list[ApprovalRequest] | None = None
    may_read_keys: bool = False
    sign_templates: list[tuple[str, str]] = field(default_factory=list)
    """The templates staff who record signatures may record this firm's on: (id, name)."""


def _line(
    db: Session, actor: Principal, row: dict[str, Any], names: dict[str, str], key: str | None
) -> LicenseLine:
    if row["product_id"] not in names:
        names[row["product_id"]] = products.get_product(
            db, actor, product_id=row["product_id"]
        ).name
    found = activations.list_activations(db, actor, license_id=row["id"], limit=ACTIVATIONS_SHOWN)
    active = activations.list_activations(
        db, actor, license_id=row["id"], state=ActivationState.ACTIVE, limit=MAX_LIMIT
    )
    return LicenseLine(
        row=row,
        product=names[row["product_id"]],
        masked_key=f"{row['key_prefix']}…",
        active_activations=len(active.items),
        activations=list(found.items),
        more_activations=found.next_cursor is not None,
        caps=usage.usage_against_caps(db, actor, license_id=row["id"]),
        key=key,
    )


def licensing_view(
    db: Session, actor: Principal, *, partner_id: str, revealed: dict[str, str] | None = None
) -> LicensingView:
    """The licensing page of a firm as ``actor`` may see it; :class:`NotFound` outside scope."""
    firm = partners.get_partner(db, actor, partner_id=partner_id)
    view = LicensingView(firm=firm, may_read_keys=actor.can(Permission.LICENSE_KEYS_READ))
    page = licensing.list_licenses(db, actor, partner_id=firm.id, limit=LICENSES_SHOWN)
    names: dict[str, str] = {}
    shown = revealed or {}
    view.licenses = [_line(db, actor, row, names, shown.get(row["id"])) for row in page.items]
    view.more_licenses = page.next_cursor is not None
    view.alerts = list(alerts.list_alerts(db, actor, partner_id=firm.id, limit=ALERTS_SHOWN).items)
    if actor.partner_scope is None and actor.can(Permission.AGREEMENTS_SIGN):
        offered = agreements.list_templates(db, actor, limit=MAX_LIMIT).items
        view.sign_templates = [(item["id"], item["name"]) for item in offered]
    if actor.can(Permission.APPROVALS_READ):
        view.requests = list(
            approvals.list_requests(db, actor, partner_id=firm.id, limit=REQUESTS_SHOWN).items
        )
    return view


@router.get("/licensing/{partner_id}")
def licensing_page(request: Request, db: DbSession, partner_id: str) -> Response:
    """The firm's licenses, activations, usage against caps, alerts and approval requests."""
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    view = licensing_view(db, principal, partner_id=partner_id)
    return render(request, "portal/firm_licensing.html", {"principal": principal, "view": view})


@router.post("/licensing/{partner_id}/licenses/{license_id}/key")
def show_key(
    request: Request, db: DbSession, form: Posted, partner_id: str, license_id: str
) -> Response:
    """The page again with one license's full key shown (the reading is recorded)."""
    posted = signed_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    firm = partners.get_partner(db, principal, partner_id=partner_id)
    license = licensing.get_license(db, principal, license_id=license_id)
    if license.partner_id != firm.id:
        raise NotFound(N_("no such license at this firm"))
    key = licensing.reveal_key(db, principal, license_id=license.id)
    view = licensing_view(db, principal, partner_id=firm.id, revealed={license.id: key})
    return render(request, "portal/firm_licensing.html", {"principal": principal, "view": view})
