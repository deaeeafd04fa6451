"""Opting out of optional mail: signed links, and the record of who opted out of what.

Reminders, tier notices, change notices and new badge notices are optional, each category on
its own; notices of expiry, revocation, suspension and termination are not, and are sent
whatever the preferences say. A link carries the address and the category, signed with the
deployment secret (itsdangerous), so it needs no sign-in and cannot be forged for someone else.
"""

from __future__ import annotations

from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.config import Settings, secret_key
from charter.core import clock
from charter.core.errors import NotFound
from charter.notify.models import EmailOptOut

_SALT = "charter.notify.unsubscribe"


class Category(StrEnum):
    """Kinds of optional mail a recipient can turn off."""

    REMINDERS = "reminders"
    TIERS = "tiers"
    CHANGES = "changes"
    AWARDS = "awards"  # "you earned a badge", on issue and on renewal

    @property
    def label(self) -> str:
        """How the category is named to the recipient."""
        return {
            Category.REMINDERS: "renewal reminders",
            Category.TIERS: "partner tier notices",
            Category.CHANGES: "certification change notices",
            Category.AWARDS: "new badge notices",
        }[self]


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(settings), salt=_SALT)


def make_token(settings: Settings, *, address: str, category: Category) -> str:
    """A token naming ``address`` and ``category``, for the unsubscribe link."""
    return str(_serializer(settings).dumps({"a": address.lower(), "c": category.value}))


def read_token(settings: Settings, token: str) -> tuple[str, Category]:
    """The address and category of a token; :class:`NotFound` when it is not ours."""
    try:
        data = _serializer(settings).loads(token)
        return str(data["a"]), Category(data["c"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("this unsubscribe link is not valid") from None


def unsubscribe_url(settings: Settings, *, address: str, category: Category) -> str:
    """The link to the page that confirms an opt-out (and takes RFC 8058 one-click posts)."""
    token = make_token(settings, address=address, category=category)
    return f"{settings.public_url.rstrip('/')}/unsubscribe/{token}"


def opted_out(db: Session, *, address: str, category: str) -> bool:
    """Whether ``address`` turned off mail of ``category``."""
    found = db.scalar(
        select(EmailOptOut.id).where(
            EmailOptOut.address == address.lower(), EmailOptOut.category == category
        )
    )
    return found is not None


def opt_out(db: Session, *, address: str, category: Category, source: str) -> bool:
    """Record that ``address`` wants no more mail of ``category``; whether it is new."""
    if opted_out(db, address=address, category=category.value):
        return False
    db.add(
        EmailOptOut(
            address=address.lower(),
            category=category.value,
            source=source,
            created_at=clock.now(),
        )
    )
    db.flush()
    return True
