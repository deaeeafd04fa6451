"""The portal's navigation: the sections a principal may open, derived from their permissions.

A section names the permission its pages need (its service checks the same one) and whether
it is vendor staff's or a partner user's; a principal sees a link only where their role's
permissions (``ROLE_PERMISSIONS``) let them in, so no template decides by role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from charter.core.auth import Permission, Principal
from charter.web.i18n import N_


class Audience(Enum):
    """Who a section is for: vendor staff see the program, partner users their own firm."""

    EVERYONE = "everyone"
    STAFF = "staff"
    PARTNER = "partner"


@dataclass(frozen=True, slots=True)
class Section:
    """A part of the portal: its label, its path, and who may open it."""

    label: str
    path: str
    permission: Permission | None
    audience: Audience = Audience.EVERYONE

    def open_to(self, principal: Principal) -> bool:
        """Whether ``principal`` may open this section."""
        partner_user = principal.partner_scope is not None
        if self.audience is Audience.STAFF and partner_user:
            return False
        if self.audience is Audience.PARTNER and not partner_user:
            return False
        return self.permission is None or principal.can(self.permission)

    def href(self, principal: Principal) -> str:
        """The section's address for ``principal`` (a partner user's firm is their own)."""
        return self.path.format(partner_id=principal.partner_scope or "")


SECTIONS = (
    Section(N_("Dashboard"), "/dashboard", None),
    Section(N_("Partners"), "/partners", Permission.PARTNERS_READ, Audience.STAFF),
    Section(N_("My firm"), "/partners/{partner_id}", Permission.PARTNERS_READ, Audience.PARTNER),
    Section(N_("Our program"), "/program/{partner_id}", Permission.PARTNERS_READ, Audience.PARTNER),
    Section(N_("Licensing"), "/licensing/{partner_id}", Permission.LICENSES_READ, Audience.PARTNER),
    Section(N_("People"), "/people", Permission.PEOPLE_READ),
    Section(
        N_("Certifications"), "/certifications", Permission.CERTIFICATIONS_READ, Audience.STAFF
    ),
    Section(N_("Imports"), "/imports", Permission.PARTNERS_WRITE, Audience.STAFF),
    Section(N_("Reports"), "/reports", Permission.REPORTS_READ, Audience.STAFF),
    Section(N_("Taxonomy"), "/taxonomy", Permission.PARTNERS_READ, Audience.STAFF),
    Section(N_("Approvals"), "/approvals", Permission.APPROVALS_READ),
    Section(N_("Events"), "/events", Permission.EVENTS_READ),
    # Partner users have their firm's own licensing page above.
    Section(N_("Licenses"), "/licenses", Permission.LICENSES_READ, Audience.STAFF),
    Section(N_("Agreements"), "/licensing/agreements", Permission.LICENSES_READ, Audience.STAFF),
    Section(N_("Products"), "/licensing/products", Permission.LICENSES_READ, Audience.STAFF),
    Section(N_("Users"), "/users", Permission.USERS_MANAGE, Audience.STAFF),
    Section(N_("Webhooks"), "/webhooks", Permission.WEBHOOKS_MANAGE, Audience.STAFF),
)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link of the navigation bar."""

    label: str
    href: str
    current: bool


def navigation(principal: Principal, path: str) -> list[NavItem]:
    """The links ``principal`` may follow, marking the one ``path`` is in."""
    items = []
    for section in SECTIONS:
        if not section.open_to(principal):
            continue
        href = section.href(principal)
        current = path == href or path.startswith(href.rstrip("/") + "/")
        items.append(NavItem(section.label, href, current))
    return items
