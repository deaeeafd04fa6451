"""Mailing a holder their one-time sign-in link: made by accounts, queued like every email.

The link's token exists only in this mail (and the outbox row that sends it); the database
keeps its hash. The mail goes out through the worker, retried as any other.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from charter.accounts import holders
from charter.core import clock
from charter.db.engine import settings_of
from charter.notify import service

SIGN_IN_PATH = "/me/sign-in/"
"""Where a link's token is followed (the page asks the holder to confirm, then signs in)."""


def send_sign_in_link(db: Session, *, email: str, client: str | None) -> bool:
    """Queue a sign-in link to ``email`` if a person has that address; whether one was queued.

    Callers answer the same either way (no account enumeration); the return value is for
    tests and logs. Raises :class:`~charter.core.errors.TooManyAttempts` while the address or
    the client must wait.
    """
    link = holders.request_link(db, email=email, client=client)
    if link is None:
        return False
    settings = settings_of(db)
    person = service.person_recipient(db, link.person_id)
    name = person.name if person is not None else ""
    expires = clock.ensure_utc(link.expires_at).strftime("%H:%M UTC")
    service.queue_email(
        db,
        settings,
        key=f"holder-link:{link.link_id}",
        kind="holder_sign_in",
        recipient=service.Recipient(link.address, name, person_id=link.person_id),
        category=None,
        context={
            "link": settings.public_url.rstrip("/") + SIGN_IN_PATH + link.token,
            "expires_at": expires,
        },
    )
    return True
