"""A bare FastAPI app, the server benchmark's baseline: what Uvicorn and FastAPI cost alone.

``/async`` is an ``async def`` route, run on the event loop; ``/sync`` is a ``def`` route, run in
the thread pool as most of Charter's routes are. Both answer the same small JSON object.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/async")
async def async_route() -> dict[str, str]:
    """A small JSON object, from the event loop."""
    return {"status": "ok", "route": "async"}


@app.get("/sync")
def sync_route() -> dict[str, str]:
    """A small JSON object, from the thread pool."""
    return {"status": "ok", "route": "sync"}
