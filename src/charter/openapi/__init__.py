"""The OpenAPI document: FastAPI's, completed in one place with what its readers need.

FastAPI derives the paths and schemas from the routes. What the routes cannot each say without
repeating it a hundred times is added here, once, when the document is first asked for:

- the bearer security scheme (an API key), on every operation whose route asks for the caller;
- the problem-details responses (RFC 9457) each operation can give, with one ``Problem`` schema;
- schema names without module paths (``AgreementRequirements``, not ``charter__licensing__...``);
- descriptions of fields and parameters the schemas leave undescribed (see :mod:`.glossary`);
- tags, servers and contact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from charter.config import Settings
from charter.core.schemas import Problem
from charter.openapi.glossary import describe_parameter, describe_property

BEARER = "apiKey"
"""The name of the security scheme: an API key sent as ``Authorization: Bearer <key>``."""

PROBLEM_JSON = "application/problem+json"
WRITES = frozenset({"post", "put", "patch", "delete"})

DESCRIPTION = """\
Charter's REST API: partners and their people, certifications and their criteria, awards
(Open Badges 3.0 credentials), tiers, approvals, licensing and webhooks.

**Authentication.** Send an API key as `Authorization: Bearer <key>` (the *Authorize* button
takes one). A signed-in portal session works too; it must send its CSRF token in
`X-CSRF-Token` on every change. Badge verification, license validation and the routes that
licensed software calls with its license key need neither.

**Errors** are RFC 9457 problem details (`application/problem+json`); invalid input names each
field at fault in `errors[]`. **Lists** are paged by cursor: pass a page's `next_cursor` back
as `cursor`. **Creating calls** honour an `Idempotency-Key` header: a repeat gets the first
answer again, marked `Idempotent-Replayed: true`.
"""

TAGS: list[dict[str, str]] = [
    {"name": "health", "description": "Whether the server and its database answer."},
    {"name": "users", "description": "Users of the portal and the API, their roles and sessions."},
    {"name": "api keys", "description": "API keys: scoped, expiring, shown once."},
    {"name": "events", "description": "The tamper-evident events log of every change."},
    {"name": "partners", "description": "Firms: their lifecycle, onboarding and invitations."},
    {"name": "people", "description": "A firm's people, their emails and employments."},
    {"name": "program", "description": "The program's own tracks, regions and partner types."},
    {"name": "certifications", "description": "Certifications and their versioned criteria."},
    {"name": "assessments", "description": "What a person did toward a certification."},
    {"name": "awards", "description": "Awarded certifications: each one a signed credential."},
    {"name": "verification", "description": "Check any Open Badges 3.0 credential."},
    {"name": "tiers", "description": "Tier schemes, firms' standings, forecasts, tier badges."},
    {"name": "approvals", "description": "Exceptions routed to governance owners."},
    {"name": "licensing", "description": "Products, agreements, licenses, usage and alerts."},
    {"name": "activations", "description": "Licensed software activating its seats."},
    {"name": "webhooks", "description": "Signed deliveries of the events log to your endpoints."},
    {"name": "reports", "description": "Program reports and their figures, as JSON or CSV."},
    {"name": "keys", "description": "The issuer's DID documents, JWKS and signed checkpoints."},
    {"name": "status lists", "description": "Bitstring status lists of revoked credentials."},
]

PROBLEMS: dict[int, str] = {
    400: "The request could not be read",
    401: "No valid API key or session was presented",
    403: "The caller may not do this (role, API key scope, firm, or a missing CSRF token)",
    404: "A record the request names does not exist, or the caller may not see it",
    409: "The request clashes with the current state (a duplicate, a wrong transition)",
    413: "The request body is too large",
    422: "Invalid input: `errors` names each field at fault",
    429: "Too many attempts; retry after the seconds `Retry-After` gives",
    503: "The server is at capacity or the data is busy; nothing changed. Retry after "
    "the seconds `Retry-After` gives",
}
"""What each problem status means on any operation (a route may say more in its own words)."""

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "schema": {"type": "integer", "minimum": 0},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "How to authenticate: `Bearer`",
        "schema": {"type": "string"},
    }
}
HEADERS = {401: WWW_AUTHENTICATE, 429: RETRY_AFTER, 503: RETRY_AFTER}

SCHEMA_NAMES = {
    "charter__licensing__rules__Requirements": "AgreementRequirements",
    "charter__programs__rules__Requirements": "CriteriaRequirements",
    "charter__tiers__rules__Requirements": "TierRequirements",
}
"""Clean names for models that share a class name (FastAPI would name them by module)."""

_PAGE = re.compile(r"^Page_(?P<item>\w+?)(?:Out)?_$")


def install_openapi(
    app: FastAPI,
    settings: Settings,
    *,
    authenticated_by: Callable[..., Any],
    reading_posts: Collection[str] = (),
) -> None:
    """Serve the completed document as ``app.openapi()``, built once on first use.

    ``authenticated_by`` is the dependency that finds the caller: operations whose route
    depends on it need the bearer scheme. ``reading_posts`` are POST paths that change
    nothing (they conflict with nothing and name no record).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(
                app, settings, authenticated_by=authenticated_by, reading_posts=reading_posts
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build_document(
    app: FastAPI,
    settings: Settings,
    *,
    authenticated_by: Callable[..., Any],
    reading_posts: Collection[str] = (),
) -> dict[str, Any]:
    """The OpenAPI document of ``app``, completed (see the module's docstring)."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=DESCRIPTION,
        routes=app.routes,
        tags=TAGS,
        servers=[{"url": "/", "description": "This deployment"}],
        contact=_contact(settings),
    )
    routes = {
        (route.path_format, method.lower()): route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute) and route.include_in_schema
        for method in route.methods or ()
    }
    components = document.setdefault("components", {})
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`charter api-keys create`), sent as "
            "`Authorization: Bearer <key>`; it acts with its user's role, within its scopes.",
        }
    }
    for path, method, operation in _operations(document):
        route = routes.get((path, method))
        authenticated = route is not None and _depends_on(route.dependant, authenticated_by)
        if authenticated:
            operation.setdefault("security", [{BEARER: []}])
        # A route may declare its own (optional) security: licensed software reporting usage.
        authenticated = bool(operation.get("security"))
        _add_problems(
            operation,
            method,
            authenticated,
            reading=path in reading_posts,
            schemas=components.get("schemas", {}),
        )
    schemas = components.setdefault("schemas", {})
    schemas.update(_problem_schemas())
    _drop_unused(document, ("HTTPValidationError", "ValidationError"))
    _rename_schemas(document, _schema_names(schemas, routes.values()))
    _describe(document)
    return document


def _contact(settings: Settings) -> dict[str, str]:
    contact = {"name": settings.issuer_name}
    if settings.issuer_url:
        contact["url"] = settings.issuer_url
    if settings.issuer_email:
        contact["email"] = settings.issuer_email
    return contact


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            yield path, method, operation


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(
        dependency.call is call or _depends_on(dependency, call)
        for dependency in dependant.dependencies
    )


def problem_statuses(
    operation: dict[str, Any],
    method: str,
    *,
    authenticated: bool,
    reading: bool = False,
    body_names_records: bool = False,
) -> set[int]:
    """The problem statuses an operation can answer with, from what it takes and does.

    Every request can meet a full server (503); parameters and bodies can be invalid (422),
    bodies too large (413); an authenticated operation can meet a missing key (401) or a
    caller without the right (403); a path names a record that may not exist (404), as a
    change's body may (an id, a license key); a change can clash with the current state
    (409). Statuses a route declares itself (a rate limit's 429) are kept.
    """
    statuses = {503}
    changes = method in WRITES and not reading
    if operation.get("parameters") or "requestBody" in operation or changes:
        statuses.add(422)
    if "requestBody" in operation:
        statuses.add(413)
    if authenticated:
        statuses |= {401, 403}
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", ())):
        statuses.add(404)
    if changes:
        statuses.add(409)
        if body_names_records:
            statuses.add(404)
    declared = {int(code) for code in operation.get("responses", {}) if code.isdigit()}
    return statuses | {code for code in declared if code >= 400}


def _add_problems(
    operation: dict[str, Any],
    method: str,
    authenticated: bool,
    *,
    reading: bool,
    schemas: dict[str, Any],
) -> None:
    responses = operation.setdefault("responses", {})
    statuses = problem_statuses(
        operation,
        method,
        authenticated=authenticated,
        reading=reading,
        body_names_records=_body_names_records(operation, schemas),
    )
    for status in sorted(statuses):
        response = responses.setdefault(str(status), {})
        # FastAPI's own 422 describes its validation shape, which Charter never sends.
        if response.get("description") in (None, "Validation Error"):
            response["description"] = PROBLEMS.get(status, "An error")
        response["content"] = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        if status in HEADERS:
            response.setdefault("headers", {}).update(HEADERS[status])
    operation["responses"] = dict(sorted(responses.items()))


def _body_names_records(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether the request body refers to records by id (``person_id``) or license key."""
    content = operation.get("requestBody", {}).get("content", {})
    return any(
        _names_records(media.get("schema", {}), schemas, depth=3) for media in content.values()
    )


OWN_IDS = frozenset({"external_id", "record_id"})
"""Ids the caller gives its own records: they name nothing that must exist already."""


def _names_records(
    schema: dict[str, Any], schemas: dict[str, Any], *, depth: int, top: bool = True
) -> bool:
    if depth == 0:
        return False
    reference = schema.get("$ref")
    if isinstance(reference, str):
        schema = schemas.get(reference.rsplit("/", 1)[-1], {})
    options = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    if "items" in schema:
        options.append(schema["items"])
    for name, field in schema.get("properties", {}).items():
        # A license key authenticates the body it heads; deeper, ``key`` names a tier or a
        # feature being defined.
        if (top and name == "key") or (name.endswith(("_id", "_ids")) and name not in OWN_IDS):
            return True
        options.append(field)
    return any(_names_records(option, schemas, depth=depth - 1, top=False) for option in options)


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _drop_unused(document: dict[str, Any], names: Collection[str]) -> None:
    schemas = document["components"]["schemas"]
    for name in names:  # in order: a schema the one before it used may be unused now
        if f"#/components/schemas/{name}" not in set(_references(document)):
            schemas.pop(name, None)


def _schema_names(schemas: dict[str, Any], routes: Collection[RouteContext]) -> dict[str, str]:
    """New names for the schemas FastAPI named after modules, routes or generic types."""
    bodies = {f"Body_{route.unique_id}": _camel(route.name or "") + "Body" for route in routes}
    names: dict[str, str] = {}
    for name in schemas:
        page = _PAGE.match(name)
        if name in SCHEMA_NAMES:
            names[name] = SCHEMA_NAMES[name]
        elif name in bodies:
            names[name] = bodies[name]
        elif "__" in name:  # a module path: its domain and the class
            parts = name.split("__")
            names[name] = _camel(parts[1]) + parts[-1]
        elif page:
            names[name] = page["item"] + "Page"
    taken = set(schemas) - set(names)
    clashing = [new for new in names.values() if new in taken]
    if clashing or len(set(names.values())) != len(names):
        raise RuntimeError(f"schema names clash: {sorted(clashing)}")
    return names


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\W]+", name) if part)


def _rename_schemas(document: dict[str, Any], names: dict[str, str]) -> None:
    if not names:
        return
    schemas = document["components"]["schemas"]
    document["components"]["schemas"] = {
        names.get(name, name): schema for name, schema in schemas.items()
    }
    references = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in names.items()
    }

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    node[key] = references.get(value, value)
                else:
                    rewrite(value)
        elif isinstance(node, list):
            for value in node:
                rewrite(value)

    rewrite(document)


def _describe(document: dict[str, Any]) -> None:
    """Describe, from the glossary, the fields and parameters that say nothing of themselves."""
    for name, schema in document["components"]["schemas"].items():
        for field, spec in schema.get("properties", {}).items():
            if not spec.get("description"):
                description = describe_property(name, field)
                if description:
                    spec["description"] = description
    for path, _method, operation in _operations(document):
        for parameter in operation.get("parameters", ()):
            if not parameter.get("description"):
                description = describe_parameter(path, parameter["name"], parameter["in"])
                if description:
                    parameter["description"] = description
