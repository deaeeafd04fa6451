"""Browsers get HTML error pages (status kept); the API and JSON clients keep problem details."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from charter.app import create_app
from charter.core.auth import Role
from charter.core.errors import Forbidden
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


def test_an_unknown_page_is_an_html_404_for_a_browser(client):
    response = client.get("/no/such/page", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("headers", [JSON, {}, {"Accept": "*/*"}])
def test_an_unknown_page_stays_problem_details_for_other_clients(client, headers):
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_api_paths_answer_problem_details_even_to_a_browser(client):
    response = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/api/v1/no-such-thing",
    }
    signed_out = client.get("/api/v1/partners", headers=BROWSER)
    assert signed_out.status_code == 401
    assert signed_out.headers["content-type"] == "application/problem+json"


def test_a_forbidden_action_is_an_html_403(client, sessions):
    world = build_world(sessions)
    user = web_user(sessions, Role.AUDITOR)
    sign_in(client, user.email, user.password)
    # Auditors may not re-evaluate tiers: the service refuses, the browser gets a page.
    page = client.get("/dashboard").text
    response = client.post(
        f"/partners/{world.harbor_id}/evaluate", data={"csrf": csrf_from(page)}, headers=BROWSER
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Not allowed" in response.text


def _failing_app(settings, engine) -> FastAPI:
    app = create_app(settings, engine=engine)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/api/v1/boom")
    def api_boom() -> None:
        raise RuntimeError("secret internal detail")

    @app.get("/forbidden")
    def forbidden() -> None:
        raise Forbidden("this action needs the 'users:manage' permission")

    return app


def test_an_unexpected_error_is_an_html_500_for_a_browser_and_problem_details_otherwise(
    settings, engine
):
    with TestClient(_failing_app(settings, engine), raise_server_exceptions=False) as client:
        page = client.get("/boom", headers=BROWSER)
        assert page.status_code == 500
        assert page.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in page.text
        assert "secret internal detail" not in page.text
        for path, headers in (("/boom", JSON), ("/api/v1/boom", BROWSER)):
            problem = client.get(path, headers=headers)
            assert problem.status_code == 500
            assert problem.headers["content-type"] == "application/problem+json"
            assert problem.json()["title"] == "Internal server error"
            assert "secret" not in problem.text


def test_a_domain_403_is_a_page_for_browsers_and_problem_details_for_json(settings, engine):
    with TestClient(_failing_app(settings, engine), raise_server_exceptions=False) as client:
        page = client.get("/forbidden", headers=BROWSER)
        assert page.status_code == 403
        assert page.headers["content-type"].startswith("text/html")
        assert "Not allowed" in page.text
        problem = client.get("/forbidden", headers=JSON)
        assert problem.status_code == 403
        assert problem.headers["content-type"] == "application/problem+json"
        assert problem.json()["type"] == "/problems/forbidden"
