"""Admission: slots for reads and writes, a bounded queue, then 503 with Retry-After."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from charter.core.admission import AdmissionMiddleware
from charter.core.logs import JsonFormatter, log_config
from tests.factories import run_async


def _app(gate: asyncio.Event, read_paths: frozenset[str] = frozenset()) -> AdmissionMiddleware:
    async def slow(request: Request) -> JSONResponse:
        await gate.wait()
        return JSONResponse({"method": request.method})

    async def fast(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    inner = Starlette(
        routes=[
            Route("/slow", slow, methods=["GET", "POST"]),
            Route("/fast", fast, methods=["GET", "POST"]),
        ]
    )
    return AdmissionMiddleware(
        inner, read_slots=2, write_slots=1, queue_seconds=0.3, read_paths=read_paths
    )


async def _scenario() -> tuple[list[int], list[int], httpx.Response, int]:
    gate = asyncio.Event()
    transport = httpx.ASGITransport(app=_app(gate))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        # Two reads and one write hold every slot; then one more of each queues and times out.
        held = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        held.append(asyncio.create_task(client.post("/slow")))
        await asyncio.sleep(0.05)
        refused_read = await client.get("/fast")
        refused_write = asyncio.create_task(client.post("/slow"))
        await asyncio.sleep(0.5)
        gate.set()
        answers = [response.status_code for response in await asyncio.gather(*held)]
        late = (await refused_write).status_code
        # Once the slots are free, requests go straight through.
        after = [(await client.get("/fast")).status_code, (await client.post("/slow")).status_code]
        return answers, after, refused_read, late


def test_requests_past_the_slots_wait_then_get_503_with_retry_after() -> None:
    answers, after, refused, late = run_async(_scenario)
    assert answers == [200, 200, 200]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/overloaded"
    assert problem["status"] == 503
    assert late == 503
    assert after == [200, 200]


async def _reads_beside_stuck_writes() -> list[int]:
    gate = asyncio.Event()
    transport = httpx.ASGITransport(app=_app(gate))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stuck = [asyncio.create_task(client.post("/slow")) for _ in range(3)]
        await asyncio.sleep(0.05)
        reads = [(await client.get("/fast")).status_code for _ in range(5)]
        gate.set()
        await asyncio.gather(*stuck)
        return reads


def test_writes_queued_on_their_slots_do_not_hold_up_reads() -> None:
    assert run_async(_reads_beside_stuck_writes) == [200] * 5


async def _reading_posts_beside_stuck_writes() -> list[int]:
    gate = asyncio.Event()
    app = _app(gate, read_paths=frozenset({"/fast"}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        stuck = [asyncio.create_task(client.post("/slow")) for _ in range(3)]
        await asyncio.sleep(0.05)
        # A POST that only reads (a badge verified, a license validated) takes a read slot.
        reads = [(await client.post("/fast")).status_code for _ in range(5)]
        gate.set()
        await asyncio.gather(*stuck)
        return reads


def test_posts_that_only_read_do_not_queue_behind_writes() -> None:
    assert run_async(_reading_posts_beside_stuck_writes) == [200] * 5


def test_access_lines_become_json_objects_with_their_fields() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/credentials/x", "1.1", 200),
        None,
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["client"] == "127.0.0.1:5000"
    assert line["method"] == "GET"
    assert line["path"] == "/credentials/x"
    assert line["status"] == 200
    assert line["level"] == "info"


def test_the_access_log_can_be_turned_off() -> None:
    config = log_config("info", "json", access_log=False)
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
    assert config["formatters"]["default"]["()"].endswith("JsonFormatter")
    assert (
        log_config("info", "text", access_log=True)["loggers"]["uvicorn.access"]["level"] == "INFO"
    )
