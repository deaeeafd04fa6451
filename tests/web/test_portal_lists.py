"""The partners and people lists: search, filters as URLs, pages, firm and person pages, CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import event

from charter.core.auth import Principal, Role
from charter.partners.enums import PartnerStatus
from charter.web.portal.csvexport import neutralised
from tests.codes import PartnerType, Region
from tests.partners.factories import partner, person
from tests.web.helpers import sign_in, web_user
from tests.web.portal_world import build_world

SYSTEM = Principal.system("portal tests")


def _listed(html: str, attribute: str) -> list[str]:
    return re.findall(rf'data-{attribute}="([^"]+)"', html)


@pytest.fixture
def world(sessions):
    return build_world(sessions)


@pytest.fixture
def manager(client, sessions):
    user = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, user.email, user.password)
    return user


@pytest.mark.parametrize(
    ("query", "harbor", "quill"),
    [
        ("", True, True),
        ("q=harbor", True, False),
        ("q=QUILL", False, True),
        ("status=active", True, False),
        ("status=onboarding", False, True),
        ("type=msp", False, True),
        ("region=emea", True, False),
        ("tier=gold", True, False),
        ("tier=registered", False, False),
        ("status=active&region=apac", False, False),
    ],
)
def test_the_partners_list_filters(client, world, manager, query, harbor, quill):
    response = client.get(f"/partners?{query}")
    assert response.status_code == 200
    listed = _listed(response.text, "partner")
    assert (world.harbor_id in listed) is harbor
    assert (world.quill_id in listed) is quill


def test_the_filters_come_back_filled_in_and_the_tier_is_shown(client, world, manager):
    page = client.get("/partners?q=harbor&status=active&tier=gold").text
    assert 'value="harbor"' in page
    assert '<option value="active" selected>' in page
    assert '<option value="gold" selected>Gold</option>' in page
    row = page.split(f'data-partner="{world.harbor_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Gold" in row


def test_a_bad_filter_is_a_422_page_not_a_crash(client, world, manager):
    browser = {"Accept": "text/html"}
    response = client.get("/partners?status=bogus", headers=browser)
    assert response.status_code == 422
    assert "must be one of" in response.text
    assert client.get("/partners?cursor=bm90LWEtY3Vyc29y", headers=browser).status_code == 422
    assert client.get("/people?track=chef", headers=browser).status_code == 422


def test_the_partners_list_pages_by_cursor_keeping_the_filters(client, sessions, manager):
    with sessions() as db, db.begin():
        ids = [
            partner(db, SYSTEM, name=f"Paging Firm {n:02}", type=PartnerType.DISTRIBUTOR).id
            for n in range(55)
        ]
        partner(db, SYSTEM, name="Paging Firm but a reseller", type=PartnerType.RESELLER)
    seen: list[str] = []
    url = "/partners?q=paging&type=distributor"
    while url:
        page = client.get(url).text
        seen += _listed(page, "partner")
        match = re.search(r'<a href="([^"]+)" rel="next"', page)
        url = match.group(1).replace("&amp;", "&") if match else ""
        if url:
            assert "q=paging" in url
            assert "type=distributor" in url
    assert seen == ids


def test_the_firm_page_shows_people_certifications_tier_forecast_onboarding_history(
    client, world, manager
):
    page = client.get(f"/partners/{world.harbor_id}").text
    people = page.split('id="people"', 1)[1].split("</section>", 1)[0]
    assert all(name in people for name in world.engineer_names)
    assert world.quill_person_name not in page
    held = page.split('id="certifications"', 1)[1].split("</section>", 1)[0]
    assert 'data-track="technical"' in held
    assert f"{world.certification_name} " in held
    assert ": 2</li>" in held
    assert '<strong id="current-tier">Gold</strong>' in page
    forecast = page.split('id="forecast"', 1)[1].split("</div>", 1)[0]
    assert "Falls below Gold on" in forecast
    assert all(f'href="/people/{person_id}"' in forecast for person_id in world.engineer_ids)
    onboarding = page.split('id="onboarding"', 1)[1].split("</section>", 1)[0]
    assert onboarding.count('data-done="yes"') == 4
    history = page.split('id="history"', 1)[1].split("</section>", 1)[0]
    assert "partner.created" in history
    assert "tier.upgraded" in history
    assert "person.created" not in history  # events of other subjects are not the firm's


def test_the_firm_page_says_what_the_next_tier_lacks(client, world, manager):
    page = client.get(f"/partners/{world.quill_id}").text
    assert "Next tier:" in page
    missing = page.split('id="next-tier-missing"', 1)[1].split("</ul>", 1)[0]
    assert "<li>" in missing


def test_the_people_list_searches_and_filters_by_firm(client, world, manager):
    everyone = _listed(client.get("/people").text, "person")
    assert set(world.engineer_ids) | {world.quill_person_id} <= set(everyone)
    by_firm = _listed(client.get(f"/people?partner_id={world.harbor_id}").text, "person")
    assert sorted(by_firm) == sorted(world.engineer_ids)
    by_name = _listed(client.get("/people?q=quentin").text, "person")
    assert by_name == [world.quill_person_id]


def test_the_person_page_shows_awards_linked_to_public_pages_and_assessments(
    client, world, manager
):
    page = client.get(f"/people/{world.quill_person_id}").text
    assert world.quill_person_name in page
    awards = page.split('id="awards"', 1)[1].split("</section>", 1)[0]
    assert f'data-award="{world.quill_award_id}"' in awards
    link = re.search(r'href="(/credentials/[^"]+)"', awards)
    assert link
    public = client.get(link.group(1), headers={"Accept": "text/html"})
    assert public.status_code == 200
    assert world.certification_name in public.text
    assessments = page.split('id="assessments"', 1)[1].split("</section>", 1)[0]
    assert "EXAM-QUILL-ONLY" in assessments


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_partners_export_as_csv_with_the_same_filters(client, world, manager):
    response = client.get("/partners?format=csv&tier=gold")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv(response.text)
    assert [row["id"] for row in rows] == [world.harbor_id]
    assert rows[0]["tiers"] == "Gold"
    assert rows[0]["name"] == world.harbor_name


def test_the_people_list_names_their_firms_in_one_query(client, sessions, engine, manager):
    with sessions() as db, db.begin():
        firms = [partner(db, SYSTEM, name=f"Firm {n:02}") for n in range(12)]
        for firm in firms:
            person(db, SYSTEM, partner_id=firm.id)
    statements: list[str] = []

    def seen(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        page = client.get("/people").text
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert all(f">{firm.name}</a>" in page for firm in firms)
    # The firms offered by the filter, and the names of the page's firms: not one per person.
    assert len([s for s in statements if re.search(r"\bFROM partners\b", s)]) <= 2


def test_exports_stream_every_page(client, sessions, manager):
    with sessions() as db, db.begin():
        firm = partner(db, SYSTEM, name="Big Firm", status=PartnerStatus.ACTIVE)
        ids = [person(db, SYSTEM, partner_id=firm.id).id for _ in range(510)]
    rows = _csv(client.get(f"/people?format=csv&partner_id={firm.id}").text)
    assert [row["id"] for row in rows] == ids
    assert {row["partner"] for row in rows} == {"Big Firm"}


def test_exports_neutralise_spreadsheet_formulas(client, sessions, manager):
    with sessions() as db, db.begin():
        firm = partner(
            db, SYSTEM, name='=HYPERLINK("http://evil.example","x")', regions=[Region.NA]
        )
        person(db, SYSTEM, partner_id=firm.id, given_name="+1+1", family_name="@SUM(A1)")
        person(db, SYSTEM, partner_id=firm.id, given_name="-2", family_name="Plain")
    partners = _csv(client.get("/partners?format=csv&q=hyperlink").text)
    assert partners[0]["name"] == '\'=HYPERLINK("http://evil.example","x")'
    people = _csv(client.get(f"/people?format=csv&partner_id={firm.id}").text)
    names = sorted((row["given_name"], row["family_name"]) for row in people)
    assert names == [("'+1+1", "'@SUM(A1)"), ("'-2", "Plain")]
    assert people[0]["partner"].startswith("'=")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("a=1", "a=1"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_neutralised_cells(value, expected):
    assert neutralised(value) == expected


def test_partner_users_export_only_their_own_people(client, sessions, world):
    member = web_user(sessions, Role.PARTNER_MEMBER, partner_id=world.harbor_id)
    sign_in(client, member.email, member.password)
    rows = _csv(client.get("/people?format=csv").text)
    assert sorted(row["id"] for row in rows) == sorted(world.engineer_ids)
    other = _csv(client.get(f"/people?format=csv&partner_id={world.quill_id}").text)
    assert other == []
    assert client.get("/partners?format=csv").status_code == 404
