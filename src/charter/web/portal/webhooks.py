"""Webhook endpoints on pages (webhooks:manage): the list, registering one (its secret shown
once), editing it, rotating its secret (the new one shown once), pausing and resuming, and an
endpoint's delivery log with a replay button per delivery."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core.auth import Permission, Principal
from charter.core.errors import CharterError, FieldError, Invalid
from charter.core.pagination import DEFAULT_LIMIT
from charter.deps import Cursor, DbSession, api_router
from charter.web.i18n import N_
from charter.web.pages import redirect, render, signed_in
from charter.web.portal.access import is_staff, not_found_page
from charter.web.portal.filters import blank_to_none, choice, url_with
from charter.web.portal.forms import FormErrors, attempt, errors_of, parse
from charter.web.portal.posted import NO_FIELDS, Fields, Posted, SignedForm, signed_form
from charter.webhooks import service as webhooks
from charter.webhooks.enums import DeliveryStatus
from charter.webhooks.models import WebhookEndpoint
from charter.webhooks.schemas import EndpointCreate, EndpointUpdate

router = api_router(include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
Created = tuple[WebhookEndpoint, str]
ENDPOINT_FIELDS = {"url": 2000, "event_types": 4000, "description": 500}
EDIT_PATHS = {"url": "url", "event_types": "event_types", "description": "description"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _manager(request: Request, db: Session) -> Principal | Response:
    principal = signed_in(request, db)
    if principal is None:
        return redirect("/login")
    if not is_staff(principal):
        return not_found_page(request, principal)
    principal.require(Permission.WEBHOOKS_MANAGE)
    return principal


def _manager_form(
    request: Request, db: Session, form: dict[str, str], wanted: Fields = NO_FIELDS
) -> SignedForm | Response:
    """A form posted by a staff member who manages webhooks."""
    return signed_form(request, db, form, wanted, staff=True, permission=Permission.WEBHOOKS_MANAGE)


def _invalid(error: ValidationError) -> Invalid:
    problems = [
        FieldError(".".join(str(part) for part in item["loc"]), item["msg"])
        for item in error.errors()
    ]
    detail = "; ".join(f"{problem.field}: {problem.detail}" for problem in problems)
    return Invalid(detail, problems)


def _list_page(
    request: Request,
    db: Session,
    principal: Principal,
    cursor: str | None,
    *,
    form: dict[str, str] | None = None,
    error: CharterError | None = None,
    created: Created | None = None,
) -> Response:
    page = webhooks.list_endpoints(db, principal, cursor=cursor, limit=DEFAULT_LIMIT)
    next_url = url_with("/webhooks", {}, cursor=page.next_cursor) if page.next_cursor else None
    status = error.status if error else (201 if created else 200)
    return render(
        request,
        "portal/webhooks.html",
        {
            "principal": principal,
            "page": page,
            "next_url": next_url,
            "first_url": "/webhooks" if cursor else None,
            "form": form or {},
            "error": error,
            "created": created[0] if created else None,
            "secret": created[1] if created else None,
        },
        status_code=status,
    )


@router.get("/webhooks")
def endpoints_list(request: Request, db: DbSession, cursor: Cursor = None) -> Response:
    """Webhook endpoints, and the form to register one."""
    found = _manager(request, db)
    if isinstance(found, Response):
        return found
    return _list_page(request, db, found, cursor)


@router.post("/webhooks")
def create_endpoint(request: Request, db: DbSession, form: Posted) -> Response:
    """Register an endpoint; the answer shows its signing secret, this once."""
    posted = _manager_form(request, db, form, ENDPOINT_FIELDS)
    if isinstance(posted, Response):
        return posted
    principal, values = posted

    def create() -> Created:
        try:
            data = EndpointCreate(
                url=values["url"].strip(),
                event_types=values["event_types"].replace(",", " ").split(),
                description=blank_to_none(values["description"]),
            )
        except ValidationError as error:
            raise _invalid(error) from None
        return webhooks.create_endpoint(db, principal, _settings(request), data=data)

    outcome = attempt(db, create)
    if isinstance(outcome, CharterError):
        return _list_page(request, db, principal, None, form=values, error=outcome)
    return _list_page(request, db, principal, None, created=outcome)


def _endpoint_page(
    request: Request,
    db: Session,
    principal: Principal,
    endpoint: WebhookEndpoint,
    *,
    status: str | None = None,
    cursor: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    secret: str | None = None,
    status_code: int = 200,
) -> Response:
    filters = {"status": blank_to_none(status)}
    page = webhooks.list_deliveries(
        db,
        principal,
        endpoint_id=endpoint.id,
        status=choice(DeliveryStatus, filters["status"], "status"),
        cursor=cursor,
        limit=DEFAULT_LIMIT,
    )
    base = f"/webhooks/{endpoint.id}"
    context: dict[str, Any] = {
        "principal": principal,
        "endpoint": endpoint,
        "page": page,
        "filters": filters,
        "statuses": list(DeliveryStatus),
        "next_url": url_with(base, filters, cursor=page.next_cursor) if page.next_cursor else None,
        "first_url": url_with(base, filters) if cursor else None,
        "values": values if values is not None else _endpoint_values(endpoint),
        "errors": errors or {},
        "secret": secret,
    }
    return render(request, "portal/webhook.html", context, status_code=status_code)


def _endpoint_values(endpoint: WebhookEndpoint) -> dict[str, str]:
    """The edit form's fields as the endpoint stands."""
    return {
        "url": endpoint.url,
        "event_types": " ".join(endpoint.event_types),
        "description": endpoint.description or "",
    }


@router.get("/webhooks/{endpoint_id}")
def endpoint_page(
    request: Request,
    db: DbSession,
    endpoint_id: str,
    status: Text = None,
    cursor: Cursor = None,
) -> Response:
    """An endpoint, the form that edits it, and its delivery log (status, attempts, response
    code, times)."""
    found = _manager(request, db)
    if isinstance(found, Response):
        return found
    endpoint = webhooks.get_endpoint(db, found, endpoint_id=endpoint_id)
    return _endpoint_page(request, db, found, endpoint, status=status, cursor=cursor)


@router.post("/webhooks/{endpoint_id}")
def edit_endpoint(request: Request, db: DbSession, form: Posted, endpoint_id: str) -> Response:
    """Change the endpoint's URL, event types and description (blank: none), as ``PATCH``
    does; the form again, with each error by its field, if refused."""
    posted = _manager_form(request, db, form, ENDPOINT_FIELDS)
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    endpoint = webhooks.get_endpoint(db, principal, endpoint_id=endpoint_id)
    try:
        data = parse(
            EndpointUpdate,
            {
                "url": values["url"].strip(),
                "event_types": values["event_types"].replace(",", " ").split(),
                "description": blank_to_none(values["description"]),
            },
            EDIT_PATHS,
        )
        outcome = attempt(
            db,
            lambda: webhooks.update_endpoint(
                db, principal, _settings(request), endpoint_id=endpoint.id, data=data
            ),
        )
        if isinstance(outcome, CharterError):
            raise FormErrors(errors_of(outcome, EDIT_PATHS))
    except FormErrors as refused:
        return _endpoint_page(
            request, db, principal, endpoint, values=values, errors=refused.errors, status_code=422
        )
    return redirect(f"/webhooks/{endpoint.id}")


@router.post("/webhooks/{endpoint_id}/rotate-secret")
def rotate_secret(request: Request, db: DbSession, form: Posted, endpoint_id: str) -> Response:
    """A new signing secret, shown this once; the previous one keeps signing for a day."""
    posted = _manager_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    endpoint, secret = webhooks.rotate_secret(
        db, principal, _settings(request), endpoint_id=endpoint_id
    )
    return _endpoint_page(request, db, principal, endpoint, secret=secret)


@router.post("/webhooks/{endpoint_id}/active")
def set_active(request: Request, db: DbSession, form: Posted, endpoint_id: str) -> Response:
    """Pause (``active=no``) or resume (``active=yes``) an endpoint."""
    posted = _manager_form(request, db, form, {"active": 5})
    if isinstance(posted, Response):
        return posted
    principal, values = posted
    active = values["active"]
    if active not in ("yes", "no"):
        raise Invalid.field("active", N_("must be yes or no"))
    endpoint = webhooks.update_endpoint(
        db,
        principal,
        _settings(request),
        endpoint_id=endpoint_id,
        data=EndpointUpdate(active=active == "yes"),
    )
    return redirect(f"/webhooks/{endpoint.id}")


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
def replay(
    request: Request, db: DbSession, form: Posted, endpoint_id: str, delivery_id: str
) -> Response:
    """Send a delivery's event again, as a new delivery at the end of the log."""
    posted = _manager_form(request, db, form)
    if isinstance(posted, Response):
        return posted
    principal = posted.principal
    endpoint = webhooks.get_endpoint(db, principal, endpoint_id=endpoint_id)
    webhooks.replay_delivery(db, principal, endpoint_id=endpoint.id, delivery_id=delivery_id)
    return redirect(f"/webhooks/{endpoint.id}")
