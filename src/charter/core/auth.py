"""Roles, permissions and the principal every service call is made on behalf of.

Permissions are checked in services, not in routes, so the API, the pages, the CLI and the
worker all obey the same rules. Partner users are confined to their own firm: a service asks
the principal for the partner scope and treats any other firm as not found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from charter.core.errors import Forbidden, NotFound


class Role(StrEnum):
    """What a user is, which decides what they may do."""

    ADMIN = "admin"
    PROGRAM_MANAGER = "program_manager"
    GOVERNANCE_OWNER = "governance_owner"
    AUDITOR = "auditor"
    PARTNER_ADMIN = "partner_admin"
    PARTNER_MEMBER = "partner_member"

    @property
    def is_partner_role(self) -> bool:
        """Partner roles see only their own firm."""
        return self in (Role.PARTNER_ADMIN, Role.PARTNER_MEMBER)


class Permission(StrEnum):
    """One capability; also the name of an API key scope."""

    PARTNERS_READ = "partners:read"
    PARTNERS_WRITE = "partners:write"
    PARTNERS_LIFECYCLE = "partners:lifecycle"
    PEOPLE_READ = "people:read"
    PEOPLE_WRITE = "people:write"
    CERTIFICATIONS_READ = "certifications:read"
    CERTIFICATIONS_WRITE = "certifications:write"
    ASSESSMENTS_READ = "assessments:read"
    ASSESSMENTS_WRITE = "assessments:write"
    AWARDS_READ = "awards:read"
    AWARDS_ISSUE = "awards:issue"
    AWARDS_REVOKE = "awards:revoke"
    AWARDS_OVERRIDE = "awards:override"
    USERS_MANAGE = "users:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    EVENTS_READ = "events:read"
    KEYS_MANAGE = "signing_keys:manage"
    # Webhook endpoints see every event of every firm: vendor staff who run integrations.
    WEBHOOKS_MANAGE = "webhooks:manage"
    # Approval requests: asking for an exception, deciding one (governance owners), reading them,
    # and routing a type to its owners (admins).
    APPROVALS_REQUEST = "approvals:request"
    APPROVALS_DECIDE = "approvals:decide"
    APPROVALS_READ = "approvals:read"
    APPROVALS_ROUTE = "approvals:route"
    # Licensing: the catalogue (products, agreement templates) and a firm's agreements and
    # licenses are read with licenses:read; a license's full key is a secret of its own.
    LICENSES_READ = "licenses:read"
    LICENSES_MANAGE = "licenses:manage"
    LICENSE_KEYS_READ = "license_keys:read"
    PRODUCTS_MANAGE = "products:manage"
    AGREEMENTS_MANAGE = "agreements:manage"
    AGREEMENTS_SIGN = "agreements:sign"
    # Reporting metered use of a firm's licenses (licensed software reports with its key).
    USAGE_REPORT = "usage:report"
    # The program's reports and KPI summary: figures across every firm, so vendor staff only.
    REPORTS_READ = "reports:read"
    # The program's own tracks, regions and partner types (everyone signed in reads them).
    TAXONOMY_MANAGE = "taxonomy:manage"


_READ_ALL = frozenset(
    {
        Permission.PARTNERS_READ,
        Permission.PEOPLE_READ,
        Permission.CERTIFICATIONS_READ,
        Permission.ASSESSMENTS_READ,
        Permission.AWARDS_READ,
        Permission.EVENTS_READ,
        Permission.APPROVALS_READ,
        Permission.LICENSES_READ,
        Permission.REPORTS_READ,
    }
)
_OWN_FIRM_READ = frozenset(
    {
        Permission.PARTNERS_READ,
        Permission.PEOPLE_READ,
        Permission.CERTIFICATIONS_READ,
        Permission.ASSESSMENTS_READ,
        Permission.AWARDS_READ,
        Permission.API_KEYS_MANAGE,
        Permission.APPROVALS_READ,
        Permission.LICENSES_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    # Rotating the issuer's signing key is an admin decision, like managing users. Program
    # managers ask for exceptions; deciding them is the governance owners' (and admins').
    Role.PROGRAM_MANAGER: frozenset(Permission)
    - {
        Permission.USERS_MANAGE,
        Permission.AWARDS_OVERRIDE,
        Permission.KEYS_MANAGE,
        Permission.APPROVALS_DECIDE,
        Permission.APPROVALS_ROUTE,
    },
    Role.GOVERNANCE_OWNER: _READ_ALL
    | {Permission.AWARDS_REVOKE, Permission.API_KEYS_MANAGE, Permission.APPROVALS_DECIDE},
    Role.AUDITOR: _READ_ALL | {Permission.API_KEYS_MANAGE},
    # A firm's admin signs its agreements and may read its license keys again; members may not.
    Role.PARTNER_ADMIN: _OWN_FIRM_READ
    | {
        Permission.PARTNERS_WRITE,
        Permission.PEOPLE_WRITE,
        Permission.APPROVALS_REQUEST,
        Permission.AGREEMENTS_SIGN,
        Permission.LICENSE_KEYS_READ,
        Permission.USAGE_REPORT,
    },
    Role.PARTNER_MEMBER: _OWN_FIRM_READ,
}


HOLDER = "person"
"""The principal kind of a certified person signed in to their own badges."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting: a user (through a session or an API key) or the system itself."""

    kind: str  # "user", "api_key", "person" (a holder) or "system"
    id: str | None
    role: Role | None
    permissions: frozenset[Permission]
    partner_id: str | None = None
    user_id: str | None = None
    name: str = ""
    scopes: frozenset[Permission] = field(default_factory=frozenset)

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        """The process itself (CLI on the server, demo, worker): may do everything."""
        return cls(kind="system", id=None, role=None, permissions=frozenset(Permission), name=name)

    @classmethod
    def for_user(
        cls,
        *,
        user_id: str,
        role: Role,
        partner_id: str | None,
        name: str,
        api_key_id: str | None = None,
        scopes: frozenset[Permission] | None = None,
    ) -> Principal:
        """A user, optionally acting through an API key narrowed to ``scopes``."""
        permissions = ROLE_PERMISSIONS[role]
        if scopes is not None:
            permissions = permissions & scopes
        return cls(
            kind="api_key" if api_key_id else "user",
            id=api_key_id or user_id,
            role=role,
            permissions=permissions,
            partner_id=partner_id if role.is_partner_role else None,
            user_id=user_id,
            name=name,
            scopes=scopes or frozenset(),
        )

    @classmethod
    def for_holder(cls, *, person_id: str, name: str) -> Principal:
        """A certified person signed in to their own badges: no permission of staff or firms.

        Services that serve holders check ``kind`` and ``id`` themselves (their own awards
        only); every permission check refuses this principal.
        """
        return cls(kind=HOLDER, id=person_id, role=None, permissions=frozenset(), name=name)

    @property
    def holder_person_id(self) -> str | None:
        """The person this principal is, when a holder signed in; ``None`` otherwise."""
        return self.id if self.kind == HOLDER else None

    def can(self, permission: Permission) -> bool:
        """Whether this principal holds ``permission``."""
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        """Raise :class:`Forbidden` unless this principal holds ``permission``."""
        if permission not in self.permissions:
            raise Forbidden(f"this action needs the {permission.value!r} permission")

    @property
    def partner_scope(self) -> str | None:
        """The only firm this principal may see, or ``None`` for vendor staff."""
        return self.partner_id

    def require_partner(self, partner_id: str | None, what: str = "resource") -> None:
        """Treat another firm's data as not found for a partner user."""
        if self.partner_id is not None and partner_id != self.partner_id:
            raise NotFound(f"{what} not found")


_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; constant-time inside argon2."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with older parameters."""
    return _hasher.check_needs_rehash(password_hash)
