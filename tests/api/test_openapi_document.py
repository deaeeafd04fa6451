"""The API document says what a client needs: who may call, what can go wrong, what to send.

Walks the whole OpenAPI document, so a new route, schema or field that says nothing of
itself fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter, Body, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from charter.app import create_app
from charter.config import Settings
from charter.openapi import build_document

PUBLIC = {
    ("get", "/api/v1/health"),
    ("post", "/api/v1/verify"),
    ("post", "/api/v1/licenses/validate"),
    # Licensed software authenticates with its license key, in the body.
    ("post", "/api/v1/licenses/activate"),
    ("post", "/api/v1/licenses/deactivate"),
    ("post", "/api/v1/licenses/heartbeat"),
    # Firm badges are public documents, as credentials are.
    ("get", "/api/v1/tier-badges/{badge_id}"),
}
KEY_OR_API_KEY = {("post", "/api/v1/usage")}
WRITES = {"post", "put", "patch", "delete"}
READING_POSTS = {"/api/v1/verify", "/api/v1/licenses/validate"}
PROBLEM = "#/components/schemas/Problem"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    directory = tmp_path_factory.mktemp("openapi")
    return create_app(
        Settings(database_url=f"sqlite:///{directory}/x.db", secret_key="k", data_dir=directory)
    )


@pytest.fixture(scope="module")
def document(api: FastAPI) -> dict[str, Any]:
    return api.openapi()


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def _resolve(document, schema):
    # An optional body is ``anyOf`` its schema and null.
    schema = next((option for option in schema.get("anyOf", []) if "$ref" in option), schema)
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_bearer_scheme_is_declared(document):
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["apiKey"]["description"],
    }


def test_authenticated_operations_ask_for_an_api_key_and_public_ones_do_not(document):
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        if (method, path) in KEY_OR_API_KEY:
            assert operation["security"] == [{"apiKey": []}, {}], where
        elif (method, path) in PUBLIC or not path.startswith("/api/v1/"):
            assert not operation.get("security"), where
        else:
            assert operation.get("security") == [{"apiKey": []}], where


def test_every_operation_documents_its_problems(document):
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        responses = operation["responses"]
        expected = {"503"}
        parameters = operation.get("parameters", [])
        changes = method in WRITES and path not in READING_POSTS
        if parameters or "requestBody" in operation or changes:
            expected.add("422")
        if "requestBody" in operation:
            expected.add("413")
        if operation.get("security"):
            expected |= {"401", "403"}
        if any(parameter["in"] == "path" for parameter in parameters):
            expected.add("404")
        if changes:
            expected.add("409")
        assert expected <= set(responses), f"{where} lacks {sorted(expected - set(responses))}"
        for status, response in responses.items():
            if int(status) < 400:
                continue
            assert response["description"], (where, status)
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": PROBLEM}}
            }, (where, status)
    # A change whose body names records can miss one; one that names none cannot.
    paths = document["paths"]
    for method, path in [
        ("post", "/api/v1/awards"),
        ("post", "/api/v1/awards/batch"),
        ("post", "/api/v1/licenses/activate"),
        ("post", "/api/v1/usage"),
    ]:
        assert "404" in paths[path][method]["responses"], (method, path)
    for method, path in [("post", "/api/v1/partners"), ("post", "/api/v1/webhooks")]:
        assert "404" not in paths[path][method]["responses"], (method, path)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_throttled_and_overloaded_answers_say_when_to_retry(document):
    validate = document["paths"]["/api/v1/licenses/validate"]["post"]["responses"]
    assert "Retry-After" in validate["429"]["headers"]
    health = document["paths"]["/api/v1/health"]["get"]["responses"]
    assert "Retry-After" in health["503"]["headers"]


def test_schema_names_name_no_module_or_route(document):
    names = list(document["components"]["schemas"])
    assert [name for name in names if "__" in name or name.startswith("Body_")] == []
    assert {"AgreementRequirements", "CriteriaRequirements", "TierRequirements"} <= set(names)
    assert "AwardPage" in names


def test_a_body_of_several_parameters_is_named_after_its_route():
    app = FastAPI()
    router = APIRouter()

    @router.post("/sign-in")
    def sign_in(email: str = Body(), password: str = Body()) -> dict[str, str]:
        return {}

    app.include_router(router, prefix="/api/v1")
    document = build_document(
        app, Settings(database_url="sqlite://", secret_key="k"), authenticated_by=lambda: None
    )
    body = document["paths"]["/api/v1/sign-in"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SignInBody"
    }
    assert "SignInBody" in document["components"]["schemas"]


def test_every_request_body_has_an_example(document):
    missing = []
    for path, method, operation in _operations(document):
        for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = _resolve(document, content.get("schema", {}))
            if not (content.get("example") or content.get("examples") or schema.get("examples")):
                missing.append(f"{method.upper()} {path} ({media_type})")
    assert missing == []


def test_every_body_example_is_accepted_by_its_route(api, document):
    # Spectral does not check OpenAPI 3.1 schema examples: each one goes through the very
    # validation its route runs (enums, formats, country codes, email addresses).
    checked = 0
    for route in iter_route_contexts(api.routes):
        body = getattr(route, "body_field", None)
        if not isinstance(route.original_route, APIRoute) or body is None:
            continue
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            content = operation["requestBody"]["content"]["application/json"]
            examples = _resolve(document, content["schema"]).get("examples", [])
            for example in examples:
                _, errors = body.validate(example, {}, loc=("body",))
                assert errors == [], f"{method} {route.path_format}: {errors}"
                checked += 1
    assert checked >= 50


def test_every_field_and_parameter_is_described(document):
    undescribed = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, spec in schema.get("properties", {}).items()
        if not spec.get("description")
    ]
    undescribed += [
        f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
        for path, method, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description")
    ]
    assert undescribed == []
