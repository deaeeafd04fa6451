"""LinkedIn "Add to profile" links for a certification (pure: values in, a URL out).

LinkedIn publishes no specification for this deep link; the form below is the one its own
add-to-profile generator produces and that badge platforms use: ``startTask=CERTIFICATION_NAME``
with the certification's name, the issuing organisation (its numeric company page id, which
links the logo, or else its name), issue and expiry month and year, and the credential's URL
and id. Months are 1 to 12; every value is URL-encoded.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlencode

from charter.core import clock

ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def add_to_profile_url(
    *,
    name: str,
    issued: datetime,
    credential_url: str,
    credential_id: str,
    expires: datetime | None = None,
    organization_id: str | None = None,
    organization_name: str | None = None,
) -> str:
    """The link that opens LinkedIn's "Add license or certification" form filled in."""
    if not name.strip():
        raise ValueError("name is required")
    org_id = (organization_id or "").strip()
    org_name = (organization_name or "").strip()
    if not org_id and not org_name:
        raise ValueError("organization_id or organization_name is required")
    params: list[tuple[str, str]] = [("startTask", "CERTIFICATION_NAME"), ("name", name.strip())]
    # The id wins when both are known: it links the company page and its logo.
    params.append(("organizationId", org_id) if org_id else ("organizationName", org_name))
    issued_utc = clock.ensure_utc(issued)
    params += [("issueYear", str(issued_utc.year)), ("issueMonth", str(issued_utc.month))]
    if expires is not None:
        expires_utc = clock.ensure_utc(expires)
        params += [
            ("expirationYear", str(expires_utc.year)),
            ("expirationMonth", str(expires_utc.month)),
        ]
    params += [("certUrl", credential_url), ("certId", credential_id)]
    # quote with nothing safe (not quote_plus): a space is %20 and "/" is %2F, which every
    # reader of the URL decodes the same way.
    return f"{ADD_TO_PROFILE}?{urlencode(params, quote_via=quote)}"


SHARE = "https://www.linkedin.com/sharing/share-offsite/"


def share_url(credential_url: str) -> str:
    """The link that opens LinkedIn's share dialog on a credential's public page.

    A firm's tier badge belongs on no person's profile: the firm shares it as a post (on its
    company page or a member's feed), and LinkedIn shows the page's preview.
    """
    return f"{SHARE}?{urlencode([('url', credential_url)], quote_via=quote)}"
