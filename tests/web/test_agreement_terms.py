"""An agreement version written as the portal's form fields reads back as the same version:
what a published version pre-fills is what publishing it again would state."""

from __future__ import annotations

import pytest

from charter.licensing.schemas import VersionCreate
from charter.web.portal import agreement_terms
from charter.web.portal.forms import FormErrors
from tests.licensing.factories import terms
from tests.web.licensing_world import CAPPED

REQUIREMENTS = {
    "program": "default",
    "min_tier": "gold",
    "min_certified_by_track": {"sales": 2, "technical": 1},
    "min_certified_by_certification": {"CLOUD-ARCH": 1},
    "required_certifications": ["SEC-101"],
}
FLAT = terms(
    fee={"model": "flat", "amount": "1000", "currency": "USD", "period": "once"},
    territory={"regions": ["na"], "countries": [], "excluded_countries": ["CU"]},
    usage_caps={"seats_used": {"limit": 50, "period": "year", "overage": "deny"}},
)
TIERED = terms(
    fee={
        "model": "usage",
        "unit": "api_calls",
        "currency": "EUR",
        "tiers": [{"up_to": 1000, "rate": "0.10"}, {"up_to": None, "rate": "0.05"}],
    }
)


@pytest.mark.parametrize("stated", [terms(), CAPPED, FLAT, TIERED])
def test_a_version_reads_back_from_its_form_fields(stated):
    published = VersionCreate.model_validate({"terms": stated, "requirements": REQUIREMENTS})
    values = dict.fromkeys(agreement_terms.VERSION_FIELDS, "")
    values.update(
        agreement_terms.version_values(
            published.terms.model_dump(mode="json"),
            published.requirements.model_dump(mode="json"),
        )
    )
    again = VersionCreate.model_validate(agreement_terms.version_input(values))
    assert again.terms == published.terms
    assert again.requirements == published.requirements
    assert again.effective_from is None


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        ("usage_caps", "api_calls"),
        ("usage_caps", "api_calls 10 month deny extra"),
        ("fee_tiers", "1000"),
        ("req_by_track", "sales"),
        ("effective_from", "1 April"),
    ],
)
def test_a_line_that_cannot_be_read_is_an_error_on_its_field(field, typed):
    values = dict.fromkeys(agreement_terms.VERSION_FIELDS, "")
    values.update(agreement_terms.DEFAULTS)
    values[field] = typed
    if field == "fee_tiers":
        values["fee_model"] = "usage"  # tiers are read for a usage fee only
    with pytest.raises(FormErrors) as refused:
        agreement_terms.version_input(values)
    assert list(refused.value.errors) == [field]
