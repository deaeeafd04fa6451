"""Status lists: handing out indexes, flipping bits, and serving the signed lists.

Each issuer (key controller) has revocation lists and suspension lists of
:data:`LIST_SIZE` entries. Indexes are drawn at random among the free ones, so a list position
says nothing about when or to whom a credential was issued; the ``status_list_entries``
primary key makes handing an index out twice impossible. Bit changes take a row lock on the
list (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serializes writers itself), so concurrent
revocations never overwrite one another. The signed ``BitstringStatusListCredential`` is kept
on the row: a transaction that opens a list or changes its bits signs it anew when it commits
(once per list, however many bits it flipped), so serving a list only reads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from charter.config import Settings
from charter.core import clock
from charter.core.csvimport import table_of
from charter.core.errors import Invalid, NotFound
from charter.core.ids import is_id, new_id
from charter.credentials import proofs, statuslist
from charter.credentials.models import StatusList, StatusListEntry
from charter.credentials.statuslist import StatusBits, StatusPurpose
from charter.crypto import keyring
from charter.db import bulk
from charter.db.engine import READ_ONLY, settings_of

LIST_SIZE = statuslist.MIN_ENTRIES
"""Entries per new list in production; tests pass a smaller ``size`` to fill lists quickly."""

MEDIA_TYPE = "application/vc+ld+json"
CACHE_CONTROL = "public, max-age=300"

_TO_SIGN = "charter.status_lists_to_sign"
"""``Session.info`` key: the lists this transaction changed, signed when it commits."""


_SIGNED = "charter.status_lists_signed"
"""``Session.info`` key: the lists signed by the committing transaction, for the listeners."""
_listeners: list[Callable[[str], None]] = []


def _changed(db: Session, list_id: str) -> None:
    db.info.setdefault(_TO_SIGN, set()).add(list_id)


@event.listens_for(Session, "before_commit")
def _sign_changed_lists(db: Session) -> None:
    """Sign every list the committing transaction changed, inside it (under its row locks)."""
    changed = db.info.pop(_TO_SIGN, None)
    if not changed:
        return
    settings = settings_of(db)
    db.info[_SIGNED] = changed  # told to the listeners once the transaction has committed
    for list_id in sorted(changed):
        row = db.get(StatusList, list_id)
        if row is None:
            continue
        try:
            text = _sign(db, row, settings)
        except NotFound:
            # No key of the list's controller signs here (yet): the list is signed when it is
            # first served, as lists made before copies were kept are.
            continue
        _store(db, row, text)


@event.listens_for(Session, "after_rollback")
def _forget_changed_lists(db: Session) -> None:
    db.info.pop(_TO_SIGN, None)
    db.info.pop(_SIGNED, None)


@event.listens_for(Session, "after_commit")
def _tell_changed_lists(db: Session) -> None:
    changed = db.info.pop(_SIGNED, None)
    if changed:
        for listener in _listeners:
            for list_id in changed:
                listener(list_id)


def on_change(listener: Callable[[str], None]) -> None:
    """Call ``listener(list_id)`` after each commit that changed a list (in this process)."""
    _listeners.append(listener)


def list_url(settings: Settings, list_id: str) -> str:
    """Where a status list is published: ``<public_url>/status/<list id>``."""
    return f"{settings.public_url.rstrip('/')}/status/{list_id}"


def _check_purpose(purpose: str) -> StatusPurpose:
    if purpose not in statuslist.PURPOSES:
        raise Invalid.field("purpose", f"must be one of {', '.join(statuslist.PURPOSES)}")
    return purpose  # type: ignore[return-value]


def _bitmap(size: int) -> bytes:
    return bytes((size + 7) // 8)


def _lock(db: Session, list_id: str) -> StatusList:
    # populate_existing: after waiting for the lock, read the row as the other writer left it,
    # not as this session cached it earlier.
    row = db.scalar(
        select(StatusList)
        .where(StatusList.id == list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"status list {list_id} not found")
    return row


def _open_list(db: Session, purpose: StatusPurpose, controller: str, size: int) -> StatusList:
    """A list of this purpose and issuer with room, locked; a new one when all are full."""
    candidate = db.scalar(
        select(StatusList.id)
        .where(
            StatusList.purpose == purpose,
            StatusList.controller == controller,
            StatusList.used < StatusList.size,
        )
        .order_by(StatusList.created_at, StatusList.id)
        .limit(1)
    )
    if candidate is not None:
        row = _lock(db, candidate)
        if row.used < row.size:
            return row
    now = clock.now()
    row = StatusList(
        id=new_id("stl"),
        purpose=purpose,
        controller=controller,
        size=size,
        bits=_bitmap(size),
        allocated=_bitmap(size),
        used=0,
        version=1,
        signed_document=None,
        signed_version=None,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    _changed(db, row.id)
    return row


def allocate(
    db: Session, purpose: str, *, controller: str, size: int = LIST_SIZE
) -> tuple[StatusList, int]:
    """Hand out one random free index of an open list of ``purpose`` for ``controller``."""
    lists = allocate_many(db, purpose, 1, controller=controller, size=size)
    return lists[0]


def allocate_many(
    db: Session, purpose: str, count: int, *, controller: str, size: int = LIST_SIZE
) -> list[tuple[StatusList, int]]:
    """Hand out ``count`` random free indexes, filling open lists and starting new ones."""
    checked = _check_purpose(purpose)
    if size < 8 or size % 8:
        raise ValueError("a status list size must be a positive multiple of 8")
    handed: list[tuple[StatusList, int]] = []
    now = clock.now()
    while len(handed) < count:
        row = _open_list(db, checked, controller, size)
        allocated = bytearray(row.allocated.ljust(row.size // 8, b"\0"))
        picked, used = _pick(allocated, row.size, count - len(handed))
        if not picked:  # pragma: no cover - the count said free, the bitmap full: correct it
            row.used = used
            db.flush()
            continue
        _insert_entries(db, row.id, picked, now)
        row.allocated = bytes(allocated)
        row.used = used
        row.updated_at = now
        db.flush()
        handed.extend((row, index) for index in picked)
    return handed


# The free bit positions (0..7, MSB first) of every byte value of an allocation bitmap.
_FREE_BITS = tuple(
    tuple(bit for bit in range(8) if not value & (0x80 >> bit)) for value in range(256)
)
_DRAWS_PER_READ = 1024


class _Draws:
    """Uniform random integers from the operating system's CSPRNG, read in blocks.

    One ``os.urandom`` call per block instead of one per draw (as ``SystemRandom`` does);
    64-bit values are reduced without bias by rejecting the top partial range.
    """

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: list[int] = []

    def below(self, bound: int) -> int:
        limit = _TWO_64 - _TWO_64 % bound
        while True:
            if not self._values:
                self._values = memoryview(os.urandom(8 * _DRAWS_PER_READ)).cast("Q").tolist()
            value: int = self._values.pop()
            if value < limit:
                return value % bound


_TWO_64 = 2**64


def _pick(allocated: bytearray, size: int, wanted: int) -> tuple[list[int], int]:
    """Draw up to ``wanted`` random free indexes of a bitmap and mark them; returns them and
    how many indexes are in use afterwards.

    A uniform draw without replacement, in random order: while at least half the list is free,
    by rejection against the bitmap itself (a few draws per index, no pass over the list);
    otherwise from the free indexes, gathered in one pass, by a partial Fisher-Yates shuffle.
    """
    used = int.from_bytes(allocated, "big").bit_count()
    wanted = min(wanted, size - used)
    draws = _Draws()
    picked: list[int] = []
    if 2 * (used + wanted) <= size:
        while len(picked) < wanted:
            index = draws.below(size)
            mask = 0x80 >> (index & 7)
            if not allocated[index >> 3] & mask:
                allocated[index >> 3] |= mask
                picked.append(index)
        return picked, used + wanted
    free: list[int] = []
    for position, value in enumerate(allocated):
        if value != 0xFF:
            base = position * 8
            free.extend([base + bit for bit in _FREE_BITS[value]])
    for taken in range(wanted):
        other = taken + draws.below(len(free) - taken)
        free[taken], free[other] = free[other], free[taken]
        index = free[taken]
        allocated[index >> 3] |= 0x80 >> (index & 7)
        picked.append(index)
    return picked, used + wanted


# One statement per list, the indexes as one parameter (a JSON array on SQLite, an array literal
# on PostgreSQL): no per-row binding on the client, however many indexes a batch hands out.
_ENTRY_INSERT_SQLITE = (
    'INSERT INTO status_list_entries (list_id, "index", created_at) '
    "SELECT ?, CAST(value AS INTEGER), ? FROM json_each(?)"
)
_ENTRY_INSERT_POSTGRESQL = (
    'INSERT INTO status_list_entries (list_id, "index", created_at) '
    "SELECT %s, entry, %s FROM unnest(%s::text::int4[]) AS entry"
)


def _insert_entries(db: Session, list_id: str, indexes: list[int], now: datetime) -> None:
    """Insert the entry rows of indexes handed out from one list, in one statement.

    Bulk issuance hands out two indexes per award; per-row binding (SQLAlchemy's, or the
    driver's in :mod:`charter.db.bulk`) would cost more than drawing them.
    """
    dialect = db.get_bind().dialect.name
    connection = db.connection()
    stamp = bulk.bound_time(now, dialect)
    if dialect == "sqlite":
        connection.exec_driver_sql(_ENTRY_INSERT_SQLITE, (list_id, stamp, json.dumps(indexes)))
    elif dialect == "postgresql":
        driver: Any = connection.connection.driver_connection  # a psycopg connection
        # Written as text in one join: psycopg dumps a list of ints element by element.
        literal = "{" + ",".join(map(str, indexes)) + "}"
        with driver.cursor() as cursor:
            cursor.execute(_ENTRY_INSERT_POSTGRESQL, (list_id, stamp, literal))
    else:
        db.execute(
            insert(table_of(StatusListEntry)),
            [{"list_id": list_id, "index": index, "created_at": now} for index in indexes],
        )


def set_bit(db: Session, list_id: str, index: int, value: bool) -> bool:
    """Set or clear one status bit under a row lock; returns whether it changed."""
    row = _lock(db, list_id)
    if not 0 <= index < row.size:
        raise Invalid.field("index", f"must be within 0..{row.size - 1}")
    bits = StatusBits.from_bytes(row.bits, allow_short=True)
    if bits.get(index) == value:
        return False
    bits.set(index, value)
    row.bits = bits.to_bytes()
    row.version += 1
    row.updated_at = clock.now()
    db.flush()
    _changed(db, row.id)
    return True


def get_bit(db: Session, list_id: str, index: int) -> bool:
    """The current status bit (from the database, not the signed copy)."""
    bits = db.scalar(select(StatusList.bits).where(StatusList.id == list_id))
    if bits is None:
        raise NotFound(f"status list {list_id} not found")
    return StatusBits.from_bytes(bits, allow_short=True).get(index)


def _etag(text: str) -> str:
    return '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'


def signed_status_list(db: Session, list_id: str, settings: Settings) -> tuple[dict[str, Any], str]:
    """The signed BitstringStatusListCredential and its ETag, re-signed only when bits changed."""
    text, etag = signed_status_list_text(db, list_id, settings)
    document: dict[str, Any] = json.loads(text)
    return document, etag


def signed_status_list_text(db: Session, list_id: str, settings: Settings) -> tuple[str, str]:
    """The signed list as the JSON text that is served, and its ETag.

    The copy stored when the list last changed; a list changed before copies were kept is
    signed here, and stored too unless the session only reads.
    """
    # The stored copy alone first: a request for a list whose bits have not changed reads
    # neither bitmap (16 KiB each at the standard size).
    stored = (
        db.execute(
            select(StatusList.signed_document, StatusList.signed_version, StatusList.version).where(
                StatusList.id == list_id
            )
        ).one_or_none()
        if is_id(list_id, "stl")
        else None
    )
    if stored is None:
        raise NotFound(f"status list {list_id} not found")
    text, signed_version, version = stored
    if text is not None and signed_version == version:
        return text, _etag(text)
    row = db.get(StatusList, list_id)
    if row is None:  # pragma: no cover - read a moment ago, and lists are never deleted
        raise NotFound(f"status list {list_id} not found")
    text = _sign(db, row, settings)
    if not db.connection().get_execution_options().get(READ_ONLY):
        _store(db, row, text)
    return text, _etag(text)


def _sign(db: Session, row: StatusList, settings: Settings) -> str:
    signer = keyring.signer_for_controller(db, settings, row.controller)
    now = clock.now()
    unsigned = statuslist.status_list_credential(
        list_url=list_url(settings, row.id),
        issuer_id=row.controller,
        purpose=_check_purpose(row.purpose),
        encoded_list=statuslist.encode(StatusBits.from_bytes(row.bits)),
        valid_from=now,
    )
    signed = proofs.create_proof(unsigned, signer.private_key, signer.verification_method, now)
    return json.dumps(signed, ensure_ascii=False, separators=(",", ":"))


def _store(db: Session, row: StatusList, text: str) -> None:
    # Only ever move the copy forward: a slower transaction must not overwrite a newer one.
    # The loaded row takes the new copy too (without becoming dirty).
    # Not synchronize_session="evaluate": that walks every object in the session, and a bulk
    # issuance commits with one loaded award per credential.
    version = row.version
    stored = db.execute(
        update(StatusList)
        .where(
            StatusList.id == row.id,
            or_(StatusList.signed_version.is_(None), StatusList.signed_version < version),
        )
        .values(signed_document=text, signed_version=version)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount:  # type: ignore[attr-defined]
        set_committed_value(row, "signed_document", text)
        set_committed_value(row, "signed_version", version)
