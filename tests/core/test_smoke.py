from charter.core.auth import Role


def test_health_answers_with_the_database_backend(client, backend):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["database"] == backend


def test_unknown_route_is_a_problem_document(client):
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_api_key_identifies_the_user(client, make):
    login = make.login(Role.PROGRAM_MANAGER)
    response = client.get("/api/v1/users/me", headers=login.headers)
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "program_manager"


def test_requests_without_credentials_are_refused(client):
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/unauthorized"


def test_problem_types_are_documented(client):
    response = client.get("/problems/validation")
    assert response.status_code == 200
    assert response.json()["status"] == 422
    assert client.get("/problems/nonsense").status_code == 404


def test_api_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/openapi.json").json()["openapi"].startswith("3.1")
