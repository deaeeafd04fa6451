"""Mail to holders through a real SMTP server: "you earned a badge" on issue and on renewal
(sent by the worker, never by the award's own transaction, and one apiece for a bulk
issuance), and renewal reminders that say what renewing takes and where to go."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from charter.credentials import issuance
from charter.credentials import service as awards
from charter.credentials.imports import import_awards
from charter.credentials.schemas import AwardCreate
from charter.notify import unsubscribe
from charter.notify.enums import MessageStatus
from charter.notify.models import EmailMessage
from charter.programs import service as programs
from charter.programs.rules import Requirements
from charter.programs.schemas import CriteriaCreate
from charter.worker.runner import run_until_idle
from tests.credentials.factories import award
from tests.partners.factories import partner, person
from tests.programs.factories import certification, passing_evidence

DAY = timedelta(days=1)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _mail_count(sessions) -> int:
    with sessions() as db:
        return db.scalar(select(func.count()).select_from(EmailMessage))


def _issued(sessions, system, **cert):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        cert_ = certification(
            db, system, description="Designs and runs the vendor's platform at scale.", **cert
        )
        held = award(db, system, person_id=holder.id, certification_id=cert_.id)
        credential = issuance.current_credential_for_award(db, held.id)
        assert credential is not None
        return holder.emails[0], holder, cert_, held, credential.id


def test_an_issued_award_is_mailed_to_its_holder_by_the_worker(sessions, system, inbox):
    address, _, cert, held, credential_id = _issued(sessions, system)
    # The award's transaction queued nothing: the worker decides and sends the mail.
    assert _mail_count(sessions) == 0
    assert inbox.messages == []

    run_until_idle(sessions)

    [message] = inbox.to(address)
    assert message["Subject"] == f"You earned the {cert.code} certification"
    text = _text(message)
    assert f"http://testserver/credentials/{credential_id}" in text
    assert "http://testserver/me/badges" in text
    assert cert.name in text
    assert "Designs and runs the vendor's platform at scale." in text
    assert f"valid until {held.valid_until.date().isoformat()}" in text
    assert f'href="http://testserver/credentials/{credential_id}"' in _html(message)
    # New badge notices are optional: one click unsubscribes.
    assert message["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    run_until_idle(sessions)
    assert len(inbox.to(address)) == 1  # never twice


def test_a_renewal_mails_the_new_version_of_the_badge(sessions, system, inbox, frozen_clock):
    address, holder, cert, held, first_id = _issued(sessions, system)
    run_until_idle(sessions)
    inbox.clear()
    frozen_clock.advance(310 * DAY)  # inside the 60-day renewal window
    with sessions() as db, db.begin():
        passing_evidence(db, system, person_id=holder.id, certification_id=cert.id)
        renewed = awards.renew_award(db, system, award_id=held.id)
        new = issuance.current_credential_for_award(db, renewed.id)
        assert new is not None
        assert new.id != first_id
        new_id, valid_until = new.id, renewed.valid_until

    run_until_idle(sessions)

    [message] = [m for m in inbox.to(address) if "renewed" in str(m["Subject"])]
    assert message["Subject"] == f"Your {cert.code} certification is renewed"
    text = _text(message)
    assert f"http://testserver/credentials/{new_id}" in text
    assert first_id not in text
    assert valid_until.date().isoformat() in text


def test_holders_who_unsubscribed_get_no_new_badge_notice(sessions, system, inbox):
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        holder = person(db, system, partner_id=firm.id)
        unsubscribe.opt_out(
            db, address=holder.emails[0], category=unsubscribe.Category.AWARDS, source="page"
        )
        award(db, system, person_id=holder.id, certification_id=certification(db, system).id)
    run_until_idle(sessions)
    assert inbox.to(holder.emails[0]) == []
    with sessions() as db:
        [skipped] = db.scalars(select(EmailMessage).where(EmailMessage.kind == "award_earned"))
        assert skipped.status == MessageStatus.SKIPPED
        assert "new badge notices" in (skipped.last_error or "")


def test_a_bulk_issuance_queues_its_mails_for_the_worker(sessions, system, inbox):
    count = 30
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active")
        cert = certification(db, system)
        people = [person(db, system, partner_id=firm.id) for _ in range(count)]
        for someone in people:
            passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
        items = [AwardCreate(person_id=p.id, certification_id=cert.id) for p in people]
        issued = awards.issue_awards_batch(db, system, items=items)
        credentials = {
            a.person_id: issuance.current_credential_for_award(db, a.id).id for a in issued
        }
        addresses = {p.id: p.emails[0] for p in people}
    assert len(issued) == count
    # Issuing sent nothing and queued nothing: the worker does, one mail per award.
    assert _mail_count(sessions) == 0
    assert inbox.messages == []

    run_until_idle(sessions)

    assert len(inbox.messages) == count
    for person_id, address in addresses.items():
        [message] = inbox.to(address)
        assert f"/credentials/{credentials[person_id]}" in _text(message)


def test_a_reminder_says_what_renewing_takes_and_links_the_badge_and_the_badges_page(
    sessions, system, inbox, frozen_clock
):
    address, _, cert, _, credential_id = _issued(
        sessions, system, narrative="Pass the platform exam and the hands-on lab."
    )
    with sessions() as db, db.begin():
        programs.publish_criteria(
            db,
            system,
            certification_id=cert.id,
            data=CriteriaCreate(
                narrative="Pass the platform exam and the new security exam.",
                requirements=Requirements.model_validate(
                    {
                        "assessments": [
                            {"code": f"EXAM-{cert.code}", "min_score": 70},
                            {"code": "SEC-300", "min_score": 80},
                        ]
                    }
                ),
            ),
        )
    run_until_idle(sessions)
    inbox.clear()
    frozen_clock.advance(306 * DAY)  # 59 days before expiry: the 60-day reminder is due

    run_until_idle(sessions)

    [message] = [m for m in inbox.to(address) if "expires in" in str(m["Subject"])]
    text = _text(message)
    assert "Pass the platform exam and the new security exam." in text
    assert re.search(r"^- .*SEC-300", text, flags=re.MULTILINE), text
    assert f"http://testserver/credentials/{credential_id}" in text
    assert "http://testserver/me/badges" in text
    html = _html(message)
    assert 'href="http://testserver/me/badges"' in html
    assert "SEC-300" in html


def test_the_awards_csv_import_queues_its_mails_for_the_worker(sessions, system, inbox):
    count = 12
    with sessions() as db, db.begin():
        firm = partner(db, system, status="active", external_id="P-MAIL")
        cert = certification(db, system)
        people = [
            person(db, system, partner_id=firm.id, external_id=f"MAIL-{n}") for n in range(count)
        ]
        for someone in people:
            passing_evidence(db, system, person_id=someone.id, certification_id=cert.id)
        lines = ["external_id,person_external_id,certification_code"] + [
            f"AW-MAIL-{n},MAIL-{n},{cert.code}" for n in range(count)
        ]
        report = import_awards(db, system, source="\n".join(lines).encode(), name="awards.csv")
        addresses = [p.emails[0] for p in people]
    assert report.created == count
    assert _mail_count(sessions) == 0

    run_until_idle(sessions)

    for address in addresses:
        [message] = inbox.to(address)
        assert message["Subject"] == f"You earned the {cert.code} certification"
        assert re.search(r"http://testserver/credentials/bdg_\w+", _text(message))
