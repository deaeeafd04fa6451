"""The issuer's keyring: the active signing key, rotation, and every key ever used.

The issuer is a ``did:key`` by default (the key is the identifier: nothing to host). With an
https ``CHARTER_PUBLIC_URL`` it is the ``did:web`` of that URL, whose document (served at
``/.well-known/did.json``) lists every key, retired ones too, so that what a retired key signed
keeps verifying. Private keys are sealed with a key-encryption key derived from the deployment
secret and are opened only in memory, when something is signed.

Keys have a purpose (:class:`KeyPurpose`), each with its own active key, rotated on its own.
Credential keys sign credentials, status lists and checkpoints, are named by the issuer's DID
and are kept for ever. Token keys sign JWTs (:mod:`charter.crypto.tokens`): they are named by
their RFC 7638 thumbprint, published in the JWKS only while a token they signed may still be
valid (``CHARTER_TOKEN_MAX_LIFETIME_DAYS`` after their retirement), and then dropped. A token
key never verifies a credential, nor a credential key a token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from charter.config import Settings, secret_key
from charter.core import clock, events
from charter.core.auth import Permission, Principal
from charter.core.errors import NotFound
from charter.core.ids import new_id
from charter.crypto import dids, keys
from charter.crypto.models import KeyPurpose, SigningKey

_KEYRING_ACTOR = Principal.system("keyring")

THUMBPRINT_URI_PREFIX = "urn:ietf:params:oauth:jwk-thumbprint:sha-256:"
"""A token key's verification method: its RFC 9278 thumbprint URI (the ``kid`` follows)."""
TOKEN_CLOCK_LEEWAY = timedelta(seconds=60)
"""The clock skew a token's verifier allows on ``exp``, ``nbf`` and ``iat`` (RFC 8725 §3.10)."""
_JWKS_CHANGED = "charter.token_keys_changed"
_token_key_listeners: list[Callable[[], None]] = []


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
    purpose: KeyPurpose = KeyPurpose.CREDENTIAL

    @property
    def active(self) -> bool:
        """Whether this key signs new documents."""
        return self.retired_at is None


@dataclass(frozen=True, slots=True)
class TokenKey:
    """A token key as published in the JWKS: its ``kid`` and public key."""

    kid: str
    public_key: Ed25519PublicKey
    created_at: datetime
    retired_at: datetime | None


def issuer_did_web(settings: Settings) -> str | None:
    """The ``did:web`` of the public URL when it is https; ``None`` means the issuer is did:key."""
    if settings.public_url.startswith("https://"):
        return dids.did_web_from_url(settings.public_url.rstrip("/"))
    return None


def _kek(settings: Settings) -> bytes:
    return keys.derive_kek(secret_key(settings))


def _wants(key: SigningKey, settings: Settings) -> bool:
    """Whether ``key`` can sign as the issuer these settings describe."""
    if key.purpose == KeyPurpose.TOKEN:
        # A token names its issuer in "iss", not through its key: any token key will do.
        return True
    web = issuer_did_web(settings)
    if web is not None:
        return key.controller == web
    return key.controller.startswith(dids.DID_KEY_PREFIX)


def _new_key(db: Session, settings: Settings, purpose: KeyPurpose) -> SigningKey:
    private_key = keys.generate_private_key()
    public_key = private_key.public_key()
    key_id = new_id("sgk")
    web = issuer_did_web(settings)
    if purpose is KeyPurpose.TOKEN:
        controller = settings.public_url.rstrip("/")
        method = THUMBPRINT_URI_PREFIX + keys.jwk_thumbprint(public_key)
        _token_keys_changed(db)
    elif web is not None:
        controller = web
        method = f"{web}#{key_id}"
    else:
        controller = dids.did_key_from_public(public_key)
        method = dids.did_key_verification_method(controller)
    row = SigningKey(
        id=key_id,
        purpose=purpose.value,
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


def _active_row(
    db: Session, purpose: KeyPurpose = KeyPurpose.CREDENTIAL, *, lock: bool = False
) -> SigningKey | None:
    query = select(SigningKey).where(
        SigningKey.purpose == purpose.value, SigningKey.active.is_(True)
    )
    if lock:
        query = query.with_for_update()
    return db.scalar(query)


def _retire(db: Session, key: SigningKey) -> None:
    key.active = None
    key.retired_at = clock.now()
    if key.purpose == KeyPurpose.TOKEN:
        _token_keys_changed(db)
    # The unique ("purpose", "active") pair is freed before the new key is inserted.
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
        purpose=new.purpose,
        reason=reason,
    )


def _signer(key: SigningKey, settings: Settings) -> Signer:
    private_key = keys.open_private_key(key.sealed_private_key, _kek(settings), key.id)
    return Signer(key.id, key.controller, key.verification_method, private_key)


def active_signer(
    db: Session, settings: Settings, purpose: KeyPurpose = KeyPurpose.CREDENTIAL
) -> Signer:
    """The key of ``purpose`` that signs new documents, created on first use (and, for
    credentials, when the issuer changed)."""
    key = _active_row(db, purpose)
    if key is not None and _wants(key, settings):
        return _signer(key, settings)
    # Creating or replacing the active key: take the row lock so that concurrent callers wait
    # for one another (the unique ("purpose", "active") pair refuses a second active key).
    key = _active_row(db, purpose, lock=True)
    if key is not None and _wants(key, settings):
        return _signer(key, settings)
    if key is not None:
        # CHARTER_PUBLIC_URL changed (e.g. to https): the old issuer id no longer matches.
        _retire(db, key)
        new = _new_key(db, settings, purpose)
        _rotated_event(db, _KEYRING_ACTOR, key, new, "issuer identifier changed")
    else:
        try:
            # A savepoint: if another process created the first key meanwhile, use theirs.
            with db.begin_nested():
                new = _new_key(db, settings, purpose)
        except IntegrityError:
            existing = _active_row(db, purpose)
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
            purpose=new.purpose,
        )
    return _signer(new, settings)


def rotate_key(
    db: Session,
    actor: Principal,
    settings: Settings,
    *,
    purpose: KeyPurpose = KeyPurpose.CREDENTIAL,
) -> KeyInfo:
    """Retire the active key of ``purpose`` and create a new one; retired keys keep verifying
    what they signed (a token key while its tokens may live, a credential key for ever)."""
    actor.require(Permission.KEYS_MANAGE)
    old = _active_row(db, purpose, lock=True)
    if old is not None:
        _retire(db, old)
    new = _new_key(db, settings, purpose)
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
        .where(SigningKey.purpose == KeyPurpose.CREDENTIAL, SigningKey.controller == controller)
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
            SigningKey.purpose == KeyPurpose.CREDENTIAL,
            SigningKey.verification_method == verification_method,
        )
    )
    if multikey is None:
        return None
    return keys.public_key_from_multibase(multikey)


def controller_of(db: Session, verification_method: str) -> str | None:
    """The controller (issuer id) of one of our verification methods; else ``None``."""
    return db.scalar(
        select(SigningKey.controller).where(
            SigningKey.purpose == KeyPurpose.CREDENTIAL,
            SigningKey.verification_method == verification_method,
        )
    )


def list_keys(db: Session, purpose: KeyPurpose | None = None) -> list[KeyInfo]:
    """Every signing key (of ``purpose``, if given), oldest first (public parts only)."""
    query = select(SigningKey).order_by(SigningKey.created_at, SigningKey.id)
    if purpose is not None:
        query = query.where(SigningKey.purpose == purpose.value)
    return [_info(row) for row in db.scalars(query)]


def needs_new_key(
    db: Session, settings: Settings, purpose: KeyPurpose = KeyPurpose.CREDENTIAL
) -> bool:
    """Whether no key of ``purpose`` signs yet (a fresh deployment, or a changed issuer)."""
    active = _active_row(db, purpose)
    return active is None or not _wants(active, settings)


def token_key_window(settings: Settings) -> timedelta:
    """How long a retired token key stays published: the longest a token may live, plus the
    clock skew its verifiers allow past the token's expiry."""
    return timedelta(days=settings.token_max_lifetime_days) + TOKEN_CLOCK_LEEWAY


def published_token_keys(db: Session, settings: Settings) -> list[TokenKey]:
    """The token keys a verifier needs, newest first: the active one and every retired one
    whose tokens may still be valid (retired less than :func:`token_key_window` ago)."""
    since = clock.now() - token_key_window(settings)
    rows = db.execute(
        select(
            SigningKey.verification_method,
            SigningKey.public_key_multibase,
            SigningKey.created_at,
            SigningKey.retired_at,
        )
        .where(
            SigningKey.purpose == KeyPurpose.TOKEN,
            SigningKey.retired_at.is_(None) | (SigningKey.retired_at > since),
        )
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc())
    )
    return [
        TokenKey(
            kid=method.removeprefix(THUMBPRINT_URI_PREFIX),
            public_key=keys.public_key_from_multibase(multikey),
            created_at=clock.ensure_utc(created_at),
            retired_at=None if retired_at is None else clock.ensure_utc(retired_at),
        )
        for method, multikey, created_at, retired_at in rows
    ]


def drop_expired_token_keys(db: Session, actor: Principal, settings: Settings) -> list[str]:
    """Delete the retired token keys whose tokens have all expired (retired at least
    :func:`token_key_window` ago), private halves included; returns their ``kid``s.

    They are no longer published, so nothing they signed verifies any more: their sealed
    private keys would be secrets kept for no use.
    """
    actor.require(Permission.KEYS_MANAGE)
    until = clock.now() - token_key_window(settings)
    rows = list(
        db.scalars(
            select(SigningKey)
            .where(
                SigningKey.purpose == KeyPurpose.TOKEN,
                SigningKey.retired_at.is_not(None),
                SigningKey.retired_at <= until,
            )
            .order_by(SigningKey.created_at, SigningKey.id)
            .with_for_update()
        )
    )
    dropped: list[str] = []
    for row in rows:
        events.append(
            db,
            actor,
            "signing_key.dropped",
            row,
            purpose=row.purpose,
            verification_method=row.verification_method,
            public_key_multibase=row.public_key_multibase,
        )
        db.delete(row)
        dropped.append(row.verification_method.removeprefix(THUMBPRINT_URI_PREFIX))
    if dropped:
        db.flush()
        _token_keys_changed(db)
    return dropped


def on_token_keys_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after each commit (in this process) that added, retired or dropped
    a token key: the published JWKS changed."""
    _token_key_listeners.append(listener)


def _token_keys_changed(db: Session) -> None:
    db.info[_JWKS_CHANGED] = True


@event.listens_for(Session, "after_rollback")
def _forget_token_key_changes(db: Session) -> None:
    db.info.pop(_JWKS_CHANGED, None)


@event.listens_for(Session, "after_commit")
def _tell_token_key_changes(db: Session) -> None:
    if db.info.pop(_JWKS_CHANGED, None):
        for listener in _token_key_listeners:
            listener()


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
        .where(SigningKey.purpose == KeyPurpose.CREDENTIAL, SigningKey.controller == did)
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
        purpose=KeyPurpose(row.purpose),
    )


__all__ = [
    "THUMBPRINT_URI_PREFIX",
    "TOKEN_CLOCK_LEEWAY",
    "KeyInfo",
    "KeyPurpose",
    "Signer",
    "TokenKey",
    "active_signer",
    "controller_of",
    "did_document",
    "drop_expired_token_keys",
    "issuer_did_web",
    "list_keys",
    "on_token_keys_change",
    "public_key_for",
    "published_token_keys",
    "rotate_key",
    "signer_for_controller",
    "token_key_window",
]
