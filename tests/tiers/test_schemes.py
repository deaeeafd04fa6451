"""Publishing tier schemes: what is checked, and which version is in force when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from charter.core import clock
from charter.core.errors import Invalid
from charter.tiers import schemes
from charter.tiers.schemas import SchemeCreate
from tests.tiers.factories import gold, registered, scheme


def test_scheme_validation_names_the_field(db, system, frozen_clock):
    bad = gold()
    bad["requirements"]["required_certifications"] = ["NO-SUCH-CERT"]
    with pytest.raises(Invalid) as caught:
        schemes.publish_scheme(
            db, system, data=SchemeCreate.model_validate({"tiers": [registered(), bad]})
        )
    assert caught.value.errors[0].field == "tiers.1.requirements.required_certifications.0"
    scheme(db, system)
    with pytest.raises(Invalid) as caught:
        scheme(db, system, effective_from=clock.now() - timedelta(days=1))
    assert caught.value.errors[0].field == "effective_from"
