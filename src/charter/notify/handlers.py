"""Worker handlers for notify: registered with :mod:`charter.worker.registry` on import.

Event handlers decide who gets which email and queue it (:func:`service.queue_email`); the
``notify.send`` task sends one queued email. The reminder scan is a periodic task. A notice is
news only while it is recent: events older than ``CHARTER_NOTICE_HORIZON_DAYS`` when the
worker first sees them (an imported history, a worker long stopped) get no notice.
"""

from __future__ import annotations

import json
import logging
import math
import smtplib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from charter.accounts.models import User
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Principal, Role
from charter.core.errors import NotFound
from charter.core.models import Event
from charter.credentials import eligibility, issuance
from charter.credentials.enums import AwardStatus
from charter.credentials.models import Award
from charter.db.engine import settings_of
from charter.notify import mailer, service, unsubscribe
from charter.notify.enums import MessageStatus
from charter.notify.models import EmailMessage
from charter.notify.render import ONE_TIME_LINK_KINDS, SPENT_BODY
from charter.notify.service import Recipient, format_date, masked, queue_email
from charter.notify.unsubscribe import Category
from charter.partners.enums import InvitationKind, InvitationState
from charter.partners.invitation_links import invitation_url
from charter.partners.models import Invitation, Person
from charter.programs import service as programs
from charter.programs.models import Certification
from charter.worker.registry import RetryLater, RetryPolicy, TaskContext, on_event, periodic, task

log = logging.getLogger("charter.notify")

SEND_RETRY = RetryPolicy(max_attempts=8, base=timedelta(minutes=1), cap=timedelta(hours=2))
REMINDER_EVERY = timedelta(hours=1)
_LIVE = (AwardStatus.ACTIVE.value, AwardStatus.SUSPENDED.value)


def notice_horizon(settings: Settings) -> timedelta:
    """How old an event may be and still be mailed about."""
    return timedelta(days=settings.notice_horizon_days)


def _event_key(event: Event, kind: str, recipient: Recipient) -> str:
    return f"{event.id}:{kind}:{recipient.address.lower()}"


def _certification(db: Session, certification_id: str | None) -> Certification | None:
    return db.get(Certification, certification_id) if certification_id else None


def _tell_firm_admins(
    db: Session,
    event: Event,
    partner_id: str,
    *,
    kind: str,
    category: Category | None,
    context: dict[str, Any],
    key_suffix: str = "",
    disabled_too: bool = False,
) -> None:
    """Queue one ``kind`` mail about ``event`` to each of the firm's partner admins."""
    for admin in service.firm_admins(db, partner_id, disabled_too=disabled_too):
        queue_email(
            db,
            settings_of(db),
            key=f"{_event_key(event, kind, admin)}{key_suffix}",
            kind=kind,
            recipient=admin,
            category=category,
            partner_id=partner_id,
            event_id=event.id,
            context=context,
        )


# --- sending -------------------------------------------------------------------------------


def _give_up(db: Session, message_id: str, error: str) -> None:
    db.execute(
        update(EmailMessage)
        .where(EmailMessage.id == message_id, EmailMessage.status == MessageStatus.PENDING.value)
        .values(status=MessageStatus.FAILED.value, last_error=error)
    )


def _without_address(text: str, address: str) -> str:
    return text.replace(address, masked(address)) if address else text


@task(service.SEND_TASK, retry=SEND_RETRY, on_give_up=_give_up)
def send_email(context: TaskContext, message_id: str) -> None:
    """Send one queued email, unless it was sent already or its recipient opted out since."""
    settings = context.settings
    with context.sessions() as db, db.begin():
        message = db.get(EmailMessage, message_id)
        if message is None or message.status != MessageStatus.PENDING.value:
            return
        if message.category is not None and unsubscribe.opted_out(
            db, address=message.recipient, category=message.category
        ):
            message.status = MessageStatus.SKIPPED.value
            message.last_error = f"the recipient unsubscribed from {message.category}"
            log.info("email %s skipped: %s", message.id, message.last_error)
            return
        db.expunge(message)
    outcome: dict[str, Any]
    try:
        mailer.send(settings, message)
    except mailer.PermanentFailure as error:
        outcome = {"status": MessageStatus.FAILED.value, "last_error": str(error)}
        log.error(
            "email %s to %s refused for good: %s",
            message.id,
            masked(message.recipient),
            _without_address(str(error), message.recipient),
        )
    except (smtplib.SMTPException, OSError) as error:
        with context.sessions() as db, db.begin():
            db.execute(
                update(EmailMessage)
                .where(EmailMessage.id == message.id)
                .values(
                    attempts=EmailMessage.attempts + 1,
                    last_error=f"{type(error).__name__}: {error}",
                )
            )
        # The job's error is logged: the server's answer may quote the address.
        detail = _without_address(str(error), message.recipient)
        raise RetryLater(f"SMTP: {type(error).__name__}: {detail}") from error
    else:
        outcome = {"status": MessageStatus.SENT.value, "sent_at": clock.now(), "last_error": None}
        log.info("email %s (%s) sent to %s", message.id, message.kind, masked(message.recipient))
    if message.kind in ONE_TIME_LINK_KINDS:
        # A database dump or a reader of the outbox must not find a usable link in it.
        outcome.update(text_body=SPENT_BODY, html_body=SPENT_BODY)
    with context.sessions() as db, db.begin():
        context.complete(db)
        db.execute(
            update(EmailMessage)
            .where(
                EmailMessage.id == message.id,
                EmailMessage.status == MessageStatus.PENDING.value,
            )
            .values(attempts=EmailMessage.attempts + 1, **outcome)
        )


# --- award notices -------------------------------------------------------------------------

_AWARD_KINDS = {
    "award.expired": "award_expired",
    "award.revoked": "award_revoked",
    "award.suspended": "award_suspended",
}


@on_event("notify.award_notices", *_AWARD_KINDS, horizon=notice_horizon)
def award_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the holder that their award expired, was revoked or was suspended (not optional)."""
    award = db.get(Award, event.subject_id)
    person_id = event.payload.get("person_id") or (award.person_id if award else None)
    recipient = service.person_recipient(db, person_id)
    if recipient is None:
        log.info("%s %s: the holder has no address; no notice", event.type, event.subject_id)
        return
    certification = _certification(
        db, event.payload.get("certification_id") or (award.certification_id if award else None)
    )
    kind = _AWARD_KINDS[event.type]
    queue_email(
        db,
        settings_of(db),
        key=_event_key(event, kind, recipient),
        kind=kind,
        recipient=recipient,
        category=None,
        partner_id=event.partner_id,
        event_id=event.id,
        context={
            "person_name": recipient.name,
            "certification_name": certification.name if certification else "",
            "certification_code": certification.code if certification else "",
            "valid_until": format_date(
                event.payload.get("valid_until") or (award.valid_until if award else None)
            ),
            "reason": event.payload.get("reason"),
        },
    )


# --- new badges ----------------------------------------------------------------------------

_EARNED = {"award.issued": False, "award.renewed": True}


@on_event("notify.award_earned", *_EARNED, horizon=notice_horizon)
def award_earned(db: Session, actor: Principal, event: Event) -> None:
    """Tell the holder they earned a badge, or that a renewal gave it a new version.

    Queued per event by the worker, like every notice, so a bulk issuance of thousands of
    awards sends nothing while it runs. Optional (new badge notices).
    """
    award = db.get(Award, event.subject_id)
    if award is None or award.person_id is None:
        return
    if award.status == AwardStatus.REVOKED.value:
        return  # revoked before the worker got here: its holder is told that instead
    recipient = service.person_recipient(db, award.person_id)
    if recipient is None:
        log.info("%s %s: the holder has no address; no notice", event.type, event.subject_id)
        return
    certification = _certification(db, award.certification_id)
    settings = settings_of(db)
    credential = issuance.current_credential_for_award(db, award.id, settings=settings)
    queue_email(
        db,
        settings,
        key=_event_key(event, "award_earned", recipient),
        kind="award_earned",
        recipient=recipient,
        category=Category.AWARDS,
        partner_id=event.partner_id,
        event_id=event.id,
        context={
            "person_name": recipient.name,
            "renewed": _EARNED[event.type],
            "certification_name": certification.name if certification else "",
            "certification_code": certification.code if certification else "",
            "certification_description": certification.description if certification else "",
            "valid_until": format_date(event.payload.get("valid_until") or award.valid_until),
            "credential_url": credential.url if credential is not None else "",
            "holder_url": service.holder_url(settings),
        },
    )


# --- tier notices --------------------------------------------------------------------------

_TIER_KINDS = {
    "tier.at_risk": "tier_at_risk",
    "tier.downgraded": "tier_downgraded",
    "tier.upgraded": "tier_upgraded",
    "tier.recovered": "tier_recovered",
}
NO_TIER = "no tier"


@on_event("notify.tier_notices", *_TIER_KINDS, horizon=notice_horizon)
def tier_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the firm's admins that its tier is at risk, changed, or is safe again."""
    partner_id = event.partner_id or event.subject_id
    payload = event.payload
    context = {
        "partner_name": service.partner_name(db, partner_id),
        "tier_name": payload.get("tier_name") or payload.get("tier") or NO_TIER,
        "grace_until": format_date(payload.get("grace_until")),
        "missing": [str(item) for item in payload.get("missing") or []],
        "from_tier_label": payload.get("from_tier_name") or payload.get("from_tier") or NO_TIER,
        "to_tier_label": payload.get("to_tier_name") or payload.get("to_tier") or NO_TIER,
    }
    kind = _TIER_KINDS[event.type]
    _tell_firm_admins(db, event, partner_id, kind=kind, category=Category.TIERS, context=context)


# --- license compliance notices ------------------------------------------------------------

_LICENSE_KINDS = {"license.grace_started": "license_grace", "license.lapsed": "license_lapsed"}


@on_event("notify.license_compliance", *_LICENSE_KINDS, horizon=notice_horizon)
def license_compliance_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the firm's admins that a license is in grace, or has lapsed, and what is missing.

    Not optional: the firm's right to use what it licensed depends on it.
    """
    partner_id = event.partner_id
    if partner_id is None:
        return
    payload = event.payload
    context = {
        "partner_name": service.partner_name(db, partner_id),
        "template_name": payload.get("template_name") or "",
        "key_prefix": payload.get("key_prefix") or "",
        "grace_until": format_date(payload.get("grace_until")),
        "missing": [str(item) for item in payload.get("missing") or []],
    }
    kind = _LICENSE_KINDS[event.type]
    _tell_firm_admins(db, event, partner_id, kind=kind, category=None, context=context)


# --- change notices ------------------------------------------------------------------------


@on_event("notify.change_notices", "criteria.published", horizon=notice_horizon)
def change_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the holders of a live award, and their firms' admins, that its criteria change.

    A certification's first version (no previous one) has no holders to tell.
    """
    payload = event.payload
    if payload.get("previous_version") is None:
        return
    certification = _certification(db, payload.get("certification_id"))
    if certification is None:
        return
    now = clock.now()
    holders = db.scalars(
        select(Person)
        .join(Award, Award.person_id == Person.id)
        .where(
            Award.certification_id == certification.id,
            Award.status.in_(_LIVE),
            Award.valid_until > now,
        )
        .order_by(Person.id)
        .distinct()
    ).all()
    common = {
        "certification_name": certification.name,
        "certification_code": certification.code,
        "version": payload.get("version"),
        "effective_from": format_date(payload.get("effective_from")),
    }
    settings = settings_of(db)
    by_firm: dict[str, list[str]] = defaultdict(list)
    for person in holders:
        if person.partner_id is not None:
            by_firm[person.partner_id].append(person.display_name)
        recipient = service.person_recipient(db, person.id)
        if recipient is None:
            continue
        queue_email(
            db,
            settings,
            key=_event_key(event, "criteria_changed", recipient),
            kind="criteria_changed",
            recipient=recipient,
            category=Category.CHANGES,
            partner_id=person.partner_id,
            event_id=event.id,
            context={**common, "person_name": recipient.name},
        )
    for partner_id, names in sorted(by_firm.items()):
        context = {**common, "partner_name": service.partner_name(db, partner_id), "holders": names}
        _tell_firm_admins(
            db,
            event,
            partner_id,
            kind="criteria_changed_firm",
            category=Category.CHANGES,
            context=context,
            key_suffix=f":{partner_id}",
        )


# --- agreement notices ---------------------------------------------------------------------


@on_event("notify.agreement_notices", "agreement.version_published", horizon=notice_horizon)
def agreement_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the admins of each firm that signed a template that it has a new version.

    Not optional: a change to an agreement a firm is bound by is a contractual notice.
    """
    payload = event.payload
    partner_ids = payload.get("partner_ids") or []
    if payload.get("previous_version") is None or not isinstance(partner_ids, list):
        return
    for partner_id in sorted(str(item) for item in partner_ids):
        context = {
            "partner_name": service.partner_name(db, partner_id),
            "template_name": payload.get("template_name") or payload.get("template_code") or "",
            "version": payload.get("version"),
            "effective_from": format_date(payload.get("effective_from")),
            "summary": payload.get("summary") or "",
        }
        _tell_firm_admins(
            db,
            event,
            partner_id,
            kind="agreement_changed",
            category=None,
            context=context,
            key_suffix=f":{partner_id}",
        )


# --- termination ---------------------------------------------------------------------------


@on_event("notify.termination", "partner.status_changed", horizon=notice_horizon)
def termination_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell a terminated firm's admins (their accounts may be disabled by then: still them)."""
    if event.payload.get("to") != "terminated":
        return
    partner_id = event.partner_id or event.subject_id
    context = {
        "partner_name": service.partner_name(db, partner_id),
        "reason": event.payload.get("reason"),
    }
    _tell_firm_admins(
        db,
        event,
        partner_id,
        kind="partner_terminated",
        category=None,
        context=context,
        disabled_too=True,
    )


# --- overdue approvals ---------------------------------------------------------------------


@on_event("notify.approval_escalated", "approval.escalated", horizon=notice_horizon)
def approval_escalated_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the admins, and the governance owners it is routed to, that a request is overdue."""
    payload = event.payload
    owners = [str(user_id) for user_id in payload.get("routed_to") or []]
    users = db.scalars(
        select(User)
        .where(
            User.disabled_at.is_(None),
            (User.role == Role.ADMIN.value) | User.id.in_(owners),
        )
        .order_by(User.id)
    ).all()
    context = {
        "approval_id": event.subject_id,
        "approval_type": str(payload.get("type") or ""),
        "level": payload.get("level"),
        "due_at": format_date(payload.get("due_at")),
        "subject_label": f"{payload.get('subject_type', '')} {payload.get('subject_id', '')}",
        "justification": str(payload.get("justification") or ""),
    }
    _mail_staff(db, event, "approval_escalated", users, context)


# --- invitations ---------------------------------------------------------------------------


@on_event("notify.invitations", "invitation.created", horizon=notice_horizon)
def invitation_email(db: Session, actor: Principal, event: Event) -> None:
    """Mail the invited address its confirmation link (asked for by the firm: not optional).

    The mail is the same whether or not the address is on record: what confirming does is
    decided when its owner confirms.
    """
    invitation = db.get(Invitation, event.subject_id)
    if invitation is None or invitation.state != InvitationState.PENDING.value:
        return
    settings = settings_of(db)
    if invitation.kind == InvitationKind.EMAIL.value:
        kind = "invitation_email"
        colleague = db.get(Person, invitation.person_id) if invitation.person_id else None
        name = colleague.display_name if colleague is not None else ""
    else:
        kind = "invitation_person"
        name = f"{invitation.given_name or ''} {invitation.family_name or ''}".strip()
    queue_email(
        db,
        settings,
        key=f"invitation:{invitation.id}",
        kind=kind,
        recipient=Recipient(invitation.email, name),
        category=None,
        partner_id=invitation.partner_id,
        event_id=event.id,
        context={
            "partner_name": service.partner_name(db, invitation.partner_id),
            "link": invitation_url(settings, invitation_id=invitation.id),
            "expires_on": format_date(invitation.expires_at),
        },
    )


# --- renewal reminders ---------------------------------------------------------------------


def due_offset(
    *, valid_until: datetime, live_since: datetime, now: datetime, offsets: list[int]
) -> int | None:
    """The reminder to send now for an award expiring at ``valid_until``, if any.

    That is the offset (in days before expiry) whose moment passed most recently, while the
    award was live with this expiry date: a worker that did not run for a while sends only the
    latest reminder it missed, and an award issued with less time left than an offset is not
    reminded at once for it.
    """
    if now >= valid_until:
        return None
    passed = [days for days in offsets if live_since <= valid_until - timedelta(days=days) <= now]
    return min(passed) if passed else None


def reminder_key(award_id: str, offset: int, valid_until: datetime) -> str:
    """One reminder per award, offset and expiry date."""
    return f"reminder:{award_id}:{offset}:{clock.ensure_utc(valid_until).date().isoformat()}"


@periodic("notify.renewal_reminders", REMINDER_EVERY)
def renewal_reminders(db: Session, actor: Principal, period_start: datetime) -> None:
    """Queue the renewal reminders that are due (``CHARTER_REMINDER_DAYS`` before expiry)."""
    settings = settings_of(db)
    offsets = settings.reminder_days
    if not offsets:
        return
    now = clock.now()
    horizon = now + timedelta(days=max(offsets))
    awards = db.execute(
        select(Award, Certification)
        .join(Certification, Certification.id == Award.certification_id)
        .where(
            Award.status == AwardStatus.ACTIVE.value,
            Award.person_id.is_not(None),
            Award.valid_until > now,
            Award.valid_until <= horizon,
        )
        .order_by(Award.id)
    ).all()
    due: list[tuple[Award, Certification, int, str]] = []
    for award, certification in awards:
        live_since = award.renewed_at or award.issued_at
        offset = due_offset(
            valid_until=award.valid_until, live_since=live_since, now=now, offsets=offsets
        )
        if offset is not None:
            due.append(
                (award, certification, offset, reminder_key(award.id, offset, award.valid_until))
            )
    due = [(a, c, o, service.stored_key(k)) for a, c, o, k in due]
    for start in range(0, len(due), 500):
        chunk = due[start : start + 500]
        sent = set(
            db.scalars(
                select(EmailMessage.key).where(EmailMessage.key.in_([item[3] for item in chunk]))
            )
        )
        for award, certification, offset, key in chunk:
            if key in sent:
                continue
            recipient = service.person_recipient(db, award.person_id)
            if recipient is None:
                continue
            days_left = math.ceil((award.valid_until - now) / timedelta(days=1))
            credential = issuance.current_credential_for_award(db, award.id, settings=settings)
            queue_email(
                db,
                settings,
                key=key,
                kind="renewal_reminder",
                recipient=recipient,
                category=Category.REMINDERS,
                partner_id=award.partner_id,
                context={
                    "person_name": recipient.name,
                    "certification_name": certification.name,
                    "certification_code": certification.code,
                    "valid_until": format_date(award.valid_until),
                    "days_left": days_left,
                    "offset": offset,
                    "credential_url": credential.url if credential is not None else "",
                    "holder_url": service.holder_url(settings),
                    **_renewal_needs(db, award, now),
                },
            )


def _renewal_needs(db: Session, award: Award, now: datetime) -> dict[str, Any]:
    """What renewing takes: the narrative of the criteria in force, and what the holder's
    records still lack against them (nothing to say when the certification has no criteria)."""
    if award.person_id is None:
        return {"criteria": "", "missing": []}
    try:
        version = programs.criteria_in_force(db, certification_id=award.certification_id, at=now)
        result = eligibility.evaluate_criteria(
            db, person_id=award.person_id, certification_id=award.certification_id, at=now
        )
    except NotFound:
        return {"criteria": "", "missing": []}
    return {"criteria": version.narrative.strip(), "missing": list(result.unmet)}


# --- license anomaly alerts ------------------------------------------------------------------


@on_event("notify.license_alerts", "license.alert_opened", horizon=notice_horizon)
def license_alert_notice(db: Session, actor: Principal, event: Event) -> None:
    """Tell the vendor's admins and program managers of a high-severity license alert."""
    payload = event.payload
    if payload.get("severity") != "high":
        return
    users = db.scalars(
        select(User)
        .where(
            User.disabled_at.is_(None),
            User.role.in_([Role.ADMIN.value, Role.PROGRAM_MANAGER.value]),
        )
        .order_by(User.id)
    ).all()
    context = {
        "alert_id": event.subject_id,
        "license_id": str(payload.get("license_id") or ""),
        "rule": str(payload.get("rule") or "").replace("_", " "),
        "severity": str(payload.get("severity") or ""),
        "evidence": json.dumps(payload.get("evidence") or {}, sort_keys=True)[:1000],
    }
    _mail_staff(db, event, "license_alert", users, context)


def _mail_staff(
    db: Session, event: Event, kind: str, users: Sequence[User], context: dict[str, Any]
) -> None:
    """Mail ``kind`` about ``event`` to each of ``users`` (not a notice one can opt out of)."""
    settings = settings_of(db)
    for user in users:
        recipient = Recipient(user.email, user.display_name, user_id=user.id)
        queue_email(
            db,
            settings,
            key=_event_key(event, kind, recipient),
            kind=kind,
            recipient=recipient,
            category=None,
            partner_id=event.partner_id,
            event_id=event.id,
            context=context,
        )
