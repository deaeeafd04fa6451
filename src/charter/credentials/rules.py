"""Pure rules of an award's life: its effective status, and when it may be renewed."""

from __future__ import annotations

from datetime import datetime, timedelta

from charter.credentials.enums import AwardStatus

LIVE_STATUSES = (AwardStatus.ACTIVE, AwardStatus.SUSPENDED)


def effective_status(status: AwardStatus, valid_until: datetime, at: datetime) -> AwardStatus:
    """The status as users see it at ``at``: a live award past ``valid_until`` has expired.

    The sweep that stores the expiry may not have run yet; nobody should see an award as
    active for one minute longer than it is valid.
    """
    if status in LIVE_STATUSES and valid_until <= at:
        return AwardStatus.EXPIRED
    return status


def renewal_opens_at(valid_until: datetime, renewal_window_days: int) -> datetime:
    """The first instant an award may be renewed."""
    return valid_until - timedelta(days=renewal_window_days)


def renewal_refusal(
    status: AwardStatus, valid_until: datetime, renewal_window_days: int, at: datetime
) -> str | None:
    """Why an award cannot be renewed at ``at``, or ``None`` if it can."""
    current = effective_status(status, valid_until, at)
    if current is AwardStatus.EXPIRED:
        return "the award has expired; it must be earned again"
    if current is not AwardStatus.ACTIVE:
        return f"a {current.value} award cannot be renewed"
    opens = renewal_opens_at(valid_until, renewal_window_days)
    if at < opens:
        return (
            f"renewal opens on {opens.isoformat()} ({renewal_window_days} days before the "
            f"award expires on {valid_until.isoformat()})"
        )
    return None


def holder_name_shown(award_choice: bool | None, person_choice: bool) -> bool:
    """Whether a badge's public page names its holder: their choice for that badge, or else
    their choice for all their badges (which is off until they turn it on)."""
    return person_choice if award_choice is None else award_choice
