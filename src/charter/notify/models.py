"""Notify tables: every email Charter means to send, and who has opted out of what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.core.models import SeqType
from charter.db.base import Base


class EmailMessage(Base):
    """One email to one recipient, rendered when it was decided and sent as rendered.

    ``key`` says what the mail is about (an event and a recipient, or an award, an offset and
    an expiry date for a reminder) and is unique: deciding twice never queues it twice.
    ``message_id`` is the Message-ID header, the same on every attempt, so a receiving system
    can drop the duplicate a crash between sending and recording may cause.
    """

    __tablename__ = "email_messages"
    __table_args__ = (Index("ix_email_messages_recipient", "recipient"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(64))  # the template
    category: Mapped[str | None] = mapped_column(String(32))  # None: mandatory mail
    recipient: Mapped[str] = mapped_column(String(320))
    person_id: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[str | None] = mapped_column(String(40))
    partner_id: Mapped[str | None] = mapped_column(String(40), index=True)
    event_id: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class EmailOptOut(Base):
    """An address that asked for no more optional mail of one category."""

    __tablename__ = "email_opt_outs"
    __table_args__ = (UniqueConstraint("address", "category", name="uq_email_opt_outs_address"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(320))
    category: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # page or one-click
    created_at: Mapped[datetime]
