"""FastAPI dependencies: the database session and the acting principal, as ``Annotated`` aliases."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from charter.accounts import service as accounts
from charter.core.auth import Principal
from charter.core.errors import Forbidden, Unauthorized
from charter.core.pagination import MAX_LIMIT

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """A session whose transaction commits when the route succeeds and rolls back otherwise."""
    factory = request.app.state.sessions
    with factory() as session, session.begin():
        yield session


DbSession = Annotated[Session, Depends(get_db)]

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


def get_principal(request: Request, db: DbSession) -> Principal:
    """The caller: an API key in ``Authorization: Bearer``, or a signed-in web session.

    A session may call unsafe methods only with its CSRF token in ``X-CSRF-Token``, so another
    site cannot make a signed-in browser change anything.
    """
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
