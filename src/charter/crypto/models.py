"""Tables of the keyring: the issuer's Ed25519 keys (private halves sealed at rest), and the
checkpoints of the events log they sign."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from charter.core import clock
from charter.core.models import SeqType
from charter.db.base import Base


class KeyPurpose(StrEnum):
    """What a key signs. Each purpose has its own active key and is rotated on its own."""

    # Credentials, status lists and checkpoints: kept for ever, listed in the DID document.
    CREDENTIAL = "credential"
    # JWTs (license tokens): published in the JWKS only while tokens it signed may live.
    TOKEN = "token"  # noqa: S105 - a purpose, not a secret


class SigningKey(Base):
    """One Ed25519 key: its public forms, its sealed private key, and when it was retired."""

    __tablename__ = "signing_keys"
    __event_subject__ = "signing_key"
    # One active key per purpose: "active" is True for it and NULL once retired, and NULLs are
    # distinct on both databases, so two processes cannot both create an active key.
    __table_args__ = (UniqueConstraint("purpose", "active", name="uq_signing_keys_purpose_active"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(
        String(16), default=KeyPurpose.CREDENTIAL, server_default=KeyPurpose.CREDENTIAL.value
    )
    # The DID that controls the key, and the issuer id of everything it signs (for a token key,
    # the deployment's public URL when it was made).
    controller: Mapped[str] = mapped_column(String(500), index=True)
    # A token key's is its RFC 9278 thumbprint URI, whose last part is the JWS "kid".
    verification_method: Mapped[str] = mapped_column(String(600), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(100))
    # AES-256-GCM under the key-encryption key, bound to ``id`` (charter.crypto.keys).
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    # True for the one key of its purpose that signs new documents, NULL once retired.
    active: Mapped[bool | None]
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
