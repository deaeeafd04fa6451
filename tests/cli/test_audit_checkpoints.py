"""``charter audit checkpoint``, ``checkpoints --export`` and ``verify --checkpoints``: a
rewritten or truncated history, or a tampered checkpoint file, fails with one line saying so."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select, text, update

from charter.core import eventhash, eventstore
from charter.core.models import Event, EventChainHead
from tests.core.factories import touch


@pytest.fixture
def audited(cli, db, settings, monkeypatch, tmp_path):
    """The operator's entry and five more, a checkpoint signed by the command, and its export:
    the file's path."""
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key or "")
    monkeypatch.setenv("CHARTER_DATA_DIR", str(tmp_path))
    touch(db, 5)
    db.commit()
    signed = cli("audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    # The operator's creation, five entries, and the first key's creation.
    assert "entry #7" in signed.stdout
    path = tmp_path / "checkpoints.jsonl"
    result = cli("audit", "checkpoints", "--export", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"1 checkpoints written to {path}"
    return path


def test_an_untouched_history_passes(cli, db, audited):
    touch(db, 2)
    db.commit()
    result = cli("audit", "verify", "--checkpoints", str(audited))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "chain intact: 9 entries; 1 checkpoints hold (the latest at entry #7)"
    )


def test_the_checkpoints_are_listed(cli, db, audited):
    listed = cli("audit", "checkpoints")
    assert listed.exit_code == 0, listed.output
    line = json.loads(audited.read_text().splitlines()[0])
    assert line["hash"] in listed.stdout
    assert line["verification_method"] in listed.stdout


def test_a_truncated_history_fails(cli, db, audited):
    db.execute(text("DELETE FROM events WHERE seq > 3"))
    kept = db.scalar(select(Event.hash).where(Event.seq == 3))
    db.execute(
        update(EventChainHead)
        .where(EventChainHead.id == eventstore.HEAD_ID)
        .values(seq=3, hash=kept)
    )
    db.commit()
    assert cli("audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = cli("audit", "verify", "--checkpoints", str(audited))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: truncated: the log ends at entry #3")


def test_a_rehashed_history_fails(cli, db, audited):
    db.execute(update(Event).where(Event.seq == 2).values(payload={"index": 9, "note": "x"}))
    prev = db.scalar(select(Event.hash).where(Event.seq == 1))
    for row in db.scalars(select(Event).where(Event.seq >= 2).order_by(Event.seq)).all():
        fields = {name: getattr(row, name) for name in eventhash.HASHED_FIELDS}
        fields["prev_hash"] = prev
        prev = eventhash.entry_hash(fields)
        db.execute(
            update(Event)
            .where(Event.seq == row.seq)
            .values(prev_hash=fields["prev_hash"], hash=prev)
        )
    db.execute(update(EventChainHead).values(hash=prev))
    db.commit()
    assert cli("audit", "verify").exit_code == 0  # the chain alone cannot tell
    result = cli("audit", "verify", "--checkpoints", str(audited))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: rewritten: entry #7 has hash")
    # Nor is a new checkpoint signed over it.
    refused = cli("audit", "checkpoint")
    assert refused.exit_code == 1
    assert "rewritten" in refused.stderr


def test_a_tampered_checkpoint_file_fails(cli, db, audited):
    line = json.loads(audited.read_text())
    header, payload, signature = line["jws"].split(".")
    statement = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    statement["seq"] = 2
    forged = base64.urlsafe_b64encode(json.dumps(statement).encode()).decode().rstrip("=")
    line["jws"] = f"{header}.{forged}.{signature}"
    audited.write_text(json.dumps(line) + "\n")
    result = cli("audit", "verify", "--checkpoints", str(audited))
    assert result.exit_code == 1
    [message] = result.stderr.strip().splitlines()
    assert message.startswith("error: forged: the checkpoint on line 1 is forged")


def test_a_file_without_checkpoints_is_refused(cli, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    result = cli("audit", "verify", "--checkpoints", str(empty))
    assert result.exit_code != 0
    assert "checkpoints" in result.stderr
    missing = cli("audit", "verify", "--checkpoints", str(tmp_path / "nowhere.jsonl"))
    assert missing.exit_code != 0


def test_an_empty_log_has_nothing_to_checkpoint(bare_cli):
    result = bare_cli("audit", "checkpoint")
    assert result.exit_code == 1
    assert "empty" in result.stderr
