"""The API's routers decline at once the paths none of their routes could match
(``deps.SegmentRouter``), and still find every route they hold."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from charter.core.auth import Role
from charter.deps import _first_segments, api_router


def test_first_segments_are_each_routes_literal_start_or_none() -> None:
    router = api_router()
    router.add_api_route("/awards", lambda: None)
    router.add_api_route("/awards/{award_id}", lambda: None)
    router.add_api_route("/eligibility", lambda: None)
    assert _first_segments(router.routes) == frozenset({"awards", "eligibility"})
    router.add_api_route("/{anything}", lambda: None)
    assert _first_segments(router.routes) is None


def test_a_router_with_a_parameter_first_still_matches_everything() -> None:
    app = FastAPI()
    app.state.inline_reads = False
    first = api_router()
    first.add_api_route("/things", lambda: {"from": "things"})
    catch_all = api_router()
    catch_all.add_api_route("/{name}", lambda name: {"from": name})
    app.include_router(first, prefix="/api/v1")
    app.include_router(catch_all, prefix="/api/v1")
    plain = APIRouter()
    plain.add_api_route("/later", lambda: {"from": "plain"})
    app.include_router(plain)
    client = TestClient(app)
    assert client.get("/api/v1/things").json() == {"from": "things"}
    assert client.get("/api/v1/other").json() == {"from": "other"}
    assert client.get("/later").json() == {"from": "plain"}


def test_routes_early_and_late_in_the_api_are_found_and_others_are_not(client, make) -> None:
    admin = make.login(Role.ADMIN).headers
    for path in ("/api/v1/partners", "/api/v1/awards", "/api/v1/webhooks", "/api/v1/users/me"):
        assert client.get(path, headers=admin).status_code == 200, path
    assert client.get("/api/v1/no-such-thing", headers=admin).status_code == 404
    # A known path with a method it does not take is still a 405, not a 404.
    assert client.delete("/api/v1/awards", headers=admin).status_code == 405
