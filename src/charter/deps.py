"""FastAPI dependencies: the database session and the acting principal, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core.auth import Principal
from charter.core.errors import Forbidden, Unauthorized
from charter.core.pagination import MAX_LIMIT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed if the route succeeds, rolled back otherwise.

    It ends before the response is sent, so a request is acknowledged only once its writes are
    committed. Safe methods (GET, HEAD, OPTIONS) read through the reading engine: on SQLite they
    begin DEFERRED and never wait for the write lock; on PostgreSQL they are READ ONLY. Other
    methods begin IMMEDIATE on SQLite, at their first statement. The session connects in the
    route's thread when first used; ending it takes a thread only if it did.
    """
    state = request.app.state
    session: Session = (state.read_sessions if request.method in SAFE_METHODS else state.sessions)()
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(_end, session, commit=False)
        else:
            session.close()
        raise
    if session.in_transaction():
        await run_in_threadpool(_end, session, commit=True)
    else:
        session.close()


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


def get_principal(request: Request) -> Principal:
    """The caller: an API key in ``Authorization: Bearer``, or a signed-in web session.

    A session may call unsafe methods only with its CSRF token in ``X-CSRF-Token``, so another
    site cannot make a signed-in browser change anything.

    The caller is looked up in a short read transaction of its own, so a writing request takes
    SQLite's write lock only when its route starts, not while its caller is checked.
    """
    with request.app.state.read_sessions() as db, db.begin():
        return _principal(request, db)


def _principal(request: Request, db: Session) -> Principal:
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use 'Authorization: Bearer <API key>'")
        return accounts.principal_from_token(db, token.strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not user_id:
        raise Unauthorized("sign in or present an API key")
    if request.method not in SAFE_METHODS:
        expected = request.session.get("csrf", "")
        presented = request.headers.get("x-csrf-token", "")
        if not expected or not hmac.compare_digest(expected, presented):
            raise Forbidden("missing or wrong CSRF token")
    return accounts.principal_from_session(db, user_id)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
