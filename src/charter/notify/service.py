"""Deciding to send an email: one recipient, rendered now, queued for the worker, never twice.

Handlers call :func:`queue_email` once per recipient. The message row and its sending job are
written in the handler's transaction; its ``key`` is unique, so a handler that runs again
(at-least-once) queues nothing new. Mail that must not go out (the recipient opted out of
its category, there is no address, SMTP is not configured) is recorded as skipped, with why.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from email.utils import make_msgid, parseaddr
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.accounts.models import User
from charter.config import Settings
from charter.core import clock
from charter.core.auth import Role
from charter.core.ids import new_id
from charter.notify import render, unsubscribe
from charter.notify.enums import MessageStatus
from charter.notify.models import EmailMessage
from charter.notify.unsubscribe import Category
from charter.partners.models import Partner, Person
from charter.worker import jobs

log = logging.getLogger("charter.notify")

SEND_TASK = "notify.send"
MAX_KEY_LENGTH = 300


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who one email goes to: the address, a name to greet, and whose address it is."""

    address: str
    name: str
    person_id: str | None = None
    user_id: str | None = None


HOLDER_PAGE = "/me/badges"
"""Where a holder sees and sets up their badges (signing in by emailed link)."""


def holder_url(settings: Settings) -> str:
    """The holder's badges page, as mail links to it."""
    return settings.public_url.rstrip("/") + HOLDER_PAGE


def person_recipient(db: Session, person_id: str | None) -> Recipient | None:
    """A person, at their primary address (``None`` when they have none)."""
    person = db.get(Person, person_id) if person_id else None
    if person is None or person.primary_email is None:
        return None
    return Recipient(person.primary_email, person.display_name, person_id=person.id)


def firm_admins(
    db: Session, partner_id: str | None, *, disabled_too: bool = False
) -> list[Recipient]:
    """The firm's partner-admin users (those still enabled, unless ``disabled_too``)."""
    if partner_id is None:
        return []
    query = select(User).where(User.partner_id == partner_id, User.role == Role.PARTNER_ADMIN.value)
    if not disabled_too:
        query = query.where(User.disabled_at.is_(None))
    return [
        Recipient(user.email, user.display_name, user_id=user.id)
        for user in db.scalars(query.order_by(User.id))
    ]


def partner_name(db: Session, partner_id: str | None) -> str:
    """The firm's name, for greetings and subjects."""
    partner = db.get(Partner, partner_id) if partner_id else None
    return partner.name if partner is not None else "your firm"


def format_date(value: Any) -> str:
    """A date as people read it in mail: ``2026-04-01`` (ISO strings from payloads too)."""
    if isinstance(value, datetime):
        return clock.ensure_utc(value).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value:
        try:
            return format_date(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return value
    return ""


def masked(address: str) -> str:
    """``address`` as logs show it: its first character and its domain (``p***@firm.example``).

    Logs are kept and shipped more widely than the mail table, so they carry the message id
    (which leads to the full record) and no more of the address than tells one firm's mail
    from another's.
    """
    local, at, domain = address.strip().rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def stored_key(key: str) -> str:
    """``key`` as stored: long ones (long addresses) end in a hash instead, to fit the column."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return key[:200] + ":" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _domain(settings: Settings) -> str:
    address = parseaddr(settings.mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def queue_email(
    db: Session,
    settings: Settings,
    *,
    key: str,
    kind: str,
    recipient: Recipient,
    context: dict[str, Any],
    category: Category | None,
    partner_id: str | None = None,
    event_id: str | None = None,
) -> EmailMessage | None:
    """Record one email to ``recipient`` and queue its sending; ``None`` if ``key`` exists."""
    key = stored_key(key)
    if db.scalar(select(EmailMessage.id).where(EmailMessage.key == key)) is not None:
        return None
    address = recipient.address.strip()
    skip_reason = None
    if category is not None and unsubscribe.opted_out(db, address=address, category=category):
        skip_reason = f"the recipient unsubscribed from {category.label}"
    elif settings.smtp_host is None:
        skip_reason = "email is not configured (CHARTER_SMTP_HOST is unset)"
    link = (
        unsubscribe.unsubscribe_url(settings, address=address, category=category)
        if category is not None
        else None
    )
    locale = settings.default_locale
    rendered = render.render(
        kind,
        {
            **context,
            "recipient_name": recipient.name,
            "issuer_name": settings.issuer_name,
            "unsubscribe_url": link,
            "locale": locale,
        },
        locale=locale,
        locale_dir=settings.locale_dir,
    )
    message_id = new_id("eml")
    message = EmailMessage(
        id=message_id,
        key=key,
        kind=kind,
        category=category.value if category is not None else None,
        recipient=address,
        person_id=recipient.person_id,
        user_id=recipient.user_id,
        partner_id=partner_id,
        event_id=event_id,
        locale=locale,
        message_id=make_msgid(idstring=message_id, domain=_domain(settings)),
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        unsubscribe_url=link,
        status=MessageStatus.SKIPPED.value if skip_reason else MessageStatus.PENDING.value,
        attempts=0,
        last_error=skip_reason,
        created_at=clock.now(),
    )
    db.add(message)
    db.flush()
    if skip_reason:
        log.info("email %s (%s to %s) skipped: %s", message.id, kind, masked(address), skip_reason)
    else:
        jobs.enqueue(db, SEND_TASK, message.id)
    return message
