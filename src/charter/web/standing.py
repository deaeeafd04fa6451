"""The status a public page shows for one of Charter's credentials, read from Charter's records.

The page and the embed show, for every view, what the full verifier
(:func:`charter.web.public.verify_own`) would conclude, without running it: the stored bytes
were checked when Charter signed them and never change, so what is left to ask is what can
change, and Charter's records know it. The page's Verify button still runs the full check.
The tests of this module compare its verdicts and reasons with the verifier's, state by state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from charter.config import Settings
from charter.credentials import documents, status
from charter.credentials.resolver import strip_fragment
from charter.credentials.verify import VerdictStatus, parse_datetime
from charter.crypto import dids, keyring


class Recorded(Protocol):
    """What Charter's records say about one of its credentials (a person's or a firm's)."""

    @property
    def id(self) -> str:
        """The credential's id (``bdg_…`` or ``tbg_…``)."""

    @property
    def verification_method(self) -> str:
        """The key that signed it."""

    @property
    def revoked(self) -> bool:
        """Revoked, for good."""

    @property
    def suspended(self) -> bool:
        """Suspended, for now."""

    @property
    def status_reason(self) -> str | None:
        """Why it was revoked or suspended."""


@dataclass(frozen=True)
class Standing:
    """A credential's status as the verifier would state it, and the verifier's reason."""

    status: VerdictStatus
    reason: str | None = None


def own_standing(
    db: Session,
    settings: Settings,
    found: Recorded,
    document: dict[str, Any],
    now: datetime,
) -> Standing:
    """What the verifier concludes about one of Charter's credentials, from Charter's records.

    The checks of the bytes themselves (contexts, types, schema, safe mode, signature) passed
    when Charter signed them, and stored credentials are never changed. What can change is
    read from the records: whether the key is still one this issuer publishes, whether the
    credential's addresses are still this deployment's, revocation and suspension, and the
    signed dates against ``now``. The statuses and reasons are the verifier's, in its order of
    severity.
    """
    problem = _key_problem(db, settings, found.verification_method, _issuer_id(document))
    if problem is not None:
        return Standing("invalid", problem)
    dates = _signed_dates(document)
    if isinstance(dates, str):
        return Standing("invalid", dates)
    problem = _status_problem(settings, found, document)
    if problem is not None:
        return Standing("invalid", problem)
    valid_from, valid_until = dates
    if found.revoked:
        return Standing("revoked", f"revoked: {found.status_reason or 'by the issuer'}")
    if found.suspended:
        return Standing("suspended", "suspended: by the issuer")
    if now < valid_from:
        return Standing("not_yet_valid", f"not valid until {_iso(valid_from)}")
    if valid_until is not None and now > valid_until:
        return Standing("expired", f"expired on {_iso(valid_until)}")
    return Standing("valid")


def _key_problem(db: Session, settings: Settings, method: str, issuer: str | None) -> str | None:
    """Why a verifier could not use this signing key for this issuer; ``None`` if it can."""
    controller = keyring.controller_of(db, method)
    if controller is None:
        return f"the key {method} is not one of this issuer's keys"
    # A did:key resolves offline; a did:web key is found only in the document this deployment
    # serves, which lists the keys of its current did:web (not those of an earlier URL).
    if not method.startswith(dids.DID_KEY_PREFIX) and controller != keyring.issuer_did_web(
        settings
    ):
        url = dids.did_web_document_url(strip_fragment(method))
        return f"the key {method} cannot be resolved: {url} is not one of this issuer's documents"
    if controller != issuer:
        return f"the signing key belongs to {controller}, not to the issuer {issuer}"
    return None


def _status_problem(settings: Settings, found: Recorded, document: dict[str, Any]) -> str | None:
    """Why a verifier could not learn the credential's status here; ``None`` if it can.

    The records answer for a credential whose ``id`` is this deployment's address for it.
    One issued under an earlier public URL is not recognised, and its status list is at that
    earlier address, which this deployment does not serve.
    """
    if document.get("id") == documents.credential_url(settings, found.id):
        return None
    entry = document.get("credentialStatus")
    list_url = entry.get("statusListCredential") if isinstance(entry, dict) else None
    if not isinstance(list_url, str) or list_url.startswith(status.list_url(settings, "")):
        return None
    return (
        "status cannot be checked: the status list cannot be retrieved: "
        f"{strip_fragment(list_url)} is not one of this issuer's documents"
    )


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _signed_dates(document: dict[str, Any]) -> tuple[datetime, datetime | None] | str:
    """``(validFrom, validUntil)`` as the verifier reads them, or what is wrong with them."""
    valid_from = parse_datetime(document.get("validFrom"))
    valid_until = parse_datetime(document.get("validUntil"))
    if valid_from is None:
        return "validFrom is missing or not a dateTimeStamp"
    if "validUntil" in document and valid_until is None:
        return "validUntil is not a dateTimeStamp"
    if valid_until is not None and valid_until < valid_from:
        return "validUntil is before validFrom"
    return valid_from, valid_until


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
