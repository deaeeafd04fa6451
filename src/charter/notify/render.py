"""Email templates: one per kind, in text and HTML, rendered with Jinja2 and ready to translate.

Each kind ``K`` has ``K.txt`` (which sets ``subject`` and writes the plain-text body) and
``K.html`` (the HTML body, autoescaped). Strings are marked with Jinja's i18n extension
(``{% trans %}`` and ``_()``); translations come from gettext catalogs named ``charter`` under
``CHARTER_LOCALE_DIR`` when there are any, and the template's own words otherwise.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

TEMPLATE_KINDS = (
    "approval_escalated",
    "agreement_changed",
    "award_earned",
    "award_expired",
    "award_revoked",
    "award_suspended",
    "criteria_changed",
    "criteria_changed_firm",
    "holder_sign_in",
    "invitation_email",
    "invitation_person",
    "license_alert",
    "license_grace",
    "license_lapsed",
    "partner_terminated",
    "renewal_reminder",
    "tier_at_risk",
    "tier_downgraded",
    "tier_recovered",
    "tier_upgraded",
)
ONE_TIME_LINK_KINDS = frozenset({"holder_sign_in", "invitation_email", "invitation_person"})
"""Kinds whose body carries a link that signs someone in or accepts an invitation: their
bodies are not kept once the message is sent or refused (see :data:`SPENT_BODY`)."""
SPENT_BODY = "(This message carried a one-time link; its body is not kept once sent.)"
"""What the outbox keeps of such a message's body, in text and HTML, after its last attempt."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered email: its subject line and both bodies."""

    subject: str
    text: str
    html: str


@lru_cache(maxsize=16)
def environment(locale: str, locale_dir: str | None) -> Environment:
    """The templates of ``locale`` (emails and the unsubscribe page), translated; cached."""
    env = Environment(
        loader=PackageLoader("charter.notify", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    translations = gettext.translation(
        "charter", localedir=locale_dir, languages=[locale], fallback=True
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


def render(
    kind: str, context: dict[str, Any], *, locale: str = "en", locale_dir: Path | None = None
) -> Rendered:
    """Render the email ``kind`` for ``context`` in ``locale``."""
    if kind not in TEMPLATE_KINDS:
        raise ValueError(f"no email template {kind!r}")
    env = environment(locale, str(locale_dir) if locale_dir else None)
    text_template = env.get_template(f"{kind}.txt")
    module = text_template.make_module(context)
    subject = " ".join(str(getattr(module, "subject", "")).split())
    if not subject:
        raise ValueError(f"template {kind}.txt sets no subject")
    html = env.get_template(f"{kind}.html").render(context, subject=subject)
    return Rendered(subject=subject, text=str(module).strip() + "\n", html=html)
