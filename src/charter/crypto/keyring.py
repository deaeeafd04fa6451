"""The issuer's keyring: the active signing key, rotation, and every key ever used.

The issuer is a ``did:key`` by default (the key is the identifier: nothing to host). With an
https ``CHARTER_PUBLIC_URL`` it is the ``did:web`` of that URL, whose document (served at
``/.well-known/did.json``) lists every key, retired ones too, so that what a retired key signed
keeps verifying. Private keys are sealed with a key-encryption key derived from the deployment
secret and are opened only in memory, when something is signed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.config import Settings, secret_key
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.core.ids import new_id
from charter.crypto import dids, keys
from charter.crypto.models import SigningKey

_KEYRING_ACTOR = Principal.system("keyring")


@dataclass(frozen=True, slots=True)
class Signer:
    """What signing needs: which key, whose it is, how verifiers find it, and the key itself."""

    key_id: str
    controller: str
    verification_method: str
    private_key: Ed25519PrivateKey = field(repr=False)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed to people: public parts only."""

    key_id: str
    controller: str
    verification_method: str
    public_key_multibase: str
    created_at: datetime
    retired_at: datetime | None

    @property
    def active(self) -> bool:
        """Whether this key signs new documents."""
        return self.retired_at is None


def issuer_did_web(settings: Settings) -> str | None:
    """The ``did:web`` of the public URL when it is https; ``None`` means the issuer is did:key."""
    if settings.public_url.startswith("https://"):
        return dids.did_web_from_url(settings.public_url.rstrip("/"))
    return None


def _kek(settings: Settings) -> bytes:
    return keys.derive_kek(secret_key(settings))


def _wants(key: SigningKey, settings: Settings) -> bool:
    """Whether ``key`` can sign as the issuer these settings describe."""
    web = issuer_did_web(settings)
    if web is not None:
        return key.controller == web
    return key.controller.startswith(dids.DID_KEY_PREFIX)


def _new_key(db: Session, settings: Settings) -> SigningKey:
    private_key = keys.generate_private_key()
    public_key = private_key.public_key()
    key_id = new_id("sgk")
    web = issuer_did_web(settings)
    if web is not None:
        controller = web
        method = f"{web}#{key_id}"
    else:
        controller = dids.did_key_from_public(public_key)
        method = dids.did_key_verification_method(controller)
    row = SigningKey(
        id=key_id,
        controller=controller,
        verification_method=method,
        public_key_multibase=keys.public_key_multibase(public_key),
        sealed_private_key=keys.seal_private_key(private_key, _kek(settings), key_id),
        active=True,
        created_at=clock.now(),
        retired_at=None,
    )
    db.add(row)
    db.flush()
    return row


def _active_row(db: Session, *, lock: bool = False) -> SigningKey | None:
    query = select(SigningKey).where(SigningKey.active.is_(True))
    if lock:
        query = query.with_for_update()
    return db.scalar(query)


def _retire(db: Session, key: SigningKey) -> None:
    key.active = None
    key.retired_at = clock.now()
    # The unique "active" column is freed before the new key is inserted.
    db.flush()


def _rotated_event(
    db: Session, actor: Principal, old: SigningKey | None, new: SigningKey, reason: str
) -> None:
    events.append(
        db,
        actor,
        "signing_key.rotated",
        new,
        previous_key_id=old.id if old is not None else None,
        previous_verification_method=old.verification_method if old is not None else None,
        verification_method=new.verification_method,
        controller=new.controller,
        public_key_multibase=new.public_key_multibase,
        reason=reason,
    )


def _signer(key: SigningKey, settings: Settings) -> Signer:
    private_key = keys.open_private_key(key.sealed_private_key, _kek(settings), key.id)
    return Signer(key.id, key.controller, key.verification_method, private_key)


def active_signer(db: Session, settings: Settings) -> Signer:
    """The key that signs new documents, created on first use (and when the issuer changed)."""
    key = _active_row(db)
    if key is not None and _wants(key, settings):
        return _signer(key, settings)
    # Creating or replacing the active key: take the row lock so that concurrent callers wait
    # for one another (the unique "active" column refuses a second active key regardless).
    key = _active_row(db, lock=True)
    if key is not None and _wants(key, settings):
        return _signer(key, settings)
    if key is not None:
        # CHARTER_PUBLIC_URL changed (e.g. to https): the old issuer id no longer matches.
        _retire(db, key)
        new = _new_key(db, settings)
        _rotated_event(db, _KEYRING_ACTOR, key, new, "issuer identifier changed")
    else:
        try:
            # A savepoint: if another process created the first key meanwhile, use theirs.
            with db.begin_nested():
                new = _new_key(db, settings)
        except IntegrityError:
            existing = _active_row(db)
            if existing is None:
                raise
            return _signer(existing, settings)
        events.append(
            db,
            _KEYRING_ACTOR,
            "signing_key.created",
            new,
            verification_method=new.verification_method,
            controller=new.controller,
            public_key_multibase=new.public_key_multibase,
        )
    return _signer(new, settings)


def rotate_key(db: Session, actor: Principal, settings: Settings) -> KeyInfo:
    """Retire the active key and create a new one; retired keys keep verifying what they signed."""
    actor.require(Permission.KEYS_MANAGE)
    old = _active_row(db, lock=True)
    if old is not None:
        _retire(db, old)
    new = _new_key(db, settings)
    _rotated_event(db, actor, old, new, "rotated on request")
    return _info(new)


def signer_for_controller(db: Session, settings: Settings, controller: str) -> Signer:
    """A key that may sign as ``controller``: the active one if it does, else its newest key.

    A ``did:key`` issuer is its key, so documents that must stay under an old did:key issuer
    (its status lists) are signed by that retired key; a did:web issuer uses its active key.
    """
    active = _active_row(db)
    if active is not None and active.controller == controller:
        return _signer(active, settings)
    key = db.scalar(
        select(SigningKey)
        .where(SigningKey.controller == controller)
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
        .limit(1)
    )
    if key is None:
        raise NotFound(f"no signing key for {controller}")
    return _signer(key, settings)


def public_key_for(db: Session, verification_method: str) -> Ed25519PublicKey | None:
    """The public key of one of our verification methods, current or retired; else ``None``."""
    multikey = db.scalar(
        select(SigningKey.public_key_multibase).where(
            SigningKey.verification_method == verification_method
        )
    )
    if multikey is None:
        return None
    return keys.public_key_from_multibase(multikey)


def controller_of(db: Session, verification_method: str) -> str | None:
    """The controller (issuer id) of one of our verification methods; else ``None``."""
    return db.scalar(
        select(SigningKey.controller).where(SigningKey.verification_method == verification_method)
    )


def list_keys(db: Session) -> list[KeyInfo]:
    """Every signing key, oldest first (public parts only)."""
    rows = db.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id))
    return [_info(row) for row in rows]


def needs_new_key(db: Session, settings: Settings) -> bool:
    """Whether no key signs for the issuer yet (a fresh deployment, or a changed issuer)."""
    active = _active_row(db)
    return active is None or not _wants(active, settings)


def did_document(db: Session, settings: Settings) -> dict[str, Any]:
    """The issuer's ``did:web`` document listing every key under assertionMethod."""
    did = issuer_did_web(settings)
    if did is None:
        raise NotFound("the issuer is a did:key (CHARTER_PUBLIC_URL is not https): no did.json")
    if needs_new_key(db, settings):
        # A fresh deployment (or one whose issuer just changed) publishes its key at once.
        # Otherwise nothing is unsealed: the document holds public keys only.
        active_signer(db, settings)
    rows = db.execute(
        select(SigningKey.id, SigningKey.public_key_multibase)
        .where(SigningKey.controller == did)
        .order_by(SigningKey.created_at, SigningKey.id)
    )
    listed = [(key_id, keys.public_key_from_multibase(multikey)) for key_id, multikey in rows]
    return dids.did_web_document(did, listed)


def _info(row: SigningKey) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        controller=row.controller,
        verification_method=row.verification_method,
        public_key_multibase=row.public_key_multibase,
        created_at=row.created_at,
        retired_at=row.retired_at,
    )


__all__ = [
    "KeyInfo",
    "Signer",
    "active_signer",
    "controller_of",
    "did_document",
    "issuer_did_web",
    "list_keys",
    "public_key_for",
    "rotate_key",
    "signer_for_controller",
]
