"""HEAD wherever GET works, and a 405 that names every method its path serves."""

from __future__ import annotations

import re

import pytest

from charter.core.auth import Role

API = "/api/v1"
# One concrete value for every path parameter: routing matches paths before it checks values.
PARAMETER = re.compile(r"\{[^}]+\}")
PROBE = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _paths_and_methods(client):
    """Every documented path, made concrete, with the methods the OpenAPI document gives it
    and every other documented path it also matches (``/awards/batch`` is ``/awards/{id}``)."""
    document = client.get("/api/openapi.json").json()
    patterns = [
        (re.compile(f"^{PARAMETER.sub('[^/]+', path)}$"), {method.upper() for method in operations})
        for path, operations in document["paths"].items()
    ]
    served = {}
    for path in document["paths"]:
        concrete = PARAMETER.sub("zz_probe", path)
        served[concrete] = set().union(
            *(methods for pattern, methods in patterns if pattern.match(concrete))
        )
    return served


def _allow(response):
    return {method.strip() for method in response.headers["allow"].split(",")}


def test_every_405_allows_all_the_methods_of_its_path(client):
    checked = 0
    for path, methods in _paths_and_methods(client).items():
        expected = methods | ({"HEAD"} if "GET" in methods else set())
        for method in PROBE:
            if method in methods:
                continue
            response = client.request(method, path)
            assert response.status_code == 405, (method, path, response.status_code)
            assert _allow(response) == expected, (method, path)
            assert response.json()["status"] == 405
            checked += 1
    assert checked > 50


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"{API}/partners", {"GET", "HEAD", "POST"}),
        ("PUT", f"{API}/partners/prt_x", {"GET", "HEAD", "PATCH"}),
        ("HEAD", f"{API}/partners/prt_x/status", {"POST"}),
        ("POST", "/api/docs", {"GET", "HEAD"}),
        ("POST", "/api/docs/assets/swagger-ui.css", {"GET", "HEAD"}),
        ("DELETE", "/dashboard", {"GET", "HEAD"}),
    ],
)
def test_a_405_names_the_methods_the_path_serves(client, method, path, allowed):
    response = client.request(method, path)
    assert response.status_code == 405
    assert _allow(response) == allowed


def test_head_answers_as_get_without_a_body(client, make):
    login = make.login(Role.ADMIN)
    paths = [
        f"{API}/health",
        f"{API}/partners",
        "/api/docs",
        "/api/docs/assets/swagger-ui.css",
        "/api/openapi.json",
        "/problems/conflict",
        "/problems/nothing-like-it",
        "/status/nope",
        "/dashboard",
    ]
    for path in paths:
        for headers in ({}, login.headers):
            got = client.get(path, headers=headers, follow_redirects=False)
            head = client.head(path, headers=headers, follow_redirects=False)
            assert head.status_code == got.status_code, path
            assert head.content == b"", path
            for name in ("content-type", "content-length", "cache-control", "allow"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_head_reaches_every_get_route(client):
    for path, methods in _paths_and_methods(client).items():
        if "GET" in methods:
            assert client.head(path).status_code != 405, path


def test_head_changes_nothing(client, make):
    login = make.login(Role.ADMIN)
    body = {"name": "Northwind", "type": "var", "regions": ["emea"], "country": "DE"}
    assert client.head(f"{API}/partners", headers=login.headers).status_code == 200
    assert client.post(f"{API}/partners", json=body, headers=login.headers).status_code == 201
    listed = client.get(f"{API}/partners", headers=login.headers).json()["items"]
    assert len(listed) == 1
