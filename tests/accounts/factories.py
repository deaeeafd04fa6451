"""Users and firms for the accounts tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from charter.accounts import service as accounts
from charter.core.auth import Principal, Role
from charter.partners.enums import PartnerStatus
from tests.partners.factories import partner


def staff_and_firm(sessions: sessionmaker[Session], system: Principal) -> dict[str, Any]:
    """A firm with a partner admin, an admin, a program manager and a disabled auditor."""
    with sessions() as db, db.begin():
        firm = partner(db, system, name="Acme Integrators", status=PartnerStatus.ACTIVE)

        def user(email: str, name: str, role: Role, **extra: Any) -> Any:
            return accounts.create_user(
                db,
                system,
                email=email,
                display_name=name,
                role=role,
                password="correct horse battery staple",
                **extra,
            )

        admin = user("ada@vendor.example", "Ada Admin", Role.ADMIN)
        manager = user("max@vendor.example", "Max Manager", Role.PROGRAM_MANAGER)
        auditor = user("aud@vendor.example", "Audrey Auditor", Role.AUDITOR)
        accounts.disable_user(db, system, user_id=auditor.id, reason="left the company")
        firm_admin = user("pat@acme.example", "Pat Partner", Role.PARTNER_ADMIN, partner_id=firm.id)
        return {
            "firm": firm.id,
            "admin": admin,
            "manager": manager,
            "auditor": auditor,
            "firm_admin": firm_admin,
        }
