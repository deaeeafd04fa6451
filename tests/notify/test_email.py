"""Email through a real SMTP server: reminders on the right days and never twice, notices for
expiry, revocation, tiers, criteria changes and termination, and unsubscribing."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from charter.accounts import service as accounts
from charter.core import events
from charter.core.auth import Role
from charter.credentials import service as awards
from charter.notify.enums import MessageStatus
from charter.notify.handlers import due_offset
from charter.notify.models import EmailMessage
from charter.partners import service as partners
from charter.partners.enums import PartnerStatus
from charter.programs import service as programs
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from charter.tiers import flows
from charter.worker.runner import run_until_idle
from tests.conftest import free_port
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification

DAY = timedelta(days=1)


def _holder(sessions, system, **cert):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        cert_ = certification(db, system, **cert)
        held = award(db, system, person_id=holder.id, certification_id=cert_.id)
        return firm, holder, cert_, held


def _admin(sessions, system, firm_id, n=1):
    with sessions() as db, db.begin():
        user = accounts.create_user(
            db,
            system,
            email=f"admin.{n}.{firm_id.lower()}@firm.example",
            display_name=f"Admin {n}",
            role=Role.PARTNER_ADMIN,
            password=None,
            partner_id=firm_id,
        )
        return user.email


def _messages(sessions, **where):
    with sessions() as db:
        query = select(EmailMessage).order_by(EmailMessage.created_at, EmailMessage.id)
        for name, value in where.items():
            query = query.where(getattr(EmailMessage, name) == value)
        return db.scalars(query).all()


def test_reminders_arrive_on_the_right_days_and_never_twice(sessions, system, inbox, frozen_clock):
    _, holder, cert, held = _holder(sessions, system)
    address = holder.emails[0]
    issued = frozen_clock.now()
    received_on: dict[int, list[str]] = {}
    frozen_clock.advance(timedelta(days=290))
    for day in range(290, 370):
        before = len(inbox.to(address))
        run_until_idle(sessions)
        run_until_idle(sessions)  # a second run the same day sends nothing new
        new = inbox.subjects(address)[before:]
        if new:
            received_on[day] = new
        frozen_clock.advance(DAY)

    assert held.valid_until == issued + timedelta(days=365)
    assert received_on == {
        305: [f"Your {cert.code} certification expires in 60 days"],
        335: [f"Your {cert.code} certification expires in 30 days"],
        358: [f"Your {cert.code} certification expires in 7 days"],
        365: [f"Your {cert.code} certification has expired"],
    }
    message = inbox.to(address)[0]
    assert message["From"] == "Charter Partner Program <program@vendor.example>"
    assert message["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    stored = _messages(sessions, kind="renewal_reminder")
    assert [m.message_id for m in stored] == [str(m["Message-ID"]) for m in inbox.to(address)[:3]]
    body = message.get_body(("plain",)).get_content()
    assert cert.name in body
    assert "in 60 days" in body
    assert "<p>" in message.get_body(("html",)).get_content()
    # The expiry notice is not optional mail: no unsubscribe header.
    assert inbox.to(address)[3]["List-Unsubscribe"] is None


def test_a_worker_that_missed_days_sends_only_the_latest_missed_reminder(
    sessions, system, inbox, frozen_clock
):
    _, holder, cert, _ = _holder(sessions, system)
    address = holder.emails[0]
    frozen_clock.advance(timedelta(days=200))
    run_until_idle(sessions)
    frozen_clock.advance(timedelta(days=140))  # day 340: the 60 and 30 day moments passed
    run_until_idle(sessions)
    assert inbox.subjects(address) == [f"Your {cert.code} certification expires in 25 days"]
    frozen_clock.advance(timedelta(days=20))  # day 360: 7 days moment passed
    run_until_idle(sessions)
    run_until_idle(sessions)
    assert inbox.subjects(address)[1:] == [f"Your {cert.code} certification expires in 5 days"]


def test_due_offset_rules():
    from datetime import UTC, datetime

    until = datetime(2026, 12, 31, tzinfo=UTC)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    offsets = [60, 30, 7]
    assert (
        due_offset(valid_until=until, live_since=since, now=until - 61 * DAY, offsets=offsets)
        is None
    )
    assert (
        due_offset(valid_until=until, live_since=since, now=until - 60 * DAY, offsets=offsets) == 60
    )
    assert (
        due_offset(valid_until=until, live_since=since, now=until - 8 * DAY, offsets=offsets) == 30
    )
    assert due_offset(valid_until=until, live_since=since, now=until - DAY, offsets=offsets) == 7
    assert due_offset(valid_until=until, live_since=since, now=until, offsets=offsets) is None
    # Issued with 20 days left: no reminder for the 60 and 30 day moments before it existed.
    late = until - 20 * DAY
    assert due_offset(valid_until=until, live_since=late, now=late, offsets=offsets) is None
    assert due_offset(valid_until=until, live_since=late, now=until - 7 * DAY, offsets=offsets) == 7


def test_unsubscribing_stops_reminders_but_not_a_revocation_notice(
    sessions, system, inbox, client, frozen_clock
):
    _, holder, cert, held = _holder(sessions, system)
    address = holder.emails[0]
    frozen_clock.advance(timedelta(days=305))
    run_until_idle(sessions)
    [reminder] = inbox.to(address)
    link = reminder["List-Unsubscribe"].strip("<>").removeprefix("http://testserver")

    page = client.get(link)
    assert page.status_code == 200
    assert "Unsubscribe?" in page.text
    assert address in page.text
    assert (
        _messages(sessions, status=MessageStatus.SKIPPED) == []
    )  # opening the page is not consent
    done = client.post(link, data={"confirm": "yes"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text

    frozen_clock.advance(timedelta(days=30))  # the 30-day reminder is due now
    run_until_idle(sessions)
    skipped = _messages(sessions, status=MessageStatus.SKIPPED)
    assert [m.kind for m in skipped] == ["renewal_reminder"]
    assert "unsubscribed" in (skipped[0].last_error or "")

    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="exam fraud")
    run_until_idle(sessions)
    assert inbox.subjects(address) == [
        f"Your {cert.code} certification expires in 60 days",
        f"Your {cert.code} certification has been revoked",
    ]
    assert "exam fraud" in inbox.to(address)[1].get_body(("plain",)).get_content()


def test_one_click_unsubscribe(sessions, system, inbox, client, frozen_clock):
    _holder(sessions, system)
    frozen_clock.advance(timedelta(days=305))
    run_until_idle(sessions)
    link = inbox.messages[0]["List-Unsubscribe"].strip("<>")
    response = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    frozen_clock.advance(timedelta(days=30))
    run_until_idle(sessions)
    assert len(inbox.messages) == 1

    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.post(forged, data={"List-Unsubscribe": "One-Click"}).status_code == 404


def test_tier_notices_go_to_each_firm_admin_separately(sessions, system, inbox, frozen_clock):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        other = partner(db, system, status="active")
    first = _admin(sessions, system, firm.id, 1)
    second = _admin(sessions, system, firm.id, 2)
    outsider = _admin(sessions, system, other.id, 3)
    with sessions() as db, db.begin():
        firm_row = partners.get_partner(db, system, partner_id=firm.id)
        events.append(
            db,
            system,
            "tier.at_risk",
            firm_row,
            partner_id=firm.id,
            tier="gold",
            tier_name="Gold",
            grace_until=frozen_clock.now() + timedelta(days=30),
            missing=["1 more technical certification", "customer satisfaction 4.1 < 4.3"],
        )
        events.append(
            db,
            system,
            "tier.downgraded",
            firm_row,
            partner_id=firm.id,
            from_tier="silver",
            from_tier_name="Silver",
            to_tier=None,
            to_tier_name=None,
        )
        events.append(
            db, system, "tier.upgraded", firm_row, partner_id=firm.id,
            from_tier=None, from_tier_name=None, to_tier="gold", to_tier_name="Gold",
        )  # fmt: skip
        events.append(
            db,
            system,
            "tier.recovered",
            firm_row,
            partner_id=firm.id,
            tier="gold",
            tier_name="Gold",
        )

    run_until_idle(sessions)

    assert inbox.to(outsider) == []
    for address in (first, second):
        assert inbox.subjects(address) == [
            f"{firm.name} is at risk of losing the Gold tier",
            f"{firm.name} has moved down to no tier",
            f"{firm.name} has reached Gold",
            f"{firm.name} meets the Gold tier again",
        ]
    for mail, rcpts in zip(inbox.messages, inbox.envelopes, strict=True):
        assert rcpts[1] == [mail["To"]]  # one recipient per message, never a shared To or Cc
        assert mail["Cc"] is None
    at_risk = inbox.to(first)[0].get_body(("plain",)).get_content()
    assert "customer satisfaction 4.1 < 4.3" in at_risk
    assert "2026-03-31" in at_risk
    assert second not in inbox.to(first)[0].as_string()


def test_criteria_change_notice_reaches_holders_and_their_firm_admins(
    sessions, system, inbox, frozen_clock
):
    firm, holder, cert, _ = _holder(sessions, system)
    admin = _admin(sessions, system, firm.id)
    with sessions() as db, db.begin():
        colleague = person(db, system, partner_id=firm.id)
        award(db, system, person_id=colleague.id, certification_id=cert.id)
        bystander = person(db, system, partner_id=firm.id)
    run_until_idle(sessions)
    inbox.clear()  # the "you earned" mails of the awards above
    with sessions() as db, db.begin():
        programs.publish_criteria(
            db,
            system,
            certification_id=cert.id,
            data=CriteriaCreate(
                narrative="Pass the new exam.",
                requirements=Requirements(),
                effective_from=frozen_clock.now() + timedelta(days=30),
            ),
        )
    run_until_idle(sessions)

    subject = f"The criteria of {cert.code} are changing"
    assert inbox.subjects(holder.emails[0]) == [subject]
    assert inbox.subjects(colleague.emails[0]) == [subject]
    assert inbox.subjects(bystander.emails[0]) == []
    [firm_mail] = inbox.to(admin)
    body = firm_mail.get_body(("plain",)).get_content()
    assert holder.display_name in body
    assert colleague.display_name in body
    assert "2026-03-31" in body
    assert "Version 2" in body


def test_termination_notice_is_sent_to_the_firm_admins(sessions, system, inbox, frozen_clock):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
    admin = _admin(sessions, system, firm.id)
    with sessions() as db, db.begin():
        flows.change_partner_status(
            db, system, partner_id=firm.id, status=PartnerStatus.TERMINATED, reason="breach"
        )
    run_until_idle(sessions)
    assert inbox.subjects(admin) == [f"{firm.name}'s partnership has been terminated"]
    assert inbox.to(admin)[0]["List-Unsubscribe"] is None


def test_mail_waits_for_the_smtp_server_and_is_sent_once(sessions, system, inbox, frozen_clock):
    _, _, cert, held = _holder(sessions, system)
    run_until_idle(sessions)  # the "you earned" mail goes out first
    inbox.clear()
    inbox.stop()
    with sessions() as db, db.begin():
        awards.suspend_award(db, system, award_id=held.id, reason="audit")
    run_until_idle(sessions)
    [queued] = _messages(sessions, kind="award_suspended")
    assert queued.status == MessageStatus.PENDING
    assert queued.attempts == 1
    assert "Connection" in (queued.last_error or "") or "refused" in (queued.last_error or "")

    inbox.start()
    run_until_idle(sessions)
    assert inbox.messages == []  # backing off
    frozen_clock.advance(timedelta(minutes=5))
    run_until_idle(sessions)
    frozen_clock.advance(timedelta(hours=3))
    run_until_idle(sessions)
    assert inbox.subjects() == [f"Your {cert.code} certification has been suspended"]
    [sent] = _messages(sessions, kind="award_suspended")
    assert sent.status == MessageStatus.SENT
    assert sent.attempts == 2
    assert str(inbox.messages[0]["Message-ID"]) == sent.message_id


def test_without_smtp_mail_is_recorded_as_skipped(sessions, system, inbox, frozen_clock):
    sessions.kw["info"]["settings"] = sessions.kw["info"]["settings"].model_copy(
        update={"smtp_host": None}
    )
    _, _, _, held = _holder(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")
    run_until_idle(sessions)
    [skipped] = _messages(sessions, kind="award_revoked")
    assert skipped.status == MessageStatus.SKIPPED
    assert "CHARTER_SMTP_HOST" in (skipped.last_error or "")
    assert inbox.messages == []


def test_long_keys_fit_their_column():
    from charter.notify.service import stored_key

    long = "evt_X:criteria_changed_firm:" + "a" * 320 + "@example.com:prt_X"
    assert len(stored_key(long)) <= 300
    assert stored_key(long) != stored_key(long + "x")
    assert stored_key("short") == "short"


def test_smtp_login_and_the_password_is_never_logged(sessions, system, inbox, frozen_clock, caplog):
    import logging

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
    from pydantic import SecretStr

    from tests.conftest import free_port

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"correct-pw-123"
        return AuthResult(success=ok)

    port = free_port()
    guarded = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    guarded.start()
    try:
        base = sessions.kw["info"]["settings"]
        caplog.set_level(logging.DEBUG)
        for password in ("wrong-pw-456", "correct-pw-123"):
            sessions.kw["info"]["settings"] = base.model_copy(
                update={
                    "smtp_port": port,
                    "smtp_username": "mailer",
                    "smtp_password": SecretStr(password),
                    "smtp_timeout_seconds": 3.0,
                }
            )
            _, _, _, held = _holder(sessions, system)
            with sessions() as db, db.begin():
                awards.revoke_award(db, system, award_id=held.id, reason="fraud")
            run_until_idle(sessions)
    finally:
        guarded.stop()
    failed, sent = _messages(sessions, kind="award_revoked")
    assert failed.status == MessageStatus.PENDING  # a login failure is retried (fix the settings)
    assert failed.last_error  # refused (535), or the server hung up on the bad login
    assert sent.status == MessageStatus.SENT
    logged = caplog.text + (failed.last_error or "")
    assert "wrong-pw-456" not in logged
    assert "correct-pw-123" not in logged


def _charter_log(caplog) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("charter"))


def test_addresses_are_logged_masked_beside_the_message_id(
    sessions, system, inbox, frozen_clock, caplog
):
    caplog.set_level(logging.DEBUG, logger="charter")
    _, holder, _, held = _holder(sessions, system)
    address = holder.emails[0]
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")
    run_until_idle(sessions)

    [sent] = _messages(sessions, kind="award_revoked")
    assert sent.status == MessageStatus.SENT
    assert inbox.to(address)  # it did go to the full address
    logged = _charter_log(caplog)
    assert f"email {sent.id} (award_revoked) sent to {address[0]}***@" in logged
    assert address not in logged
    assert address.partition("@")[0] not in logged


def test_without_smtp_a_skipped_email_is_logged_without_its_address(
    sessions, system, inbox, frozen_clock, caplog
):
    sessions.kw["info"]["settings"] = sessions.kw["info"]["settings"].model_copy(
        update={"smtp_host": None}
    )
    caplog.set_level(logging.DEBUG, logger="charter")
    _, holder, _, held = _holder(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")
    run_until_idle(sessions)
    [skipped] = _messages(sessions, kind="award_revoked")
    logged = _charter_log(caplog)
    assert f"email {skipped.id} (award_revoked to " in logged
    assert holder.emails[0] not in logged


class _Busy:
    """An SMTP server that turns recipients away for now, quoting the address (as many do)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return f"450 4.2.1 <{address}>: mailbox busy, try again later"


def test_a_refusal_quoting_the_address_is_logged_without_it(
    sessions, system, inbox, frozen_clock, caplog
):
    port = free_port()
    busy = Controller(_Busy(), hostname="127.0.0.1", port=port)
    busy.start()
    try:
        sessions.kw["info"]["settings"] = sessions.kw["info"]["settings"].model_copy(
            update={"smtp_port": port}
        )
        caplog.set_level(logging.DEBUG, logger="charter")
        _, holder, _, held = _holder(sessions, system)
        with sessions() as db, db.begin():
            awards.suspend_award(db, system, award_id=held.id, reason="audit")
        run_until_idle(sessions)
    finally:
        busy.stop()
    [queued] = _messages(sessions, kind="award_suspended")
    assert queued.status == MessageStatus.PENDING
    assert smtplib.SMTPRecipientsRefused.__name__ in (queued.last_error or "")
    logged = _charter_log(caplog)
    assert "mailbox busy" in logged
    assert holder.emails[0] not in logged


@pytest.mark.parametrize("horizon_days", [None, 1000])
def test_notices_of_events_older_than_the_horizon_are_not_mailed(
    sessions, system, inbox, frozen_clock, caplog, horizon_days
):
    if horizon_days is not None:
        sessions.kw["info"]["settings"] = sessions.kw["info"]["settings"].model_copy(
            update={"notice_horizon_days": horizon_days}
        )
    # A history imported first: three revocations two years back, no worker running then.
    historic = []
    for _ in range(3):
        _, holder, _, held = _holder(sessions, system)
        with sessions() as db, db.begin():
            awards.revoke_award(db, system, award_id=held.id, reason="long ago")
        historic.append(holder.emails[0])
    frozen_clock.advance(timedelta(days=730))
    _, holder, cert, held = _holder(sessions, system)
    with sessions() as db, db.begin():
        awards.revoke_award(db, system, award_id=held.id, reason="fraud")
    caplog.set_level(logging.INFO, logger="charter")

    run_until_idle(sessions)  # the worker starts now

    # Revoked before the worker ran: no "you earned" mail, only the revocation notice.
    assert inbox.subjects(holder.emails[0]) == [f"Your {cert.code} certification has been revoked"]
    said = [line for line in _charter_log(caplog).splitlines() if "horizon" in line]
    if horizon_days is None:  # 14 days by default
        assert [inbox.to(address) for address in historic] == [[], [], []]
        assert len(_messages(sessions, kind="award_revoked")) == 1  # none even recorded
        [line] = said  # once for the batch, not once per event
        assert "notify.award_notices 3 " in line
    else:
        assert all(inbox.to(address) for address in historic)
        assert said == []
