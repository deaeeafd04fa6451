"""The signing keys table: the issuer's Ed25519 keys, private halves sealed at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from charter.core import clock
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
