"""The API documentation page: its own assets only, never framed."""

from __future__ import annotations

import base64
import hashlib
import re


def _policy(response):
    return {
        directive.split()[0]: directive.split()[1:]
        for directive in response.headers["content-security-policy"].split(";")
        if directive.strip()
    }


def test_the_docs_page_forbids_framing_and_other_origins(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    for directive, sources in policy.items():
        for source in sources:
            assert "://" not in source, (directive, source)
            assert source != "*", directive
    assert "'unsafe-inline'" not in policy["script-src"]


def test_the_docs_page_permits_its_own_assets_and_inline_script(client):
    response = client.get("/api/docs")
    policy = _policy(response)
    for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert url.startswith("/api/docs/assets/"), url
        assert client.get(url).status_code == 200, url
    assert "'self'" in policy["script-src"]
    assert "'self'" in policy["style-src"]
    assert "'self'" in policy["connect-src"]  # the OpenAPI document and "Try it out"
    for script in re.findall(r"<script>(.*?)</script>", response.text, flags=re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert '"validatorUrl": null' in response.text
