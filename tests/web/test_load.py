"""The server under load: a real ``charter serve`` answers many clients at once, or says 503.

Each test starts ``charter serve`` as its own process on a free loopback port over the test
database, and loads it from this process with as many concurrent connections as it sends
requests. Bounded in count and time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core.auth import Role
from charter.core.models import Event
from charter.credentials import issuance
from charter.partners.models import Person
from tests.credentials.factories import award
from tests.factories import Factory, run_async
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.servers import charter_serve

QUEUE_SECONDS = 3.0
LOCK_SECONDS = 2.0
TIME_OUT = QUEUE_SECONDS + LOCK_SECONDS + 5.0
"""A queued wait, a lock wait, and the work itself; the client gives up after twice that."""
CONCURRENT = 256
_numbers = itertools.count(1)


@pytest.fixture
def settings(settings: Settings, port: int) -> Settings:
    """The tests' settings at the server's public URL, so the test data's ids resolve."""
    return settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})


@dataclass(frozen=True)
class World:
    """What the load asks for."""

    credential_ids: list[str]
    document: str
    status_list: str
    token: str
    firm_id: str


@pytest.fixture
def world(db: Session, system, sessions) -> World:  # type: ignore[no-untyped-def]
    """A firm, three certified people, and a manager with an API key."""
    firm = partner(db, system)
    cert = certification(db, system)
    credentials = []
    for n in range(3):
        holder = person(db, system, partner_id=firm.id, emails=[f"holder{n}@example.com"])
        awarded = award(db, system, person_id=holder.id, certification_id=cert.id)
        found = issuance.current_credential_for_award(db, awarded.id)
        assert found is not None
        credentials.append(found)
    db.commit()
    manager = Factory(sessions).login(Role.PROGRAM_MANAGER)
    return World(
        credential_ids=[found.id for found in credentials],
        document=credentials[0].document_text,
        status_list=credentials[0].revocation_list_id,
        token=manager.token,
        firm_id=firm.id,
    )


@pytest.fixture
def server(
    engine: Engine, port: int, settings: Settings, tmp_path: Path, world: World
) -> Iterator[str]:
    """``charter serve`` on the test database, with small slots and short time-outs."""
    env = {
        "CHARTER_SERVER_READ_SLOTS": "8",
        "CHARTER_SERVER_WRITE_SLOTS": "4",
        "CHARTER_SERVER_QUEUE_SECONDS": str(QUEUE_SECONDS),
        "CHARTER_DATABASE_LOCK_TIMEOUT_SECONDS": str(LOCK_SECONDS),
    }
    with charter_serve(engine, settings, tmp_path, port, env, start_seconds=30) as base:
        yield base


@dataclass
class Outcome:
    """One request's answer."""

    kind: str
    status: int
    retry_after: str | None
    created: str | None = None


def _requests(world: World, count: int) -> list[tuple[str, str, str, dict[str, str], object]]:
    """``count`` requests mixed over public routes, authenticated reads, and writes."""
    auth = {"Authorization": f"Bearer {world.token}"}
    kinds: list[tuple[str, str, str, dict[str, str], object]] = []
    for n in range(count):
        credential = world.credential_ids[n % len(world.credential_ids)]
        choice = n % 8
        if choice == 0:
            kinds.append(("json", "GET", f"/credentials/{credential}", _accept("vc"), None))
        elif choice == 1:
            kinds.append(("page", "GET", f"/credentials/{credential}", _accept("html"), None))
        elif choice == 2:
            kinds.append(("status", "GET", f"/status/{world.status_list}", {}, None))
        elif choice == 3:
            kinds.append(("me", "GET", "/api/v1/users/me", auth, None))
        elif choice == 4:
            kinds.append(("list", "GET", "/api/v1/people?limit=50", auth, None))
        elif choice == 5:
            body = {"credential": world.document}
            kinds.append(("verify", "POST", "/api/v1/verify", {}, body))
        else:
            unique = next(_numbers)
            body = {
                "given_name": f"Load{unique}",
                "family_name": "Tester",
                "track": "technical",
                "partner_id": world.firm_id,
                "emails": [f"load.{unique}@example.com"],
            }
            kinds.append(("write", "POST", "/api/v1/people", auth, body))
    return kinds


def _accept(kind: str) -> dict[str, str]:
    if kind == "vc":
        return {"Accept": "application/vc+ld+json"}
    return {"Accept": "text/html"}


async def _send_all(
    base: str, requests: list[tuple[str, str, str, dict[str, str], object]]
) -> list[Outcome]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=TIME_OUT * 2) as client:
        start = asyncio.Event()

        async def one(
            kind: str, method: str, path: str, headers: dict[str, str], body: object
        ) -> Outcome:
            await start.wait()
            response = await client.request(method, path, headers=headers, json=body)
            created = (
                response.json().get("id")
                if kind == "write" and response.status_code == 201
                else None
            )
            return Outcome(kind, response.status_code, response.headers.get("retry-after"), created)

        tasks = [asyncio.create_task(one(*request)) for request in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def _judge(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        assert outcome.status < 500 or outcome.status == 503, outcome
        if outcome.status == 503:
            assert outcome.retry_after is not None, outcome
        else:
            expected = 201 if outcome.kind == "write" else 200
            assert outcome.status == expected, outcome


def test_many_clients_at_once_get_answers_or_503_and_every_acknowledged_write_is_kept(
    server: str, world: World, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    outcomes = run_async(lambda: _send_all(server, _requests(world, CONCURRENT)))
    _judge(outcomes)
    served = [outcome for outcome in outcomes if outcome.status != 503]
    assert len(served) >= CONCURRENT // 2, "most requests are served, not refused"
    created = {outcome.created for outcome in outcomes if outcome.created}
    assert created, "some writes were acknowledged"
    with Session(engine) as db:
        kept = set(db.scalars(select(Person.id).where(Person.id.in_(created))))
        logged = set(
            db.scalars(
                select(Event.subject_id).where(
                    Event.type == "person.created", Event.subject_id.in_(created)
                )
            )
        )
    assert kept == created
    assert logged == created
    audit = subprocess.run(
        [sys.executable, "-m", "charter.cli.main", "audit", "verify"],
        check=False,
        env={
            **os.environ,
            "CHARTER_DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "CHARTER_SECRET_KEY": settings.secret_key or "",
            "CHARTER_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stderr
    assert "chain intact" in audit.stdout


def _hold_the_chain_head(engine: Engine, seconds: float, holding: threading.Event) -> None:
    """A long writer: lock the events chain head (on SQLite, the write lock) for ``seconds``."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # The engine begins BEGIN IMMEDIATE: the one write lock every SQLite writer takes.
            connection.execute(text("UPDATE event_chain_head SET seq = seq WHERE id = 1"))
        else:
            connection.execute(text("SELECT seq FROM event_chain_head WHERE id = 1 FOR UPDATE"))
        holding.set()
        time.sleep(seconds)
        connection.rollback()


def test_a_writer_holding_the_chain_head_fails_no_read(
    server: str, world: World, engine: Engine
) -> None:
    holding = threading.Event()
    writer = threading.Thread(target=_hold_the_chain_head, args=(engine, 10.0, holding))
    writer.start()
    try:
        assert holding.wait(10)
        reads = [r for r in _requests(world, 64) if r[1] == "GET"]
        writes = [r for r in _requests(world, 16) if r[0] == "write"]
        rounds: list[Outcome] = []
        began = time.monotonic()
        while time.monotonic() - began < 8:
            rounds += run_async(lambda: _send_all(server, reads + writes))
    finally:
        writer.join()
    assert rounds
    read_answers = {outcome.status for outcome in rounds if outcome.kind != "write"}
    assert read_answers == {200}
    write_answers = {outcome.status for outcome in rounds if outcome.kind == "write"}
    # Writes wait for the lock up to the lock time-out, then are told to come back.
    assert write_answers <= {201, 503}
    for outcome in rounds:
        if outcome.kind == "write" and outcome.status == 503:
            assert outcome.retry_after is not None
    # And once the writer is gone, writes go through again.
    more = [r for r in _requests(world, 40) if r[0] == "write"][:2]
    after = run_async(lambda: _send_all(server, more))
    assert {outcome.status for outcome in after} == {201}
