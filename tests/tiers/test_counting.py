"""Which tiers in force count a certification: by its code or by its track."""

from __future__ import annotations

import pytest

from charter.core.auth import Principal, Role
from charter.core.errors import Forbidden
from charter.tiers.schemes import tiers_counting
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme


def test_tiers_count_a_certification_by_code_or_by_track(db, system):
    certification(db, system, code="ARCH-1")
    elite = {
        "key": "elite",
        "name": "Elite",
        "rank": 3,
        "requirements": {
            "required_certifications": ["ARCH-1"],
            "min_certified_by_certification": {"ARCH-1": 3},
        },
    }
    scheme(db, system, [registered(), gold(technical=2), elite])
    found = tiers_counting(db, system, code="ARCH-1", track="technical")
    assert [(tier.tier_key, tier.how) for tier in found] == [
        ("gold", "counts toward 2 certified in technical"),
        ("elite", "required; 3 certified people needed"),
    ]
    assert tiers_counting(db, system, code="SALES-1", track="sales") == []


def test_reading_tiers_needs_the_partners_permission(db, system):
    scheme(db, system, [registered()])
    narrowed = Principal.for_user(
        user_id="usr_1",
        role=Role.AUDITOR,
        partner_id=None,
        name="Someone",
        api_key_id="key_1",
        scopes=frozenset(),
    )
    with pytest.raises(Forbidden):
        tiers_counting(db, narrowed, code="ARCH-1", track="technical")
