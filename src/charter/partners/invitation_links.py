"""The link in an invitation email: a token naming the invitation, signed with the deployment key.

The token carries only the invitation's id, signed with the deployment secret (itsdangerous,
as unsubscribe links are), so nobody can make one for an invitation they only know the id of,
the firm that sent it included. It is single-use and expiring through the invitation it
names: accepting marks it accepted, and its ``expires_at`` is read off the injected clock.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from charter.config import Settings, secret_key
from charter.core.errors import NotFound

_SALT = "charter.partners.invitation"
PATH = "/invitations/"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(settings), salt=_SALT)


def make_token(settings: Settings, *, invitation_id: str) -> str:
    """The token of the invitation's link."""
    return str(_serializer(settings).dumps({"i": invitation_id}))


def read_token(settings: Settings, token: str) -> str:
    """The invitation id a token names; :class:`NotFound` when the token is not ours."""
    try:
        data = _serializer(settings).loads(token)
        invitation_id = data["i"]
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("this invitation link is not valid") from None
    if not isinstance(invitation_id, str):
        raise NotFound("this invitation link is not valid")
    return invitation_id


def invitation_url(settings: Settings, *, invitation_id: str) -> str:
    """The link the invitation email carries, to the page where its owner confirms."""
    token = make_token(settings, invitation_id=invitation_id)
    return f"{settings.public_url.rstrip('/')}{PATH}{token}"
