"""The events log page: filters, newest first in pages, links to subjects' pages, and for
vendor staff the chain's last verification and a bounded walk that finds an altered entry."""

from __future__ import annotations

import re

from sqlalchemy import update

from charter.core.auth import Role
from charter.core.models import Event
from charter.crypto import checkpoints
from tests.web.helpers import sign_in, web_user
from tests.web.licensing_world import licensed_firm
from tests.web.portal_world import SYSTEM, build_world

ROW = re.compile(r'<tr data-event="([^"]+)">\s*<td class="num">(\d+)</td>')


def _seqs(html: str) -> list[int]:
    return [int(seq) for _id, seq in ROW.findall(html)]


def test_staff_filter_the_log_and_follow_links_to_subjects(client, sessions):
    world = build_world(sessions)
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    page = client.get("/events")
    assert page.status_code == 200
    seqs = _seqs(page.text)
    assert seqs == sorted(seqs, reverse=True)

    firm = client.get(f"/events?partner_id={world.quill_id}&type=partner.created").text
    assert len(_seqs(firm)) == 1
    assert f'href="/partners/{world.quill_id}"' in firm
    person = client.get(f"/events?subject_id={world.engineer_ids[0]}").text
    assert f'href="/people/{world.engineer_ids[0]}"' in person
    award = client.get(f"/events?subject_id={world.award_ids[0]}&type=award.issued").text
    assert 'href="/credentials/' in award

    licensed = licensed_firm(sessions, partner_id=world.harbor_id)
    issued = client.get(f"/events?subject_id={licensed.license_id}").text
    assert f'href="/licenses/{licensed.license_id}"' in issued

    dated = client.get("/events?occurred_from=2000-01-01&occurred_to=2000-12-31").text
    assert 'id="no-results"' in dated
    bad = client.get("/events?occurred_from=yesterday")
    assert bad.status_code == 422
    assert "occurred_from" in bad.text
    assert client.get("/events?before=zero").status_code == 422


def test_pages_follow_each_other_without_gaps(client, sessions):
    build_world(sessions)
    admin = web_user(sessions, Role.ADMIN)
    sign_in(client, admin.email, admin.password)
    for _ in range(30):
        web_user(sessions, Role.AUDITOR)  # more entries than one page holds
    first = client.get("/events").text
    seen = _seqs(first)
    assert len(seen) == 50
    url = re.search(r'href="([^"]+)" rel="next"', first)
    while url:
        page = client.get(url.group(1).replace("&amp;", "&")).text
        seen += _seqs(page)
        url = re.search(r'href="([^"]+)" rel="next"', page)
    assert len(seen) > 50
    assert seen == list(range(max(seen), 0, -1))


def test_verify_now_reports_the_chain_and_finds_an_altered_entry(client, sessions):
    build_world(sessions)
    auditor = web_user(sessions, Role.AUDITOR)
    sign_in(client, auditor.email, auditor.password)
    assert "has not been verified" in client.get("/events").text
    with sessions() as db, db.begin():
        signed = checkpoints.create_checkpoint(db, SYSTEM)
        seq = signed.seq
    web_user(sessions, Role.AUDITOR)  # an entry after the checkpoint
    page = client.get("/events")
    assert f"Last verified to entry #{seq}" in page.text
    ok = client.get("/events?verify=now").text
    assert 'data-ok="yes"' in ok

    with sessions() as db, db.begin():
        db.execute(update(Event).where(Event.seq == seq + 1).values(type="user.tampered"))
    broken = client.get("/events?verify=now").text
    assert 'data-ok="no"' in broken
    assert f"entry #{seq + 1}" in broken


def test_partner_users_see_no_events_page(client, sessions):
    world = build_world(sessions)
    member = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    assert client.get("/events").status_code == 403
    assert client.get("/events?verify=now").status_code == 403
