"""Pure lifecycle rules for partner firms: which status changes are allowed, and when.

No session and no clock here: the service passes the current values in and acts on the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from charter.partners.enums import OnboardingCheck, PartnerStatus

S = PartnerStatus

TRANSITIONS: dict[PartnerStatus, frozenset[PartnerStatus]] = {
    S.APPLICANT: frozenset({S.ONBOARDING, S.TERMINATED}),
    S.ONBOARDING: frozenset({S.ACTIVE, S.TERMINATED}),
    S.ACTIVE: frozenset({S.SUSPENDED, S.TERMINATED}),
    S.SUSPENDED: frozenset({S.ACTIVE, S.TERMINATED}),
    # Terminated is final: a returning firm applies again as a new partner.
    S.TERMINATED: frozenset(),
}

INITIAL_STATUS = S.APPLICANT


def allowed_transitions(current: PartnerStatus) -> list[PartnerStatus]:
    """The statuses a firm in ``current`` may move to, in lifecycle order."""
    return [status for status in PartnerStatus if status in TRANSITIONS[current]]


def empty_onboarding() -> dict[str, dict[str, Any]]:
    """The onboarding record of a new firm: every check not yet done."""
    return {
        check.value: {"done": False, "at": None, "by": None, "note": None}
        for check in OnboardingCheck
    }


def onboarding_entry(
    *, done: bool, at: datetime, by: str | None, note: str | None
) -> dict[str, Any]:
    """One check's record as stored in ``Partner.onboarding`` (times as ISO 8601 UTC)."""
    return {"done": done, "at": at.isoformat(), "by": by, "note": note}


def missing_onboarding_checks(onboarding: Mapping[str, Any] | None) -> list[OnboardingCheck]:
    """The onboarding checks not done yet, in their defined order."""
    record = onboarding or {}
    missing = []
    for check in OnboardingCheck:
        entry = record.get(check.value)
        if not (isinstance(entry, Mapping) and entry.get("done") is True):
            missing.append(check)
    return missing


def transition_refusal(
    current: PartnerStatus, target: PartnerStatus, onboarding: Mapping[str, Any] | None
) -> str | None:
    """Why a firm may not move from ``current`` to ``target``, or ``None`` when it may."""
    if current is target:
        return f"the partner is already {current.value}"
    if target not in TRANSITIONS[current]:
        options = allowed_transitions(current)
        if not options:
            return f"the partner is {current.value}, which is final: no status change is possible"
        choices = ", ".join(status.value for status in options)
        return (
            f"a partner cannot go from {current.value} to {target.value}; "
            f"from {current.value} it can go to: {choices}"
        )
    if target is S.ACTIVE:
        missing = missing_onboarding_checks(onboarding)
        if missing:
            names = ", ".join(check.value for check in missing)
            return (
                "the partner cannot become active before every onboarding check is done; "
                f"missing: {names}"
            )
    return None
