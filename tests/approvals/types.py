"""Approval types registered for tests, as a domain above approvals registers its own.

``test.partner_website`` changes a firm's website once approved; ``test.refused`` starts the
same change and then refuses (the subject changed since it was asked for); ``test.flow_only``
may not be asked for directly and changes nothing by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from charter.approvals import registry
from charter.approvals.models import ApprovalRequest
from charter.core.auth import Principal
from charter.core.errors import Conflict, Invalid
from charter.partners import firms
from charter.partners.schemas import PartnerUpdate, Website

WEBSITE = "test.partner_website"
REFUSED = "test.refused"
FLOW_ONLY = "test.flow_only"
SLA = timedelta(hours=72)


class WebsiteChange(BaseModel):
    """The proposed change of ``test.partner_website``."""

    model_config = ConfigDict(extra="forbid")

    website: Website


def _same_firm(db: Session, actor: Principal, request: ApprovalRequest) -> None:
    if request.partner_id != request.subject_id:
        raise Invalid.field("subject_id", "must be the firm the request is for")


def _change_website(
    db: Session, actor: Principal, request: ApprovalRequest
) -> Mapping[str, Any] | None:
    data = PartnerUpdate(website=request.proposed_change["website"])
    partner = firms.update_partner(db, actor, partner_id=request.subject_id, data=data)
    return {"website": partner.website}


def _refuse(db: Session, actor: Principal, request: ApprovalRequest) -> Mapping[str, Any] | None:
    _change_website(db, actor, request)  # made, then undone with the refusal
    raise Conflict("the firm's profile changed since the request was made")


registry.register_type(
    WEBSITE,
    title="Change a firm's website",
    subject_type="partner",
    change=WebsiteChange,
    direct=True,
    sla=SLA,
    check=_same_firm,
)
registry.register_applier(WEBSITE, _change_website)
registry.register_type(
    REFUSED,
    title="A change refused when applied",
    subject_type="partner",
    change=WebsiteChange,
    direct=True,
)
registry.register_applier(REFUSED, _refuse)
registry.register_type(FLOW_ONLY, title="Asked for by a flow only", sla=timedelta(hours=24))
