"""``charter approvals``: list and read approval requests; approve or reject one as its
governance owner (the operator, ``--as`` or ``CHARTER_OPERATOR``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from charter.approvals.schemas import ApprovalOut, ApproveIn, RejectIn
from charter.cli.common import ACTOR, checked, console, operator, transaction
from charter.core.errors import Invalid

if TYPE_CHECKING:
    from charter.approvals.models import ApprovalRequest

approvals_app = typer.Typer(
    help="Approval requests routed to governance owners.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ApprovalArg = Annotated[str, typer.Argument(help="The approval request (apr_…).")]


def _print(request: ApprovalOut, as_json: bool) -> None:
    if as_json:
        typer.echo(request.model_dump_json(indent=2))
        return
    out = console()
    late = "  overdue" if request.overdue else ""
    out.print(f"{request.id}  {request.state}{late}  {request.type}", markup=False)
    out.print(f"  subject: {request.subject_type} {request.subject_id}", markup=False)
    out.print(f"  partner: {request.partner_id or 'none'}", markup=False)
    out.print(
        f"  asked by: {request.requester_name}  at {request.created_at:%Y-%m-%d %H:%M}",
        markup=False,
    )
    out.print(f"  justification: {request.justification}", markup=False)
    out.print(f"  proposed change: {json.dumps(request.proposed_change)}", markup=False)
    out.print(f"  due: {request.due_at:%Y-%m-%d %H:%M}", markup=False)
    if request.decided_at is not None:
        out.print(
            f"  decided by: {request.decided_by_name}  at {request.decided_at:%Y-%m-%d %H:%M}",
            markup=False,
        )
    if request.reason:
        out.print(f"  reason: {request.reason}", markup=False)
    if request.error:
        out.print(f"  error: {request.error}", markup=False)


def _out(request: ApprovalRequest) -> ApprovalOut:
    from charter.approvals import service

    out = ApprovalOut.model_validate(request)
    out.overdue = service.is_overdue(request)
    return out


@approvals_app.command("list")
def list_requests(
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="Only these: pending, approved, applied, failed, rejected or withdrawn.",
        ),
    ] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="Only this type (license.territory, ...).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approval requests, oldest first."""
    from charter.approvals import service
    from charter.approvals.enums import ApprovalState
    from charter.core.pagination import MAX_LIMIT

    state = None
    if status is not None:
        try:
            state = ApprovalState(status.strip().lower())
        except ValueError:
            names = ", ".join(item.value for item in ApprovalState)
            raise Invalid.field("status", f"one of {names}") from None
    kind = None if type is None else type.strip()
    items: list[ApprovalOut] = []
    with transaction() as db:
        cursor = None
        while True:
            page = service.list_requests(
                db, ACTOR, state=state, type=kind, cursor=cursor, limit=MAX_LIMIT
            )
            items.extend(_out(request) for request in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
    if as_json:
        rows = [item.model_dump(mode="json") for item in items]
        typer.echo(json.dumps({"items": rows}, indent=2))
        return
    if not items:
        console().print("no approval requests match", markup=False)
        return
    table = Table(title="Approval requests")
    # Ids are what a reader copies into the next command: never wrapped.
    table.add_column("request", no_wrap=True)
    for column in ("state", "type"):
        table.add_column(column)
    table.add_column("subject", no_wrap=True)
    for column in ("asked by", "due"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id,
            item.state + (" (overdue)" if item.overdue else ""),
            item.type,
            item.subject_id,
            item.requester_name,
            f"{item.due_at:%Y-%m-%d %H:%M}",
        )
    console().print(table)


@approvals_app.command("show")
def show(request_id: ApprovalArg, as_json: JsonFlag = False) -> None:
    """One approval request: what is asked, why, and where it stands."""
    from charter.approvals import service

    with transaction() as db:
        shown = _out(service.get_request(db, ACTOR, request_id=request_id))
    _print(shown, as_json)


@approvals_app.command("approve")
def approve(
    request_id: ApprovalArg,
    reason: Annotated[
        str | None, typer.Option("--reason", help="A note recorded with the decision.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Approve a pending request as its governance owner; its change is applied at once
    (the request ends ``applied``, or ``failed`` with the problem)."""
    from charter.approvals import service

    note = checked(ApproveIn, {"reason": reason}).reason
    with transaction() as db:
        decided = _out(service.approve(db, operator(db), request_id=request_id, reason=note))
    _print(decided, as_json)


@approvals_app.command("reject")
def reject(
    request_id: ApprovalArg,
    reason: Annotated[str, typer.Option("--reason", help="Why; the requester sees it.")],
    as_json: JsonFlag = False,
) -> None:
    """Reject a pending request as its governance owner, saying why."""
    from charter.approvals import service

    why = checked(RejectIn, {"reason": reason}).reason
    with transaction() as db:
        decided = _out(service.reject(db, operator(db), request_id=request_id, reason=why))
    _print(decided, as_json)
