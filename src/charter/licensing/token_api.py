"""``GET /api/v1/licenses/{id}/token``: a license's offline token (``license+jwt``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from charter.config import Settings
from charter.crypto import keyring
from charter.crypto.models import KeyPurpose
from charter.db.engine import transaction
from charter.deps import CurrentPrincipal, DbSession, api_router, read
from charter.licensing import license_tokens

router = api_router()

LicenseId = Annotated[str, Path(min_length=1, max_length=40, description="A license id (lic_…)")]


class LicenseTokenOut(BaseModel):
    """A signed offline token of a license; verify it with the JWKS at /.well-known/jwks.json."""

    license_id: str
    token: str = Field(description="A compact JWS (JWT), typ license+jwt, alg Ed25519")
    token_type: str = Field(default=license_tokens.TYP)
    audience: str = Field(description="The token's aud: the product's code")
    expires_at: datetime


def _first_key(request: Request, settings: Settings) -> None:
    with transaction(request.app.state.sessions) as writer:
        keyring.active_signer(writer, settings, KeyPurpose.TOKEN)


async def token_key_ready(request: Request) -> None:
    """Make the first token key on a fresh deployment, in a write of its own, before the
    route's read transaction begins (reads are read-only)."""
    settings: Settings = request.app.state.settings
    if await read(request, lambda db: keyring.needs_new_key(db, settings, KeyPurpose.TOKEN)):
        await run_in_threadpool(_first_key, request, settings)


@router.get(
    "/licenses/{license_id}/token",
    response_model=LicenseTokenOut,
    tags=["licensing"],
    dependencies=[Depends(token_key_ready)],
)
def license_token(license_id: LicenseId, db: DbSession, actor: CurrentPrincipal) -> LicenseTokenOut:
    """A fresh offline token of an active license, for whoever may read it (partner users:
    their own firm's); 409 when the license is not active."""
    issued = license_tokens.issue_license_token(db, actor, license_id=license_id)
    return LicenseTokenOut(
        license_id=issued.license_id,
        token=issued.token,
        audience=issued.audience,
        expires_at=issued.expires_at,
    )
