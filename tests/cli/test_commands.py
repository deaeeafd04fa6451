"""``charter users``, ``charter api-keys`` and ``charter audit verify``."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from charter.accounts import service as accounts
from charter.accounts.models import User
from charter.core.errors import Unauthorized
from charter.core.models import Event
from charter.partners.models import Partner

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
        "--password-stdin",
        input="correct horse battery staple\n",
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
        "--password-stdin",
        input="correct horse battery staple\n",
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
        "--password-stdin",
        input="correct horse battery staple\n",
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
    """The operator and three partners: five events (user, three partners, import.completed)."""
    result = cli("import", "partners", str(write_csv("partners.csv", PARTNERS)))
    assert result.exit_code == 0, result.output
    return db


def test_an_intact_chain_verifies(cli, logged):
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "chain intact: 5 entries"


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


def _create_user(invoke, email, role, *, password="correct horse battery staple", extra=()):
    return invoke(
        *extra,
        "users",
        "create",
        "--email",
        email,
        "--name",
        email.split("@")[0].title(),
        "--role",
        role,
        "--password-stdin",
        input=f"{password}\n",
    )


def test_changes_are_recorded_as_made_by_the_operator(cli, operator, write_csv, db):
    assert cli("import", "partners", str(write_csv("partners.csv", PARTNERS))).exit_code == 0
    actors = set(db.execute(select(Event.actor_type, Event.actor_id).where(Event.seq > 1)))
    assert actors == {("user", operator.id)}


def test_as_names_the_operator_on_the_command_line(bare_cli, operator, write_csv, db):
    result = bare_cli(
        "--as", "Operator@Example.com", "import", "partners", str(write_csv("p.csv", PARTNERS))
    )
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Event.actor_id).order_by(Event.seq.desc()).limit(1)) == operator.id


def test_a_change_without_an_operator_is_refused_in_one_line(bare_cli, operator, write_csv, db):
    result = bare_cli("import", "partners", str(write_csv("partners.csv", PARTNERS)))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: say who makes this change: charter --as EMAIL")
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.scalar(select(Partner.id)) is None


def test_an_unknown_or_disabled_operator_is_refused(bare_cli, operator, write_csv, db):
    path = str(write_csv("partners.csv", PARTNERS))
    unknown = bare_cli("--as", "nobody@example.com", "import", "partners", path)
    assert unknown.exit_code == 1
    assert unknown.stderr == "error: no active user nobody@example.com to act as\n"
    db.execute(update(User).values(disabled_at=text("CURRENT_TIMESTAMP")))
    db.commit()
    disabled = bare_cli("--as", operator.email, "import", "partners", path)
    assert disabled.exit_code == 1
    assert "no active user" in disabled.stderr
    assert db.scalar(select(Partner.id)) is None


def test_the_operators_permissions_apply(cli, write_csv, db):
    assert _create_user(cli, "audit@example.com", "auditor").exit_code == 0
    path = str(write_csv("partners.csv", PARTNERS))
    refused = cli("--as", "audit@example.com", "import", "partners", path)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ")
    assert db.scalar(select(Partner.id)) is None


def test_commands_that_only_read_need_no_operator(bare_cli, operator):
    assert bare_cli("audit", "verify").exit_code == 0
    assert bare_cli("api-keys", "list").stdout.strip() == "no API keys"


def test_the_first_user_is_an_admin_created_without_an_operator(bare_cli, db):
    refused = _create_user(bare_cli, "pm@example.com", "program_manager")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: role: the first user must be an admin")
    first = _create_user(bare_cli, "root@example.com", "admin")
    assert first.exit_code == 0, first.output
    second = _create_user(bare_cli, "pm@example.com", "program_manager")
    assert second.exit_code == 1
    assert "say who makes this change" in second.stderr
    third = _create_user(
        bare_cli, "pm@example.com", "program_manager", extra=("--as", "root@example.com")
    )
    assert third.exit_code == 0, third.output
    root = db.scalar(select(User.id).where(User.email == "root@example.com"))
    created = db.scalars(select(Event).where(Event.type == "user.created").order_by(Event.seq))
    assert [(event.actor_type, event.actor_id) for event in created] == [
        ("system", None),
        ("user", root),
    ]


def test_a_password_on_the_command_line_is_refused(cli, db):
    result = cli(
        "users",
        "create",
        "--email",
        "pm@example.com",
        "--name",
        "Pat",
        "--role",
        "program_manager",
        "--password",
        "correct horse battery staple",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: password: --password is no longer accepted")
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.scalar(select(User.id).where(User.email == "pm@example.com")) is None


def test_the_password_is_asked_for_twice_or_read_from_stdin(cli, db):
    asked = cli(
        "users",
        "create",
        "--email",
        "pm@example.com",
        "--name",
        "Pat",
        "--role",
        "program_manager",
        input="a long enough password\na long enough password\n",
    )
    assert asked.exit_code == 0, asked.output
    assert "a long enough password" not in asked.output
    assert accounts.authenticate(db, email="pm@example.com", password="a long enough password")
    db.rollback()
    piped = _create_user(cli, "gov@example.com", "governance_owner", password="  spaces kept  ")
    assert piped.exit_code == 0, piped.output
    assert accounts.authenticate(db, email="gov@example.com", password="  spaces kept  ")
