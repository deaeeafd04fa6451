"""``charter usage import``: all-or-nothing with every bad row named, re-runs safe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from charter.core.auth import Principal
from charter.core.models import Event
from charter.licensing.usage_models import UsageRecord, UsageRollup
from tests.licensing.factories import license, product, sign, template
from tests.partners.factories import partner

HEADER = "license,metric,quantity,occurred_at,record_id"


@pytest.fixture
def licensed(sessions, settings, frozen_clock, monkeypatch):
    """A license issued on 1 March 2026; the clock then stands on 10 March."""
    # The command finds licenses by key under the same deployment secret that issued them.
    monkeypatch.setenv("CHARTER_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("CHARTER_DATA_DIR", str(settings.data_dir))
    system = Principal.system("tests")
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        offer = template(db, system, product_id=product(db, system).id)
        agreement = sign(db, system, partner_id=firm.id, template_id=offer.id)
        issued, key = license(db, system, agreement_id=agreement.id)
    frozen_clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    return issued.id, key


def _count(db, *where) -> int:
    value = db.scalar(select(func.count()).select_from(UsageRecord).where(*where))
    db.rollback()
    return value


def _totals(db) -> list[int]:
    value = list(db.scalars(select(UsageRollup.total)))
    db.rollback()
    return value


def test_usage_is_imported_by_license_id_or_key_and_skipped_when_imported_again(
    cli, write_csv, db, licensed, frozen_clock
):
    license_id, key = licensed
    at = datetime(2026, 3, 2, tzinfo=UTC).isoformat()
    path = write_csv(
        "usage.csv",
        [HEADER, f"{license_id},api_calls,5,{at},r-1", f"{key.lower()},api_calls,7,{at},r-2"],
    )

    first = cli("usage", "import", str(path))
    again = cli("usage", "import", str(path))

    assert first.exit_code == 0, first.output
    assert "usage.csv: 2 rows, 2 usage records created, 0 skipped" in first.stdout
    assert again.exit_code == 0, again.output
    assert "2 rows, 0 usage records created, 2 skipped" in again.stdout
    assert "line 2: r-1: skipped, already imported" in again.stdout
    assert _count(db) == 2
    assert _totals(db) == [12]
    completed = db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "import.completed")
    )
    assert completed == 2


def test_one_bad_row_refuses_the_file_with_every_bad_row_named(
    cli, write_csv, db, licensed, frozen_clock
):
    license_id, _ = licensed
    at = datetime(2026, 3, 2, tzinfo=UTC).isoformat()
    path = write_csv(
        "usage.csv",
        [
            HEADER,
            f"{license_id},api_calls,5,{at},r-1",
            f"lic_nosuchlicense,api_calls,5,{at},r-2",
            f"{license_id},api_calls,0,{at},r-3",
            f"{license_id},api_calls,1,2026-01-01T00:00:00Z,r-4",
            f"{license_id},api_calls,1,{at},r-1",
        ],
    )

    result = cli("usage", "import", str(path))

    assert result.exit_code == 1
    assert "4 of 5 rows are invalid; nothing was imported" in result.stderr
    assert "line 3: license" in result.stderr
    assert "line 4: quantity" in result.stderr
    assert "line 5: occurred_at: is before the license started" in result.stderr
    assert "line 6: license and record_id" in result.stderr
    assert _count(db) == 0


def test_importing_usage_needs_an_operator(bare_cli, write_csv, licensed):
    license_id, _ = licensed
    path = write_csv("usage.csv", [HEADER, f"{license_id},api_calls,5,2026-03-02T00:00:00Z,r-1"])

    result = bare_cli("usage", "import", str(path))

    assert result.exit_code == 1
    assert "--as" in result.stderr
