"""The taxonomy page: program managers add, change, reorder and retire entries; auditors see
the lists without forms; and every select of the portal offers what the program defines."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from charter.core.auth import Role
from charter.core.models import Event
from charter.partners.models import RegionCountry, TaxonomyEntry
from tests.web.helpers import csrf_from, sign_in, web_user

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _entry(sessions, kind: str, code: str) -> TaxonomyEntry | None:
    with sessions() as db:
        entry = db.get(TaxonomyEntry, (kind, code))
        if entry is not None:
            db.expunge(entry)
        return entry


def _signed_in(client, sessions, role: Role) -> str:
    user = web_user(sessions, role)
    sign_in(client, user.email, user.password)
    return csrf_from(client.get("/dashboard").text)


def test_a_program_manager_manages_the_lists_from_the_page(client, sessions):
    csrf = _signed_in(client, sessions, Role.PROGRAM_MANAGER)
    page = client.get("/taxonomy")
    assert page.status_code == 200
    assert 'href="/taxonomy"' in page.text  # in the navigation
    assert "North America" in page.text
    assert 'id="add-entry"' in page.text

    added = client.post(
        "/taxonomy",
        data={
            "csrf": csrf,
            "kind": "region",
            "code": "dach",
            "label": "DACH <b>",
            "description": "",
            "countries": "at ch li",
        },
        follow_redirects=False,
    )
    assert added.status_code == 422  # AT is EMEA's already
    assert "AT (emea)" in added.text
    assert _entry(sessions, "region", "dach") is None

    emea = sorted(
        country
        for country in _region_countries(sessions, "emea")
        if country not in ("AT", "CH", "LI")
    )
    shrunk = client.post(
        "/taxonomy/region/emea",
        data={"csrf": csrf, "label": "EMEA", "description": "", "countries": ",".join(emea)},
        follow_redirects=False,
    )
    assert shrunk.status_code == 303, shrunk.text
    added = client.post(
        "/taxonomy",
        data={
            "csrf": csrf,
            "kind": "region",
            "code": "dach",
            "label": "DACH <b>",
            "description": "German-speaking",
            "countries": "at ch li",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert _region_countries(sessions, "dach") == ["AT", "CH", "LI"]
    page = client.get("/taxonomy").text
    assert "DACH &lt;b&gt;" in page
    assert "DACH <b>" not in page

    moved = client.post(
        "/taxonomy/region/dach/move", data={"csrf": csrf, "direction": "up"}, follow_redirects=False
    )
    assert moved.status_code == 303
    order = re.findall(r'data-entry="region\.([a-z-]+)"', client.get("/taxonomy").text)
    assert order == ["na", "latam", "emea", "dach", "apac"]

    retired = client.post(
        "/taxonomy/region/dach/retire", data={"csrf": csrf}, follow_redirects=False
    )
    assert retired.status_code == 303
    entry = _entry(sessions, "region", "dach")
    assert entry is not None
    assert entry.retired
    # A retired region stays a filter over existing data.
    assert '<option value="dach">DACH &lt;b&gt;</option>' in client.get("/partners").text
    restored = client.post(
        "/taxonomy/region/dach/retire",
        data={"csrf": csrf, "restore": "yes"},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    entry = _entry(sessions, "region", "dach")
    assert entry is not None
    assert not entry.retired


def test_a_new_track_is_offered_by_the_portal_forms_and_filters(client, sessions):
    csrf = _signed_in(client, sessions, Role.ADMIN)
    added = client.post(
        "/taxonomy",
        data={"csrf": csrf, "kind": "track", "code": "pre-sales", "label": "Pre-sales"},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    assert '<option value="pre-sales">Pre-sales</option>' in client.get("/certifications/new").text
    assert '<option value="pre-sales">Pre-sales</option>' in client.get("/people").text
    assert client.get("/people?track=pre-sales").status_code == 200
    assert client.get("/people?track=juggling").status_code == 422


def test_auditors_read_the_lists_and_cannot_change_them(client, sessions):
    csrf = _signed_in(client, sessions, Role.AUDITOR)
    page = client.get("/taxonomy")
    assert page.status_code == 200
    assert "North America" in page.text
    assert 'method="post" action="/taxonomy' not in page.text
    with sessions() as db:
        before = db.scalar(select(func.count()).select_from(Event))
    refused = client.post(
        "/taxonomy",
        data={"csrf": csrf, "kind": "track", "code": "deals", "label": "Deals"},
        headers=BROWSER,
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert _entry(sessions, "track", "deals") is None
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == before


def _region_countries(sessions, region: str) -> list[str]:
    with sessions() as db:
        return list(
            db.scalars(
                select(RegionCountry.country)
                .where(RegionCountry.region == region)
                .order_by(RegionCountry.country)
            )
        )


def test_a_track_badge_colour_is_set_and_checked_on_the_page(client, sessions):
    csrf = _signed_in(client, sessions, Role.PROGRAM_MANAGER)
    page = client.get("/taxonomy").text
    assert 'data-colour="#b54708"' in page  # the sales track's, as badges were drawn
    new = {"csrf": csrf, "kind": "track", "code": "presales", "label": "Pre", "description": ""}
    new["countries"] = ""

    refused = client.post("/taxonomy", data={**new, "colour": "teal"}, follow_redirects=False)
    assert refused.status_code == 422
    assert 'data-field="colour"' in refused.text
    assert 'value="teal"' in refused.text  # what was typed comes back
    assert _entry(sessions, "track", "presales") is None
    region = {**new, "kind": "region", "code": "polar", "colour": "#123456"}
    assert 'data-field="colour"' in client.post("/taxonomy", data=region).text

    added = client.post("/taxonomy", data={**new, "colour": "#0E7090"}, follow_redirects=False)
    assert added.status_code == 303, added.text
    assert _entry(sessions, "track", "presales").colour == "#0e7090"
    assert 'data-colour="#0e7090"' in client.get("/taxonomy").text

    edit = {"csrf": csrf, "label": "Pre", "description": ""}
    bad = client.post("/taxonomy/track/presales", data={**edit, "colour": "#12"})
    assert bad.status_code == 422
    assert 'data-field="colour"' in bad.text
    assert _entry(sessions, "track", "presales").colour == "#0e7090"
    cleared = client.post(
        "/taxonomy/track/presales", data={**edit, "colour": ""}, follow_redirects=False
    )
    assert cleared.status_code == 303
    assert _entry(sessions, "track", "presales").colour is None
    shown = client.get("/taxonomy").text.split('data-entry="track.presales"')[1].split("</tr>")[0]
    assert "picked by its code" in shown
    # Other lists' entries keep no colour when edited.
    region_edit = client.post(
        "/taxonomy/region/na",
        data={**edit, "label": "North America", "colour": "#123456", "countries": "US, CA"},
        follow_redirects=False,
    )
    assert region_edit.status_code == 303
    assert _entry(sessions, "region", "na").colour is None
