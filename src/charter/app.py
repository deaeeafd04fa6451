"""create_app(): the FastAPI application with its routers, pages and middleware."""

from __future__ import annotations

import base64
import gc
import hashlib
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import swagger_ui
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter import __version__
from charter.accounts.api import router as accounts_router
from charter.approvals.api import router as approvals_router
from charter.config import Settings, get_settings, secret_key
from charter.core.admission import AdmissionMiddleware
from charter.core.api import router as core_router
from charter.core.bodylimit import BodyLimitMiddleware
from charter.core.errors import (
    PROBLEM_TYPES,
    CharterError,
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    NotFound,
    Overloaded,
    TooManyAttempts,
    Unauthorized,
)
from charter.core.idempotency import IdempotencyMiddleware
from charter.core.unexpected import PROBLEM, UnexpectedErrorMiddleware, log_unexpected
from charter.credentials.api import router as awards_router
from charter.credentials.verify_api import router as verify_router
from charter.crypto.api import router as keys_router
from charter.db.engine import is_lock_timeout, make_server_engine, make_sessionmaker, reading
from charter.db.freshness import StampedCache, change_watch, listen_for_changes
from charter.deps import ANSWERS_KEPT, get_principal, read
from charter.licensing.activations_api import KEY_PATHS as LICENSE_KEY_PATHS
from charter.licensing.activations_api import router as activations_router
from charter.licensing.alerts_api import router as license_alerts_router
from charter.licensing.api import router as licensing_router
from charter.licensing.token_api import router as license_token_router
from charter.licensing.validation_api import router as license_validation_router
from charter.openapi import install_openapi
from charter.partners.api import router as partners_router
from charter.programs.api import router as programs_router
from charter.reports.api import router as reports_router
from charter.tiers.api import router as tiers_router
from charter.web.directory import router as directory_router
from charter.web.errors import error_headers, error_html, wants_html
from charter.web.holder import router as holder_router
from charter.web.invitations import router as invitations_router
from charter.web.jwks import router as jwks_router
from charter.web.pages import language_of
from charter.web.pages import router as pages_router
from charter.web.portal import router as portal_router
from charter.web.public import configure_verification
from charter.web.public import router as public_router
from charter.web.status_lists import router as status_router
from charter.web.unsubscribe import router as unsubscribe_router
from charter.webhooks.api import router as webhooks_router

log = logging.getLogger("charter")
CALLERS_KEPT = 10_000
"""API keys whose principal a worker keeps in memory between changes to the database."""
PROBLEM_JSON = "application/problem+json"


def problem_response(error: CharterError, request: Request) -> JSONResponse:
    """An RFC 9457 response for a domain error."""
    headers = None
    if isinstance(error, Overloaded | TooManyAttempts):
        headers = {"Retry-After": str(error.retry_after)}
    elif error.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return JSONResponse(
        error.problem(instance=request.url.path),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts)


def error_page(
    request: Request, status: int, detail: str | None = None, headers: dict[str, str] | None = None
) -> HTMLResponse | None:
    """The HTML error page for a browser's request (see :mod:`charter.web.errors`), else None."""
    if not wants_html(request.url.path, request.headers):
        return None
    kept = {name: value for name, value in (headers or {}).items() if name == "Retry-After"}
    language = language_of(request)
    kept["Content-Language"] = language.tag
    return HTMLResponse(
        error_html(status, detail, language), status_code=status, headers=error_headers(kept)
    )


def error_response(error: CharterError, request: Request) -> Response:
    """A domain error's answer: a page for a browser, problem details for everyone else."""
    problem = problem_response(error, request)
    retry = problem.headers.get("retry-after")
    headers = {"Retry-After": retry} if retry else None
    return error_page(request, error.status, error.detail, headers) or problem


def install_error_handlers(app: FastAPI) -> None:
    """Turn every error into problem details (or, for a browser, a page): domain errors, bad
    input, unknown routes."""

    @app.exception_handler(CharterError)
    async def _domain(request: Request, error: CharterError) -> Response:
        return error_response(error, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        errors = [
            FieldError(_field_path(tuple(item.get("loc", ()))), str(item.get("msg", "invalid")))
            for item in error.errors()
        ]
        summary = "; ".join(f"{e.field or 'body'}: {e.detail}" for e in errors[:3])
        return error_response(Invalid(summary or "invalid request", errors), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        headers = error.headers
        if error.status_code == 405:
            allowed = allowed_methods(request)
            if allowed is not None:
                headers = {**(headers or {}), "Allow": allowed}
        page = error_page(request, error.status_code)
        if page is not None:
            page.headers.update(headers or {})
            return page
        generic = CharterError(str(error.detail))
        body = generic.problem(instance=request.url.path)
        body.update(type="about:blank", title=str(error.detail), status=error.status_code)
        return JSONResponse(
            body, status_code=error.status_code, media_type=PROBLEM_JSON, headers=headers
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, error: IntegrityError) -> Response:
        # A constraint the services did not foresee (usually a race): a conflict, not a crash.
        log.info("integrity error on %s: %s", request.url.path, error.orig)
        return error_response(Conflict("the change conflicts with existing data"), request)

    @app.exception_handler(DataError)
    async def _data(request: Request, error: DataError) -> Response:
        # The database refused a value (a NUL in a query parameter, a number out of range):
        # the input was at fault, and nothing was written.
        log.info("data error on %s: %s", request.url.path, error.orig)
        invalid = Invalid("the request holds a value the database cannot store")
        return error_response(invalid, request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, error: OperationalError) -> Response:
        # A lock held past the lock time-out (a long writer, SQLite's single write lock): the
        # transaction rolled back and nothing changed; the client may retry.
        if is_lock_timeout(error):
            log.warning("lock time-out on %s %s", request.method, request.url.path)
            return error_response(Overloaded("the data is busy; retry shortly"), request)
        return await _unexpected(request, error)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, error: PoolTimeout) -> Response:
        log.warning("no database connection free for %s %s", request.method, request.url.path)
        return error_response(Overloaded("the server is at capacity; retry shortly"), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        log_unexpected(log, request.method, request.url.path, error)
        return error_page(request, 500) or JSONResponse(
            PROBLEM, status_code=500, media_type=PROBLEM_JSON
        )


def unexpected_error_page(scope: Scope) -> bytes | None:
    """The 500 page :class:`UnexpectedErrorMiddleware` answers a browser with, else None."""
    if not wants_html(scope.get("path", ""), Headers(scope=scope)):
        return None
    return error_html(500).encode("utf-8")


ROUTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> str | None:
    """The ``Allow`` of a 405: every method some route serves at the request's path.

    Starlette names only the methods of the first route whose path matched; a path often has
    several (``GET`` and ``POST /partners``). ``None`` where a mounted app (static files) takes
    any method and answers for itself.
    """
    routes = request.app.router.routes
    scope = request.scope
    # The request as it reached the router, before a mount made its path relative.
    root_path = scope.get("app_root_path", scope.get("root_path", ""))

    def served(method: str) -> bool:
        probe = {**scope, "method": method, "root_path": root_path}
        return any(route.matches(probe)[0] is Match.FULL for route in routes)

    if served("UNROUTED"):
        return None
    methods = [method for method in ROUTED_METHODS if served(method)]
    if not methods:
        return None
    if "GET" in methods:
        methods.insert(1, "HEAD")
    return ", ".join(methods)


class HeadAsGet:
    """``HEAD`` answered wherever ``GET`` is: the ``GET`` route's status and headers, no body.

    Starlette's own routes do this, FastAPI's do not. Only ``HEAD`` requests pay for it; the
    server still sees ``HEAD`` and sends no body either.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request on; a ``HEAD`` one as ``GET``, its body left out."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


API_DOCS_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def api_docs_policy(page: bytes) -> str:
    """The Content-Security-Policy of the Swagger UI page: its own assets, and its one inline
    script by hash; no other origin, no framing."""
    scripts = re.findall(rb"<script>(.*?)</script>", page, flags=re.DOTALL)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in scripts
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def install_api_docs(app: FastAPI) -> None:
    """Swagger UI at /api/docs, its assets served by Charter itself (no CDN)."""
    assets = Path(swagger_ui.__file__).parent / "static"
    app.mount("/api/docs/assets", StaticFiles(directory=assets), name="api-docs-assets")
    page = get_swagger_ui_html(
        openapi_url="/api/openapi.json",
        title="Charter API",
        swagger_js_url="/api/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/api/docs/assets/swagger-ui.css",
        swagger_favicon_url="/api/docs/assets/favicon-32x32.png",
        # Swagger UI would otherwise send the document's URL to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    ).body
    headers = {**API_DOCS_HEADERS, "Content-Security-Policy": api_docs_policy(bytes(page))}

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)


def serve_app() -> FastAPI:
    """The application as ``charter serve`` runs it, in each worker process.

    What start-up made (modules, routes, schemas, compiled statements) lives as long as the
    process: frozen out of the garbage collector's reach, a full collection walks only what
    requests made, so it pauses requests far less (the p99 of the busiest routes).
    """
    app = create_app(listen=True)
    gc.collect()
    gc.freeze()
    return app


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, listen: bool = False
) -> FastAPI:
    """The application for ``settings`` (and an existing engine, in tests).

    ``listen``: on PostgreSQL, count the database's change notices in a thread of this
    process, so that what workers keep in memory between changes can be kept there too
    (:mod:`charter.db.freshness`); ``charter serve`` listens.
    """
    settings = settings or get_settings()
    engine = engine or make_server_engine(settings)
    app = FastAPI(
        title="Charter",
        version=__version__,
        summary="Partner program engine: certifications, badges, tiers and licensing.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        # FastAPI's OpenTelemetry spans and metrics cost every request a look at the providers,
        # even when none is installed: on only when the deployment asks for them.
        telemetry={
            "tracing": settings.telemetry,
            "metrics": settings.telemetry,
            "logs": settings.telemetry,
        },
    )
    app.state.settings = settings
    app.state.engine = engine
    # Services that sign (credentials) read these settings from the session, not the process.
    app.state.sessions = make_sessionmaker(engine, settings)
    app.state.read_engine = reading(engine)
    # Reads that need no snapshot across statements (deps.read_rows): on PostgreSQL, no
    # transaction round trips around them.
    app.state.single_reads = (
        app.state.read_engine.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql"
        else app.state.read_engine
    )
    app.state.read_sessions = make_sessionmaker(app.state.read_engine, settings)
    app.state.inline_reads = engine.dialect.name == "sqlite"  # see deps.reads_inline
    # What workers keep between changes to the database: API keys' principals and reading
    # routes' answers (see deps), and license snapshots (licensing.validation_api).
    app.state.change_watch = change_watch(engine, listen_for_changes(engine) if listen else None)
    app.state.callers = StampedCache(app.state.change_watch, CALLERS_KEPT)
    app.state.answers = StampedCache(app.state.change_watch, ANSWERS_KEPT)

    install_error_handlers(app)
    install_health(app, engine)
    install_problem_types(app)
    include_routers(app)
    install_openapi(app, settings, authenticated_by=get_principal, reading_posts=READING_POSTS)
    install_api_docs(app)
    install_middleware(app, settings)
    # Before a slot is taken or a body buffered; the verifier bounds its (larger) body itself.
    app.add_middleware(BodyLimitMiddleware, own_bound=("/api/v1/verify",))
    # Outside every other middleware: whatever escapes is logged once here, not re-raised
    # for the server to log again.
    app.add_middleware(UnexpectedErrorMiddleware, log=log, page=unexpected_error_page)
    return app


def include_routers(app: FastAPI) -> None:
    """The public documents first, then every domain's API under /api/v1, then the pages.

    FastAPI tries routes in order, so the busiest public routes (badges, status lists, DID
    documents, verification) come first and are found without trying the whole API.
    """
    # Licensed software validates its key: public, the hottest route, and found first (one
    # path: every other request passes it at the cost of comparing a segment).
    app.include_router(license_validation_router, prefix="/api/v1")
    app.include_router(public_router)
    configure_verification(app)
    app.include_router(status_router)
    app.include_router(keys_router)
    app.include_router(jwks_router)
    app.include_router(verify_router, prefix="/api/v1")
    for router in (
        accounts_router,
        core_router,
        partners_router,
        programs_router,
        awards_router,
        tiers_router,
        approvals_router,
        licensing_router,
        activations_router,
        license_token_router,
        license_alerts_router,
        webhooks_router,
        reports_router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(pages_router)
    # Before the portal: /partners/{id} is a firm badge's subject, public, and the portal's
    # firm page for signed-in users (web.directory hands those to the portal).
    app.include_router(directory_router)
    app.include_router(portal_router)
    app.include_router(unsubscribe_router)
    app.include_router(invitations_router)
    app.include_router(holder_router)


def install_health(app: FastAPI, engine: Engine) -> None:
    """``GET /api/v1/health``: liveness and database reachability."""

    @app.get("/api/v1/health", tags=["health"])
    async def health(request: Request) -> dict[str, str]:
        """Liveness and database reachability."""
        await read(request, lambda db: db.scalar(text("SELECT 1")))
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}


def install_problem_types(app: FastAPI) -> None:
    """``GET /problems/{slug}``: what a problem ``type`` URI in an error response means."""

    @app.get("/problems/{slug}", include_in_schema=False)
    async def problem_type(slug: str) -> dict[str, str | int]:
        """What a problem ``type`` URI in an error response means."""
        error_class = PROBLEM_TYPES.get(slug)
        if error_class is None:
            raise NotFound(f"no problem type {slug!r}")
        return {
            "type": f"/problems/{slug}",
            "title": error_class.title,
            "status": error_class.status,
            "description": (error_class.__doc__ or "").strip(),
        }


PUBLIC_PREFIXES = (
    "/credentials/",
    "/status/",
    "/.well-known/",
    "/did.json",
    "/problems/",
    "/static/",
    "/unsubscribe/",
    "/invitations/",
    "/api/docs",
    "/api/openapi.json",
    "/api/v1/verify",
    "/api/v1/health",
    # Licensed software, authenticated by its license key.
    *LICENSE_KEY_PATHS,
    "/api/v1/licenses/validate",
)
"""Paths no one needs to be signed in for: they never read or write the sign-in session."""


class PortalSessionMiddleware(SessionMiddleware):
    """Starlette's signed-cookie sessions, for the portal and the API only.

    Public documents and pages skip them: no cookie is parsed or verified, and no ``Vary:
    Cookie`` makes a shared cache keep a copy per visitor.
    """

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        super().__init__(app, **options)
        self.inner = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Skip the session on public paths."""
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIXES):
            await self.inner(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def idempotency_caller(scope: Scope) -> str | None:
    """Whom an ``Idempotency-Key`` belongs to: the authenticated caller, else ``None``."""
    try:
        principal = await get_principal(Request(scope))
    except (Unauthorized, Forbidden):
        return None
    return f"{principal.kind}:{principal.id}"


def idempotency_body_key(settings: Settings) -> bytes:
    """The key stored answers are sealed with, derived from the deployment secret."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"charter/idempotency", info=b"bodies v1"
    )
    return hkdf.derive(secret_key(settings).encode("utf-8"))


# POSTs that write nothing: badge verification and license validation.
READING_POSTS = frozenset({"/api/v1/verify", "/api/v1/licenses/validate"})


def install_middleware(app: FastAPI, settings: Settings) -> None:
    """Admission, then sign-in sessions, then idempotency keys scoped by them, then HEAD."""
    # Innermost first: HEAD turns into GET just before routing; the layers above still see it.
    app.add_middleware(HeadAsGet)
    # Sessions must be decoded before idempotency keys are scoped by them.
    app.add_middleware(
        IdempotencyMiddleware,
        sessions=lambda: app.state.sessions,
        identify=idempotency_caller,
        wait_seconds=settings.idempotency_wait_seconds,
        lifetime=timedelta(hours=settings.idempotency_lifetime_hours),
        claim_timeout=timedelta(seconds=settings.idempotency_claim_timeout_seconds),
        body_key=idempotency_body_key(settings),
    )
    app.add_middleware(
        PortalSessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie="charter_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    # Outermost: a request past the slots waits here, holding nothing, or is refused with 503.
    app.add_middleware(
        AdmissionMiddleware,
        read_slots=settings.server_read_slots,
        write_slots=settings.server_write_slots,
        queue_seconds=settings.server_queue_seconds,
        read_paths=READING_POSTS,
    )
