"""Tables of the keyring: the issuer's Ed25519 keys (private halves sealed at rest), and the
checkpoints of the events log they sign."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from charter.core import clock
from charter.core.models import SeqType
from charter.db.base import Base


class SigningKey(Base):
    """One Ed25519 key: its public forms, its sealed private key, and when it was retired."""

    __tablename__ = "signing_keys"
    __event_subject__ = "signing_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The DID that controls the key, and the issuer id of everything it signs.
    controller: Mapped[str] = mapped_column(String(500), index=True)
    verification_method: Mapped[str] = mapped_column(String(600), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(100))
    # AES-256-GCM under the key-encryption key, bound to ``id`` (charter.crypto.keys).
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # True for the one key that signs new documents, NULL once retired: a unique column (NULLs
    # are distinct on both databases) so two processes cannot both create an active key.
    active: Mapped[bool | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    retired_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        # Never show the sealed key, even encrypted, in logs or tracebacks.
        return f"SigningKey(id={self.id!r}, controller={self.controller!r})"


class EventCheckpoint(Base):
    """A signed statement of the events log's head at one time (:mod:`charter.crypto.checkpoints`).

    ``jws`` is the whole statement and the only part a verifier trusts; the other columns copy
    its payload so that the latest checkpoint can be found and listed without parsing.
    """

    __tablename__ = "event_checkpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(SeqType, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(SeqType)
    checkpointed_at: Mapped[datetime]
    verification_method: Mapped[str] = mapped_column(String(600))
    jws: Mapped[str] = mapped_column(Text)
