"""``charter users``, ``charter api-keys`` and ``charter audit verify``."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from charter.accounts import service as accounts
from charter.core.errors import Unauthorized
from charter.core.models import Event

PARTNERS = [
    "external_id,name,type,regions,country,website",
    "P1,Northwind Consulting,implementation,emea,DE,",
    "P2,Contoso Resellers,reseller,apac,JP,",
    "P3,Fabrikam Services,msp,na,US,https://fabrikam.example.com",
]


def test_a_malformed_email_is_one_line_of_error_and_exit_1(cli):
    result = cli(
        "users",
        "create",
        "--email",
        "not an email",
        "--name",
        "Ada",
        "--role",
        "admin",
        "--password",
        "correct horse battery staple",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: email: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_unknown_role_is_a_usage_error(cli):
    result = cli("users", "create", "--email", "a@example.com", "--name", "A", "--role", "boss")
    assert result.exit_code == 2


def test_api_keys_can_be_created_listed_and_revoked(cli, db):
    created = cli(
        "users",
        "create",
        "--email",
        "Grace@Example.com",
        "--name",
        "Grace Hopper",
        "--role",
        "program_manager",
        "--password",
        "correct horse battery staple",
    )
    assert created.exit_code == 0, created.output
    assert "<grace@example.com> (program_manager)" in created.stdout

    made = cli(
        "api-keys",
        "create",
        "--user",
        "grace@example.com",
        "--name",
        "CRM sync",
        "--scope",
        "partners:read",
        "--scope",
        "awards:read",
        "--expires-in-days",
        "30",
    )
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("chk_key_")
    key_id = token.removeprefix("chk_").split(".")[0]
    assert "cannot be shown again" in made.stderr
    principal = accounts.principal_from_token(db, token)
    assert sorted(principal.scopes) == ["awards:read", "partners:read"]
    db.rollback()

    listed = cli("api-keys", "list", "--user", "grace@example.com")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if key_id in line)
    for shown in ("CRM sync", "active", "grace@example.com"):
        assert shown in row
    assert token.split(".")[1] not in listed.stdout  # never the secret

    revoked = cli("api-keys", "revoke", key_id)
    assert revoked.exit_code == 0, revoked.output
    rows = cli("api-keys", "list").stdout.splitlines()
    assert "revoked" in next(line for line in rows if key_id in line)
    with pytest.raises(Unauthorized):
        accounts.principal_from_token(db, token)
    db.rollback()
    again = cli("api-keys", "revoke", key_id)
    assert again.exit_code == 1
    assert again.stderr == "error: API key is already revoked\n"


def test_a_scope_the_role_does_not_have_is_refused(cli):
    cli(
        "users",
        "create",
        "--email",
        "audit@example.com",
        "--name",
        "Auditor",
        "--role",
        "auditor",
        "--password",
        "correct horse battery staple",
    )
    result = cli(
        "api-keys",
        "create",
        "--user",
        "audit@example.com",
        "--name",
        "x",
        "--scope",
        "awards:issue",
    )
    assert result.exit_code == 1
    assert "scopes.0" in result.stderr


@pytest.fixture
def logged(cli, write_csv, db):
    """Three partners imported: four events (three created, one import.completed)."""
    result = cli("import", "partners", str(write_csv("partners.csv", PARTNERS)))
    assert result.exit_code == 0, result.output
    return db


def test_an_intact_chain_verifies(cli, logged):
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "chain intact: 4 entries"


def test_an_altered_event_is_named(cli, logged):
    logged.execute(update(Event).where(Event.seq == 2).values(payload={"name": "Evil Corp"}))
    logged.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "entry #2" in result.stderr
    assert "altered" in result.stderr


def test_a_deleted_event_is_named(cli, logged):
    logged.execute(text("DELETE FROM events WHERE seq = 3"))
    logged.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "entry #3 is missing" in result.stderr


def test_reordered_events_are_named(cli, logged):
    for old, new in ((2, -2), (3, 2), (-2, 3)):
        logged.execute(
            text("UPDATE events SET seq = :new WHERE seq = :old"), {"new": new, "old": old}
        )
    logged.commit()
    ids = list(logged.scalars(select(Event.id).order_by(Event.seq)))
    logged.rollback()
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert "entry #2" in result.stderr
    assert ids[1] in result.stderr
