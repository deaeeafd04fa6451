"""An agreement version as plain form fields, and back: the terms and requirements the API
takes (``VersionCreate``), written as text a program manager types.

Lists are separated by ``;``, pairs are ``key=value`` (``sales=2``), a usage cap is a line
``metric limit [month|year] [allow_and_flag|deny]`` and a usage fee's tiers are
``up_to=rate`` with ``*=rate`` for the last. A line that cannot be read is an error on its
field; everything else is the schema's and the service's to refuse, by the same names as the
API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from charter.licensing.enums import FeePeriod, Renewal
from charter.licensing.metering import Overage
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.web.i18n import N_
from charter.web.portal.forms import FormErrors, blank

RIGHTS = (
    "use",
    "reproduce",
    "distribute",
    "modify",
    "derivative_works",
    "sublicense",
    "white_label",
)
FEE_MODELS = ("flat", "per_seat", "usage")
CAP_PERIODS = ("month", "year")
CHECKED = "yes"

VERSION_FIELDS = (
    "effective_from",
    "summary",
    "features",
    *(f"right_{right}" for right in RIGHTS),
    "regions",
    "countries",
    "excluded_countries",
    "verticals",
    "term_months",
    "renewal",
    "fee_model",
    "fee_amount",
    "fee_currency",
    "fee_period",
    "fee_minimum_seats",
    "fee_unit",
    "fee_tiers",
    "royalty_percent",
    "audit_allowed",
    "audit_notice_days",
    "audit_max_per_year",
    "wind_down_days",
    "duties",
    "usage_caps",
    "req_program",
    "req_min_tier",
    "req_by_track",
    "req_by_certification",
    "req_certifications",
)

DEFAULTS = {
    "right_use": CHECKED,
    "term_months": "12",
    "renewal": Renewal.ON_REQUEST.value,
    "fee_model": "per_seat",
    "fee_currency": "EUR",
    "fee_period": FeePeriod.YEAR.value,
    "royalty_percent": "0",
    "audit_notice_days": "30",
    "audit_max_per_year": "1",
    "wind_down_days": "90",
    "req_program": "default",
}
"""A new template's first version, before anything is typed."""


def region_choices(db: Session) -> list[str]:
    """The codes of the program's regions a territory may name now."""
    return [choice.code for choice in taxonomy.read(db).choices(TaxonomyKind.REGION)]


def choices(db: Session) -> dict[str, Any]:
    """The options the version form offers."""
    return {
        "regions": region_choices(db),
        "renewals": [(item.value, item.value) for item in Renewal],
        "fee_models": [(model, model) for model in FEE_MODELS],
        "fee_periods": [(item.value, item.value) for item in FeePeriod],
        "rights": RIGHTS,
    }


def paths(prefix: str = "") -> dict[str, str]:
    """Schema path (under ``prefix``) → the form field it is typed in."""
    terms = f"{prefix}terms."
    needs = f"{prefix}requirements."
    found = {
        f"{prefix}effective_from": "effective_from",
        f"{prefix}summary": "summary",
        f"{terms}features": "features",
        f"{terms}rights": "right_use",
        f"{terms}territory": "regions",
        f"{terms}territory.regions": "regions",
        f"{terms}territory.countries": "countries",
        f"{terms}territory.excluded_countries": "excluded_countries",
        f"{terms}verticals": "verticals",
        f"{terms}term": "term_months",
        f"{terms}term.months": "term_months",
        f"{terms}term.renewal": "renewal",
        f"{terms}fee": "fee_model",
        f"{terms}royalty_percent": "royalty_percent",
        f"{terms}audit": "audit_allowed",
        f"{terms}audit.notice_days": "audit_notice_days",
        f"{terms}audit.max_per_year": "audit_max_per_year",
        f"{terms}termination": "wind_down_days",
        f"{terms}termination.wind_down_days": "wind_down_days",
        f"{terms}termination.duties": "duties",
        f"{terms}usage_caps": "usage_caps",
        f"{prefix}requirements": "req_program",
        f"{needs}program": "req_program",
        f"{needs}min_tier": "req_min_tier",
        f"{needs}min_certified_by_track": "req_by_track",
        f"{needs}min_certified_by_certification": "req_by_certification",
        f"{needs}required_certifications": "req_certifications",
    }
    for right in RIGHTS:
        found[f"{terms}rights.{right}"] = f"right_{right}"
    for model in FEE_MODELS:
        fee = f"{terms}fee.{model}."
        found[f"{terms}fee.{model}"] = "fee_model"
        found[f"{fee}amount"] = "fee_amount"
        found[f"{fee}amount_per_seat"] = "fee_amount"
        found[f"{fee}currency"] = "fee_currency"
        found[f"{fee}period"] = "fee_period"
        found[f"{fee}minimum_seats"] = "fee_minimum_seats"
        found[f"{fee}unit"] = "fee_unit"
        found[f"{fee}tiers"] = "fee_tiers"
    return found


def items(value: str | None) -> list[str]:
    """A ``;``-separated list, blanks dropped."""
    return [item.strip() for item in (value or "").split(";") if item.strip()]


def _pairs(value: str, field: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in items(value):
        key, sep, number = item.partition("=")
        if not sep or not key.strip():
            raise FormErrors({field: f"write each as name=number, not {item!r}"})
        found[key.strip()] = number.strip()
    return found


def _tiers(value: str) -> list[dict[str, str | None]]:
    tiers: list[dict[str, str | None]] = []
    for item in items(value):
        bound, sep, rate = item.partition("=")
        if not sep:
            raise FormErrors({"fee_tiers": f"write each tier as up_to=rate, not {item!r}"})
        up_to = bound.strip()
        tiers.append({"up_to": None if up_to in ("", "*") else up_to, "rate": rate.strip()})
    return tiers


def _caps(value: str) -> dict[str, dict[str, str]]:
    caps: dict[str, dict[str, str]] = {}
    for line in value.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or len(parts) > 4:
            wanted = "metric limit [month|year] [allow_and_flag|deny]"
            raise FormErrors({"usage_caps": f"write each cap as {wanted}, not {line.strip()!r}"})
        cap = {"limit": parts[1]}
        for word in parts[2:]:
            cap["period" if word in CAP_PERIODS else "overage"] = word
        caps[parts[0]] = cap
    return caps


def _fee(values: dict[str, str]) -> dict[str, Any]:
    model = values["fee_model"]
    fee: dict[str, Any] = {"model": model, "currency": values["fee_currency"].strip()}
    if model == "usage":
        fee["unit"] = values["fee_unit"].strip()
        fee["tiers"] = _tiers(values["fee_tiers"])
        return fee
    fee["amount" if model == "flat" else "amount_per_seat"] = blank(values["fee_amount"])
    fee["period"] = values["fee_period"]
    if model == "per_seat" and blank(values["fee_minimum_seats"]) is not None:
        fee["minimum_seats"] = values["fee_minimum_seats"].strip()
    return {name: value for name, value in fee.items() if value is not None}


def day_start(value: str | None, field: str) -> datetime | None:
    """A date field as the start of that day in UTC; blank means none."""
    text = blank(value)
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise FormErrors({field: N_("must be a date (YYYY-MM-DD)")}) from None
    return datetime.combine(day, time.min, tzinfo=UTC)


def day_end(value: str | None, field: str) -> datetime | None:
    """A date field as the last second of that day in UTC; blank means none."""
    start = day_start(value, field)
    return None if start is None else start.replace(hour=23, minute=59, second=59)


def version_input(values: dict[str, str]) -> dict[str, Any]:
    """The version the form describes, in the API's shape (``VersionCreate``)."""
    requirements: dict[str, Any] = {
        "program": blank(values["req_program"]) or "default",
        "min_certified_by_track": _pairs(values["req_by_track"], "req_by_track"),
        "min_certified_by_certification": _pairs(
            values["req_by_certification"], "req_by_certification"
        ),
        "required_certifications": items(values["req_certifications"]),
    }
    if blank(values["req_min_tier"]) is not None:
        requirements["min_tier"] = values["req_min_tier"].strip()
    return {
        "effective_from": day_start(values["effective_from"], "effective_from"),
        "summary": values["summary"],
        "terms": {
            "features": items(values["features"]),
            "rights": {right: values[f"right_{right}"] == CHECKED for right in RIGHTS},
            "territory": {
                "regions": items(values["regions"]),
                "countries": items(values["countries"]),
                "excluded_countries": items(values["excluded_countries"]),
            },
            "verticals": items(values["verticals"]),
            "term": {"months": blank(values["term_months"]), "renewal": values["renewal"]},
            "fee": _fee(values),
            "royalty_percent": blank(values["royalty_percent"]) or "0",
            "audit": {
                "allowed": values["audit_allowed"] == CHECKED,
                "notice_days": blank(values["audit_notice_days"]) or "0",
                "max_per_year": blank(values["audit_max_per_year"]) or "0",
            },
            "termination": {
                "wind_down_days": blank(values["wind_down_days"]) or "0",
                "duties": [line.strip() for line in values["duties"].splitlines() if line.strip()],
            },
            "usage_caps": _caps(values["usage_caps"]),
        },
        "requirements": requirements,
    }


def _joined(values: list[Any]) -> str:
    return "; ".join(str(value) for value in values)


def version_values(terms: dict[str, Any], requirements: dict[str, Any]) -> dict[str, str]:
    """A published version's terms and requirements as the form's fields, to start the next
    version from (its date left blank: from now)."""
    fee = terms.get("fee", {})
    territory = terms.get("territory", {})
    audit = terms.get("audit", {})
    termination = terms.get("termination", {})
    values = {
        "features": _joined(terms.get("features", [])),
        "regions": _joined(territory.get("regions", [])),
        "countries": _joined(territory.get("countries", [])),
        "excluded_countries": _joined(territory.get("excluded_countries", [])),
        "verticals": _joined(terms.get("verticals", [])),
        "term_months": str(terms.get("term", {}).get("months", "")),
        "renewal": str(terms.get("term", {}).get("renewal", "")),
        "fee_model": str(fee.get("model", "")),
        "fee_amount": str(fee.get("amount", fee.get("amount_per_seat", ""))),
        "fee_currency": str(fee.get("currency", "")),
        "fee_period": str(fee.get("period", "")),
        "fee_minimum_seats": str(fee.get("minimum_seats", "")),
        "fee_unit": str(fee.get("unit", "")),
        "fee_tiers": "; ".join(
            f"{'*' if tier.get('up_to') is None else tier['up_to']}={tier.get('rate')}"
            for tier in fee.get("tiers", [])
        ),
        "royalty_percent": str(terms.get("royalty_percent", "")),
        "audit_allowed": CHECKED if audit.get("allowed") else "",
        "audit_notice_days": str(audit.get("notice_days", "")),
        "audit_max_per_year": str(audit.get("max_per_year", "")),
        "wind_down_days": str(termination.get("wind_down_days", "")),
        "duties": "\n".join(termination.get("duties", [])),
        "usage_caps": "\n".join(
            f"{metric} {cap.get('limit')} {cap.get('period', 'month')} "
            f"{cap.get('overage', Overage.ALLOW_AND_FLAG.value)}"
            for metric, cap in terms.get("usage_caps", {}).items()
        ),
        "req_program": str(requirements.get("program", "default")),
        "req_min_tier": str(requirements.get("min_tier") or ""),
        "req_by_track": _joined(
            [f"{k}={v}" for k, v in requirements.get("min_certified_by_track", {}).items()]
        ),
        "req_by_certification": _joined(
            [f"{k}={v}" for k, v in requirements.get("min_certified_by_certification", {}).items()]
        ),
        "req_certifications": _joined(requirements.get("required_certifications", [])),
    }
    for right in RIGHTS:
        values[f"right_{right}"] = CHECKED if terms.get("rights", {}).get(right) else ""
    return values
