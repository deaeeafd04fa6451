"""Fuzz the API from its own OpenAPI document: no 5xx, every error a problem-details body.

Schemathesis generates requests for every operation; each operation gets a bounded number of
examples so the whole run stays within a few minutes on both databases.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from charter.core.auth import Role

EXAMPLES_PER_OPERATION = 30


def problem_details_on_errors(ctx, response, case):  # type: ignore[no-untyped-def]
    """Every error response is an RFC 9457 problem document."""
    if response.status_code >= 400:
        content_type = response.headers.get("content-type", [""])[0]
        assert content_type.startswith("application/problem+json"), (
            f"{case.method} {case.path}: {response.status_code} with {content_type!r}"
        )
        body = response.json()
        assert {"type", "title", "status"} <= set(body), body


def test_api_never_fails_on_generated_input(app, make):
    admin = make.login(Role.ADMIN)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same examples on every run: CI must not flake
        )
        def run(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(
                headers=admin.headers, checks=[not_a_server_error, problem_details_on_errors]
            )

        run()
