"""Checking the events log against signed checkpoints kept elsewhere.

Each checkpoint (:mod:`charter.crypto.checkpoints`) must carry a signature by one of the
issuer's keys, retired ones included, and its entry must still be in the log with exactly its
hash. Walked from the start, the chain then vouches for the rest: an entry's hash covers every
entry before it, and each later entry links to it. What does not hold is named, one line each:
a truncated log, a rewritten history, a forged checkpoint, or an altered file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from charter.core import eventverify
from charter.core.errors import Invalid
from charter.core.models import Event
from charter.crypto.checkpoints import LINE_FIELDS, Forged, Statement, head_of, open_statement


class Finding(NamedTuple):
    """One thing wrong, found by :func:`verify_checkpoints`."""

    kind: str
    """``broken`` (the chain itself), ``truncated``, ``rewritten``, ``forged`` or ``tampered``
    (a line of the file is no checkpoint, or its readable fields disagree with its JWS)."""
    message: str


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """The chain's own check and every checkpoint's."""

    chain: eventverify.ChainReport
    held: int
    """Checkpoints whose signature, entry and hash hold."""
    findings: list[Finding]
    latest: Statement | None
    """The held checkpoint of the highest entry."""

    @property
    def ok(self) -> bool:
        """Whether the log is the history every checkpoint vouched for."""
        return self.chain.ok and not self.findings


def _parse_line(db: Session, number: int, text: str) -> Statement | Finding:
    where = f"checkpoint on line {number}"
    try:
        line = json.loads(text)
    except json.JSONDecodeError:
        return Finding("tampered", f"line {number} is not JSON")
    if not isinstance(line, dict) or not isinstance(line.get("jws"), str):
        return Finding("tampered", f"line {number} is not a checkpoint: it has no jws")
    try:
        statement = open_statement(db, line["jws"])
    except Forged as error:
        return Finding("forged", f"the {where} is forged: {error}")
    except ValueError as error:
        return Finding("tampered", f"line {number} is not a checkpoint: {error}")
    for name in LINE_FIELDS:
        if name in line and line[name] != getattr(statement, name):
            return Finding(
                "tampered",
                f"the {where} was altered: its {name} reads {line[name]!r} but it signed "
                f"{getattr(statement, name)!r}",
            )
    return statement


def verify_checkpoints(db: Session, lines: Sequence[str]) -> CheckpointReport:
    """Check the chain from the start, then each checkpoint (JSON Lines, as exported):
    its signature against this deployment's keys, and that the log still holds its entry with
    exactly its hash. With the chain intact from the start to the head, that entry's hash
    vouches for every entry before it, and the chain for every entry after."""
    head_seq, _ = head_of(db)
    chain = eventverify.verify_chain(db)
    findings: list[Finding] = []
    held: list[tuple[int, Statement]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        parsed = _parse_line(db, number, text)
        if isinstance(parsed, Finding):
            findings.append(parsed)
        else:
            held.append((number, parsed))
    if not held and not findings:
        raise Invalid.field("checkpoints", "holds no checkpoint")
    hashes = _entry_hashes(db, {statement.seq for _, statement in held})
    good: list[Statement] = []
    for number, statement in held:
        where = f"checkpoint on line {number} (signed {statement.checkpointed_at})"
        found = hashes.get(statement.seq)
        if statement.seq > head_seq:
            findings.append(
                Finding(
                    "truncated",
                    f"the log ends at entry #{head_seq} but the {where} holds entry "
                    f"#{statement.seq}: entries were removed from the end",
                )
            )
        elif found is None:
            findings.append(
                Finding("truncated", f"entry #{statement.seq} of the {where} is missing")
            )
        elif found != statement.hash:
            findings.append(
                Finding(
                    "rewritten",
                    f"entry #{statement.seq} has hash {found[:16]}… but the {where} holds "
                    f"{statement.hash[:16]}…: the history up to it was rewritten",
                )
            )
        else:
            good.append(statement)
    latest = max(good, key=lambda statement: statement.seq, default=None)
    return CheckpointReport(chain, len(good), findings, latest)


def _entry_hashes(db: Session, seqs: set[int], chunk: int = 500) -> dict[int, str]:
    ordered = sorted(seqs)
    found: dict[int, str] = {}
    for index in range(0, len(ordered), chunk):
        rows = db.execute(
            select(Event.seq, Event.hash).where(Event.seq.in_(ordered[index : index + chunk]))
        )
        found.update((seq, value) for seq, value in rows)
    return found
