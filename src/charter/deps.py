"""FastAPI dependencies: the database session and the acting principal, as ``Annotated`` aliases."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextvars import ContextVar
from datetime import datetime
from typing import Annotated, Any, NamedTuple, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from charter.accounts import service as accounts
from charter.accounts import sessions
from charter.core import clock
from charter.core.auth import Principal
from charter.core.errors import Forbidden, Unauthorized
from charter.core.etags import none_match, strong_etag
from charter.core.pagination import MAX_LIMIT
from charter.db.engine import is_lock_timeout
from charter.db.freshness import StampedCache

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed if the route succeeds, rolled back otherwise.

    It ends before the response is sent, so a request is acknowledged only once its writes are
    committed. Safe methods (GET, HEAD, OPTIONS) read through the reading engine: on SQLite they
    begin DEFERRED and never wait for the write lock; on PostgreSQL they are READ ONLY. Other
    methods begin IMMEDIATE on SQLite, at their first statement. The session connects in the
    route's thread when first used; ending it takes a thread only when it may wait (a write, or
    a round trip to PostgreSQL), see :func:`reads_inline`.
    """
    state = request.app.state
    reads = request.method in SAFE_METHODS
    session: Session = (state.read_sessions if reads else state.sessions)()
    inline = reads and reads_inline(request)
    try:
        yield session
    except BaseException:
        await _finish(session, commit=False, inline=inline)
        raise
    await _finish(session, commit=True, inline=inline)


async def read(request: Request, work: Callable[[Session], T]) -> T:
    """``work(session)`` in a read transaction of its own, where :func:`reads_inline` says.

    For ``async def`` routes that answer most requests from memory and read only on a miss.
    """

    def run() -> T:
        with request.app.state.read_sessions() as db, db.begin():
            return work(db)

    if reads_inline(request):
        return run()
    return await run_in_threadpool(run)


class KeptAnswer(NamedTuple):
    """A reading route's JSON answer to one caller and URL, as :func:`kept_answer` keeps it."""

    body: bytes
    etag: str
    good_until: datetime | None
    """When something the answer shows lapses by the clock alone (an award's status expires);
    ``None`` if nothing does."""


ANSWERS_KEPT = 256
"""How many answers a worker keeps (see :func:`kept_answer`)."""
ANSWER_BYTES_KEPT = 256 * 1024
"""The largest answer kept: with :data:`ANSWERS_KEPT`, at most 64 MiB a worker."""


async def kept_answer(
    request: Request,
    actor: Principal,
    work: Callable[[Session], tuple[bytes, datetime | None]],
) -> KeptAnswer:
    """The JSON answer of a reading route, kept in memory until the database changes.

    ``work(session)`` builds the answer's bytes in a read transaction (as :func:`read` runs
    it) and says until when the clock alone leaves it true. The answer is kept for this caller
    (the principal itself: its user, role, firm and scopes) and this URL, path and query, and
    given again while nothing has been committed to the database since it was read (see
    :mod:`charter.db.freshness`) and ``good_until`` has not passed: an integration polling a
    list, or a page of badges asked for by many viewers at once, costs one read. Whatever
    changes, in this process or another, is in the next answer. The route checks the caller's
    permission before it asks: a principal whose role or scopes changed is another key.
    """
    kept, stamp = _kept(request, actor)
    if kept is not None:
        return kept
    body, good_until = await read(request, work)
    answer = KeptAnswer(body, strong_etag(body), good_until)
    if len(body) <= ANSWER_BYTES_KEPT:
        _answers(request).put(_answer_key(request, actor), answer, stamp)
    return answer


def _answers(request: Request) -> StampedCache[tuple[Principal, str, bytes], KeptAnswer]:
    answers: StampedCache[tuple[Principal, str, bytes], KeptAnswer] = request.app.state.answers
    return answers


def _answer_key(request: Request, actor: Principal) -> tuple[Principal, str, bytes]:
    return actor, request.scope["path"], request.scope.get("query_string", b"")


def _kept(request: Request, actor: Principal) -> tuple[KeptAnswer | None, int | None]:
    """The answer kept for this caller and URL if it still holds, and the stamp to keep the
    next one with."""
    kept, stamp = _answers(request).get(_answer_key(request, actor))
    if kept is not None and (kept.good_until is None or clock.now() < kept.good_until):
        return kept, stamp
    return None, stamp


_PRIVATE_VARY = "Authorization, Cookie"


async def kept_json(
    request: Request,
    actor: Principal,
    work: Callable[[Session], tuple[bytes, datetime | None]],
) -> Response:
    """:func:`kept_answer` as a JSON response for this caller only, with its ``ETag``: a
    client sending it back in ``If-None-Match`` gets ``304 Not Modified`` while it holds."""
    return _json_answer(request, await kept_answer(request, actor, work))


def _json_answer(request: Request, answer: KeptAnswer) -> Response:
    headers = {
        "ETag": answer.etag,
        "Cache-Control": "private, no-cache",
        "Vary": _PRIVATE_VARY,
    }
    if none_match(request.headers.get("if-none-match"), answer.etag):
        return Response(status_code=304, headers=headers)
    return Response(answer.body, media_type="application/json", headers=headers)


async def read_rows(
    request: Request, work: Callable[[Connection], T], *, consistent: bool = True
) -> T:
    """``work(connection)`` in a read transaction of its own on a Core connection.

    As :func:`read`, without an ORM session: for the hottest public routes, whose reads are a
    few Core statements. Opening, beginning and ending a session costs several times the
    statement it runs (the session's events, identity map and transaction bookkeeping).

    Not ``consistent``: each statement may see the database as it is when it runs, rather
    than all of them as it was at the first. On PostgreSQL the statements then run without a
    transaction (autocommit), each one round trip instead of ``BEGIN``, the statement and
    ``COMMIT``. For reads whose answer is a moment's view anyway (is this key valid now?).
    """
    state = request.app.state
    engine = state.read_engine if consistent else state.single_reads

    def run() -> T:
        with engine.connect() as connection, connection.begin():
            return work(connection)

    if reads_inline(request):
        return run()
    return await run_in_threadpool(run)


def reads_inline(request: Request) -> bool:
    """Whether short reads run on the event loop rather than in a worker thread.

    On SQLite they do: a read there is work in this process's memory that never waits for a
    lock (WAL, DEFERRED), and handing it to a thread and back costs more than the read itself.
    PostgreSQL reads wait for a network round trip, which must not stall the event loop.
    """
    return bool(request.app.state.inline_reads)


async def _finish(session: Session, *, commit: bool, inline: bool) -> None:
    if not session.in_transaction():
        session.close()  # never connected: nothing to end
    elif inline:
        _end(session, commit=commit)
    else:
        await run_in_threadpool(_end, session, commit=commit)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# Scoped to the route: the transaction ends (commits) before the response starts.
DbSession = Annotated[Session, Depends(get_db, scope="function")]

# The query parameters of every list route.
Cursor = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The next_cursor of the previous page",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")]


async def get_principal(request: Request) -> Principal:
    """The caller: an API key in ``Authorization: Bearer``, or a signed-in web session.

    A session may call unsafe methods only with its CSRF token in ``X-CSRF-Token``, so another
    site cannot make a signed-in browser change anything.

    An API key seen before is answered from memory (see :func:`_bearer_principal`), without a
    database session: a route that then reads only from memory, or through a Core connection,
    opens none at all. Otherwise the caller is looked up in a short read transaction of its
    own, before the route's: for a writing request, so it takes SQLite's write lock only when
    its route starts, not while its caller is checked. Found once a request: the idempotency
    layer asks before the route does.
    """
    known = request.scope.get(_CALLER)
    if isinstance(known, Principal):
        return known
    kept = _kept_bearer(request)
    if kept is not None:
        principal = kept
    else:
        if reads_inline(request):
            principal, seen = _lookup_principal(request)
        else:
            principal, seen = await run_in_threadpool(_lookup_principal, request)
        await _record_seen(request, seen)
    request.scope[_CALLER] = principal
    return principal


_CALLER = "charter.caller"


async def _record_seen(request: Request, session_id: str | None) -> None:
    if session_id is not None:
        await run_in_threadpool(record_session_seen, request, session_id)


def _lookup_principal(request: Request) -> tuple[Principal, str | None]:
    with request.app.state.read_sessions() as db, db.begin():
        return _principal(request, db)


def _principal(request: Request, db: Session) -> tuple[Principal, str | None]:
    token = _bearer_token(request)
    if token is not None:
        return _bearer_principal(request, db, token), None
    session_token = session_token_of(request)
    if not session_token:
        raise Unauthorized("sign in or present an API key")
    if request.method not in SAFE_METHODS:
        expected = request.session.get("csrf", "")
        presented = request.headers.get("x-csrf-token", "")
        if not expected or not hmac.compare_digest(expected, presented):
            raise Forbidden("missing or wrong CSRF token")
    signed_in = sessions.session_principal(db, session_token)
    return signed_in.principal, signed_in.session_id if signed_in.record_seen else None


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <API key>'")
    return token.strip()


def _kept_bearer(request: Request) -> Principal | None:
    """The principal of the request's API key if it is kept in memory and still valid."""
    token = _bearer_token(request)
    return None if token is None else _kept_caller(request, token)[0]


def _kept_caller(request: Request, token: str) -> tuple[Principal | None, bytes, int | None]:
    """The principal kept for ``token`` if still valid (an expiring key is checked against
    the clock each time), its key in the cache (the token's SHA-256, never the token), and the
    stamp to keep a principal read now with."""
    callers: StampedCache[bytes, tuple[Principal, datetime | None]] = request.app.state.callers
    digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
    kept, stamp = callers.get(digest)
    if kept is not None:
        principal, expires_at = kept
        if expires_at is None or clock.now() < expires_at:
            return principal, digest, stamp
    return None, digest, stamp


def _bearer_principal(request: Request, db: Session, token: str) -> Principal:
    """The principal of an API key, kept in memory between changes to the database.

    On SQLite (:mod:`charter.db.freshness`) a key found once is answered from memory until
    anything is committed, by any process: a revoked key, a disabled user or a changed role
    is refused or changed at the very next request.
    """
    kept, digest, stamp = _kept_caller(request, token)
    if kept is not None:
        return kept
    principal, expires_at = accounts.resolve_token(db, token)
    request.app.state.callers.put(digest, (principal, expires_at), stamp)
    return principal


SESSION_KEY = "sid"
"""Where the session cookie keeps the token of its sign-in record."""


def session_token_of(request: Request) -> str | None:
    """The sign-in token the request's session cookie carries, if any."""
    token = request.session.get(SESSION_KEY) if "session" in request.scope else None
    return token if isinstance(token, str) and token else None


def record_session_seen(request: Request, session_id: str) -> None:
    """Record that a session was used, in a short write of its own (from a worker thread).

    Best effort: when the database is busy, the next request of the session tries again.
    """
    try:
        with request.app.state.sessions() as db, db.begin():
            sessions.record_seen(db, session_id)
    except OperationalError as error:
        if not is_lock_timeout(error):
            raise


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def offloaded(endpoint: F) -> F:
    """Mark a reading endpoint that may run long (it walks a whole table or chain).

    It always runs in a worker thread: inline on the event loop, as short reads on SQLite run
    (see :class:`OneThreadRoute`), it would hold every other request up while it runs.
    """
    endpoint.__dict__[_OFFLOADED] = True
    return endpoint


_OFFLOADED = "charter_offloaded"


def answers_kept(endpoint: F) -> F:
    """Mark a reading endpoint that answers through :func:`kept_json`.

    Its route looks for a kept answer before FastAPI validates the request's parameters:
    the answer was built from this very query string, which was valid then, for this very
    caller. Validating nine query parameters costs FastAPI more than the answer from memory.
    """
    endpoint.__dict__[_ANSWERS_KEPT] = True
    return endpoint


_ANSWERS_KEPT = "charter_answers_kept"
# Whether the route being handled may run its endpoint on the event loop (set per request).
_inline: ContextVar[bool] = ContextVar("charter_inline_endpoint", default=False)


class OneThreadRoute(APIRoute):
    """A route whose plain (``def``) endpoint and response validation run in one worker thread.

    FastAPI runs a ``def`` endpoint in a worker thread, then validates what it returned in
    another (the value may be ORM objects that load attributes as they are read): two hand-offs
    to a thread and back a request, each costing more than a small route's own work. Here the
    endpoint becomes a coroutine that does both in one thread; FastAPI's own validation of the
    model it gets back is then only a type check, on the event loop. The signature, name and
    docstring stay the endpoint's, so parameters and the OpenAPI document are unchanged.

    A reading route (GET or HEAD only) runs its endpoint on the event loop itself where
    :func:`reads_inline` says short reads do (SQLite): a single item or a bounded page read
    from the database file costs less than the hand-off to a thread and back. Endpoints marked
    :func:`offloaded` (a whole chain or table walked) keep their thread.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        methods = {method.upper() for method in options.get("methods") or ("GET",)}
        self.inline_reads = (
            methods <= SAFE_METHODS
            and not inspect.iscoroutinefunction(endpoint)
            and not endpoint.__dict__.get(_OFFLOADED, False)
        )
        if inspect.iscoroutinefunction(endpoint):
            super().__init__(path, endpoint, **options)
            return
        route = self

        async def in_one_thread(**values: Any) -> Any:
            if _inline.get():
                return _call_and_validate(route, endpoint, values)
            return await run_in_threadpool(_call_and_validate, route, endpoint, values)

        in_one_thread.__signature__ = inspect.signature(endpoint, eval_str=True)  # type: ignore[attr-defined]
        for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
            setattr(in_one_thread, attribute, getattr(endpoint, attribute))
        super().__init__(path, in_one_thread, **options)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.endpoint.__dict__.get(_ANSWERS_KEPT, False):
            return _kept_first(handler)
        if not self.inline_reads:
            return handler

        async def handle(request: Request) -> Response:
            token = _inline.set(reads_inline(request))
            try:
                return await handler(request)
            finally:
                _inline.reset(token)

        return handle


def _kept_first(
    handler: Callable[[Request], Coroutine[Any, Any, Response]],
) -> Callable[[Request], Coroutine[Any, Any, Response]]:
    async def handle(request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            # The caller, as the route's dependency would find it (and then finds it again).
            kept, _ = _kept(request, await get_principal(request))
            if kept is not None:
                return _json_answer(request, kept)
        return await handler(request)

    return handle


class JsonBodyRoute(APIRoute):
    """An ``async def endpoint(body: Model, request: Request) -> Response`` served without
    FastAPI's request handling: for a hot public route whose only input is one JSON body.

    FastAPI decodes the body with :func:`json.loads`, then validates it through its dependency
    solver and wraps the endpoint in layers that together cost more than a small route's own
    work. Here pydantic-core validates the body straight from its bytes; a body that does not
    validate raises :class:`RequestValidationError` located under ``body``, as any route's
    does, so the client gets the same ``422`` problem naming the field. The OpenAPI document
    is FastAPI's, from the endpoint's signature.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        hints = typing.get_type_hints(endpoint)
        models = [
            (name, hint)
            for name, hint in hints.items()
            if isinstance(hint, type) and issubclass(hint, BaseModel)
        ]
        requests = [name for name, hint in hints.items() if hint is Request]
        if len(models) != 1 or len(requests) != 1 or not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{self.path}: a JsonBodyRoute takes one body model and the request")
        (body_name, model), request_name = models[0], requests[0]

        async def handle(request: Request) -> Response:
            raw = await request.body()
            try:
                body = model.model_validate_json(raw)
            except ValidationError as error:
                located = [
                    {**item, "loc": ("body", *item["loc"])}
                    for item in error.errors(include_url=False, include_context=False)
                ]
                raise RequestValidationError(located, body=raw) from None
            response: Response = await endpoint(**{body_name: body, request_name: request})
            return response

        return handle


def _call_and_validate(
    route: APIRoute, endpoint: Callable[..., Any], values: dict[str, Any]
) -> Any:
    result = endpoint(**values)
    field = route.response_field
    if field is None or isinstance(result, Response):
        return result
    validated, errors = field.validate(result, {}, loc=("response",))
    # On errors, FastAPI validates the raw value again and reports them as it always does.
    return result if errors else validated


class SegmentRouter(APIRouter):
    """An ``APIRouter`` that declines at once a path none of its routes could match.

    FastAPI tries an application's routers in order, and each tries every one of its routes'
    patterns (twice: to find the router, then the route), so a request to the API's later
    routers paid for a regular expression of every route before them: measured, more than
    the rest of a route answered from memory. Each route's path here starts with a literal
    segment (``/awards/{award_id}``: ``awards``); a request whose path holds none of this
    router's first segments cannot match any of its routes and is declined without trying
    them. A router with a route that starts with a parameter tries every route, as before.
    """

    _segments: frozenset[str] | None = None
    _counted = -1

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if len(self.routes) != self._counted:
            self._segments = _first_segments(self.routes)
            self._counted = len(self.routes)
        segments = self._segments
        if segments is not None and segments.isdisjoint(scope["path"].split("/")):
            return Match.NONE, {}
        return super().matches(scope)


def _first_segments(routes: list[BaseRoute]) -> frozenset[str] | None:
    """The literal first segment of each route's path; ``None`` if one has none."""
    segments = set()
    for route in routes:
        path = getattr(route, "path", None)
        first = path.strip("/").split("/")[0] if isinstance(path, str) else ""
        if not first or "{" in first:
            return None
        segments.add(first)
    return frozenset(segments)


def api_router(**options: Any) -> APIRouter:
    """A :class:`SegmentRouter` whose routes are :class:`OneThreadRoute`."""
    return SegmentRouter(route_class=OneThreadRoute, **options)


def plain_get(router: APIRouter, path: str) -> Callable[[Endpoint], Endpoint]:
    """Register ``async def endpoint(request, **path_params)`` as a plain Starlette route.

    For the public documents every badge view fetches (a credential, its images): such a route
    takes the request and its path's text parameters and nothing else, and FastAPI's
    dependency solving and parameter validation would cost it more than its own work from
    memory. It answers ``GET`` and ``HEAD`` and is not in the OpenAPI document (the public
    documents are not part of the API). Errors raised in it go to the app's handlers as any
    route's do.
    """

    def register(endpoint: Endpoint) -> Endpoint:
        async def call(request: Request) -> Response:
            return await endpoint(request, **request.path_params)

        router.add_route(
            path, call, methods=["GET"], include_in_schema=False, name=endpoint.__name__
        )
        return endpoint

    return register


Endpoint = TypeVar("Endpoint", bound=Callable[..., Awaitable[Response]])
