"""The public directory, firm profiles, achievement and tier pages, and the sitemap."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from lxml import etree
from sqlalchemy import event, select

from charter.core import clock
from charter.core.auth import Principal
from charter.core.models import Event
from charter.credentials import holding
from charter.partners import listing, people, taxonomy
from charter.partners.enums import PartnerStatus, TaxonomyKind
from charter.partners.schemas import ListingUpdate, PersonUpdate
from charter.partners.taxonomy_defaults import REGION_COUNTRIES
from charter.partners.taxonomy_schemas import TaxonomyEntryCreate, TaxonomyEntryUpdate
from charter.tiers import directory, flows, handlers, service
from charter.tiers.models import FirmHeadcount, FirmTier
from tests.codes import PartnerType, Region, Track
from tests.credentials.factories import award, credential_of
from tests.partners.factories import partner, person
from tests.programs.factories import certification
from tests.tiers.factories import gold, registered, scheme

XSS_NAME = "<script>alert(1)</script>"
JSON_TYPES = ("application/ld+json", "application/json")


@dataclass(frozen=True)
class Program:
    """A small fixed program: two certifications, a scheme, and four firms."""

    alpha: str  # Gold, EMEA, Germany, implementation, two technical people, listed
    beta: str  # Registered, NA, US, reseller, one sales person, listed
    gamma: str  # Gold-worthy but not listed
    xss: str  # listed, named like a script, Registered
    tech_code: str
    sales_code: str
    credential_ids: tuple[str, ...]
    alpha_awards: tuple[tuple[str, str], ...]  # (person, award) of Alpha's two engineers
    firm_badge_ids: tuple[str, ...]


def _list(db, system, partner_id: str, **fields) -> None:
    listing.update_listing(
        db, system, partner_id=partner_id, data=ListingUpdate(listed=True, **fields)
    )


@pytest.fixture
def program(db, system, frozen_clock) -> Program:
    tech = certification(db, system, track=Track.TECHNICAL, name="Cloud Architect")
    sales = certification(db, system, track=Track.SALES, name="Sales Professional")
    scheme(db, system, [registered(), gold(grace_days=0)])
    alpha = partner(
        db,
        system,
        status="active",
        name="Alpha Cloud",
        regions=[Region.EMEA],
        country="DE",
        type=PartnerType.IMPLEMENTATION,
    )
    beta = partner(
        db,
        system,
        status="active",
        name="Beta Sales",
        regions=[Region.NA],
        country="US",
        type=PartnerType.RESELLER,
    )
    gamma = partner(db, system, status="active", name="Gamma Hidden", regions=[Region.EMEA])
    xss = partner(db, system, status="active", name=XSS_NAME, regions=[Region.APAC], country="JP")
    credentials = []
    alpha_awards = []
    for index in range(2):
        engineer = person(db, system, partner_id=alpha.id)
        if index == 0:
            people.update_person(
                db, system, person_id=engineer.id, data=PersonUpdate(show_name_publicly=True)
            )
        made = award(db, system, person_id=engineer.id, certification_id=tech.id)
        credentials.append(credential_of(db, made.id).id)
        alpha_awards.append((engineer.id, made.id))
    for _ in range(2):
        hidden = person(db, system, partner_id=gamma.id)
        award(db, system, person_id=hidden.id, certification_id=tech.id)
    seller = person(db, system, partner_id=beta.id, track=Track.SALES)
    made = award(db, system, person_id=seller.id, certification_id=sales.id)
    credentials.append(credential_of(db, made.id).id)
    badges = []
    for firm in (alpha, beta, gamma, xss):
        service.evaluate_firm(db, system, partner_id=firm.id)
        standing = db.get(FirmTier, (firm.id, "default"))
        assert standing is not None
        assert standing.badge_id is not None
        badges.append(standing.badge_id)
    _list(db, system, alpha.id, blurb="Cloud migrations across Europe.")
    _list(db, system, beta.id, blurb="Licences for North America.")
    _list(db, system, xss.id, blurb=XSS_NAME)
    found = Program(
        alpha.id,
        beta.id,
        gamma.id,
        xss.id,
        tech.code,
        sales.code,
        tuple(credentials),
        tuple(alpha_awards),
        tuple(badges),
    )
    db.commit()
    return found


def _names(page: str) -> list[str]:
    return [html.unescape(name) for name in re.findall(r'class="firm-link">([^<]*)</a>', page)]


def test_the_directory_lists_listed_active_firms_higher_tiers_first(client, program):
    response = client.get("/directory")
    assert response.status_code == 200
    names = _names(response.text)
    assert names[0] == "Alpha Cloud"  # Gold
    assert set(names) == {"Alpha Cloud", "Beta Sales", XSS_NAME}
    assert "Gamma Hidden" not in response.text  # not listed
    assert response.headers["etag"].startswith('"')
    assert response.headers["cache-control"] == "private, no-cache"
    again = client.get("/directory", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"region": "emea"}, {"Alpha Cloud"}),
        ({"region": "na"}, {"Beta Sales"}),
        ({"tier": "gold"}, {"Alpha Cloud"}),
        ({"tier": "registered"}, {"Beta Sales", XSS_NAME}),
        ({"type": "reseller"}, {"Beta Sales"}),
        ({"country": "de"}, {"Alpha Cloud"}),
        ({"track": "sales"}, {"Beta Sales"}),
        ({"q": "europe"}, {"Alpha Cloud"}),
        ({"q": "beta"}, {"Beta Sales"}),
        ({"region": "emea", "tier": "registered"}, set()),
        ({"q": "\x00"}, set()),
        ({"region": "mars"}, set()),
    ],
)
def test_directory_filters(client, program, query, expected):
    response = client.get("/directory", params=query)
    assert response.status_code == 200
    assert set(_names(response.text)) == expected


def test_the_directory_filters_by_a_region_the_program_defines(client, db, system, program):
    emea = [code for code in REGION_COUNTRIES["emea"] if code not in ("DE", "AT", "CH")]
    taxonomy.update_entry(
        db, system, kind=TaxonomyKind.REGION, code="emea", data=TaxonomyEntryUpdate(countries=emea)
    )
    taxonomy.add_entry(
        db,
        system,
        data=TaxonomyEntryCreate(
            kind=TaxonomyKind.REGION, code="dach", label="DACH", countries=["DE", "AT", "CH"]
        ),
    )
    nordic = partner(
        db, system, status="active", name="Nordic Partners", regions=["dach"], country="SE"
    )
    _list(db, system, nordic.id, blurb="Fjords and mountains.")
    db.commit()
    page = client.get("/directory").text
    assert '<option value="dach">DACH</option>' in page
    # Operating in the region, or based in one of its countries (Alpha Cloud is in Germany).
    dach = client.get("/directory", params={"region": "dach"})
    assert set(_names(dach.text)) == {"Alpha Cloud", "Nordic Partners"}
    assert "DACH" in client.get("/directory/nordic-partners").text


def test_a_firm_is_in_the_region_that_groups_its_country(client, db, system, program):
    # Beta Sales operates in NA only; once EMEA groups the US, where it is based, it is there too.
    taxonomy.update_entry(
        db, system, kind=TaxonomyKind.REGION, code="na", data=TaxonomyEntryUpdate(countries=[])
    )
    taxonomy.update_entry(
        db,
        system,
        kind=TaxonomyKind.REGION,
        code="emea",
        data=TaxonomyEntryUpdate(countries=["DE", "US"]),
    )
    db.commit()
    found = client.get("/directory", params={"region": "emea"})
    assert set(_names(found.text)) == {"Alpha Cloud", "Beta Sales"}


def test_filter_by_certification(client, program):
    tech = client.get("/directory", params={"certification": program.tech_code})
    assert set(_names(tech.text)) == {"Alpha Cloud"}
    sales = client.get("/directory", params={"certification": program.sales_code})
    assert set(_names(sales.text)) == {"Beta Sales"}


def test_a_suspended_firm_disappears_at_once(client, db, system, program):
    assert "Beta Sales" in _names(client.get("/directory").text)
    profile = client.get("/directory/beta-sales")
    assert profile.status_code == 200
    flows.change_partner_status(
        db, system, partner_id=program.beta, status=PartnerStatus.SUSPENDED, reason="audit"
    )
    db.commit()
    assert "Beta Sales" not in _names(client.get("/directory").text)
    assert client.get("/directory/beta-sales").status_code == 404
    sitemap = client.get("/sitemap.xml").text
    assert "/directory/beta-sales" not in sitemap


def test_a_firm_that_stops_listing_disappears(client, db, system, program):
    listing.update_listing(db, system, partner_id=program.alpha, data=ListingUpdate(listed=False))
    db.commit()
    assert "Alpha Cloud" not in _names(client.get("/directory").text)
    assert client.get("/directory/alpha-cloud").status_code == 404


def test_the_firm_profile(client, program):
    response = client.get("/directory/alpha-cloud")
    assert response.status_code == 200
    page = response.text
    assert 'id="firm-name">Alpha Cloud<' in page
    assert re.search(r'id="headcount" data-count="2"', page)
    assert "Cloud migrations across Europe." in page
    assert f'href="/credentials/{program.firm_badge_ids[0]}"' in page
    assert f'src="/credentials/{program.firm_badge_ids[0]}/badge.svg"' in page
    assert '<link rel="canonical" href="http://127.0.0.1:8000/directory/alpha-cloud">' in page
    # One of the two engineers chose to be named; the other is counted, not named.
    people = page[page.index('id="people"') :]
    assert people.count("<li>") == 1
    assert f'href="/credentials/{program.credential_ids[0]}"' in people
    script = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert script is not None
    organization = json.loads(script.group(1))
    assert organization["@type"] == "Organization"
    assert organization["name"] == "Alpha Cloud"
    assert organization["areaServed"] == ["EMEA"]


def test_a_script_as_a_name_is_text_everywhere(client, program):
    directory = client.get("/directory").text
    assert XSS_NAME not in directory
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in directory
    slug = listing.slug_of(XSS_NAME)
    profile = client.get(f"/directory/{slug}")
    assert profile.status_code == 200
    assert XSS_NAME not in profile.text  # the JSON-LD escapes < and > too
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in profile.text
    sitemap = client.get("/sitemap.xml")
    assert XSS_NAME not in sitemap.text
    etree.fromstring(sitemap.content)  # well-formed
    identity = client.get(f"/partners/{program.xss}")
    assert XSS_NAME not in identity.text


def test_the_sitemap_lists_directory_profiles_and_achievements(client, program):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [loc.text for loc in root.findall("s:url/s:loc", ns)]
    base = "http://127.0.0.1:8000"
    assert f"{base}/directory" in locations
    assert f"{base}/directory/alpha-cloud" in locations
    assert f"{base}/achievements/{program.tech_code}" in locations
    assert f"{base}/tiers/default/gold" in locations
    assert not any("gamma" in location for location in locations)


def test_the_achievement_page(client, program):
    response = client.get(f"/achievements/{program.tech_code}")
    assert response.status_code == 200
    assert 'id="holders" data-count="4"' in response.text  # Alpha's two, Gamma's two
    assert 'id="criteria-narrative"' in response.text
    assert "EXAM-" in response.text
    document = client.get(
        f"/achievements/{program.tech_code}", headers={"Accept": "application/ld+json"}
    )
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/ld+json"
    body = document.json()
    assert body["id"] == f"http://127.0.0.1:8000/achievements/{program.tech_code}"
    assert body["type"] == ["Achievement"]
    assert client.get("/achievements/NOPE").status_code == 404
    missing = client.get("/achievements/NOPE", headers={"Accept": "application/json"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["instance"] == "/achievements/NOPE"
    for path in ("/tiers/default/nope", "/tiers/nope/gold", "/partners/prt_nope", "/partners/x"):
        assert client.get(path).status_code == 404, path


def test_a_page_of_the_directory_costs_the_same_statements_for_more_firms(
    client, engine, db, system, program
):
    def statements() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/directory").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = statements()
    cert = certification(db, system, track=Track.TECHNICAL)
    for n in range(6):
        firm = partner(db, system, status="active", name=f"Extra Firm {n}")
        worker = person(db, system, partner_id=firm.id)
        award(db, system, person_id=worker.id, certification_id=cert.id)
        service.evaluate_firm(db, system, partner_id=firm.id)
        _list(db, system, firm.id)
    db.commit()
    assert statements() == few


def test_firms_are_ordered_by_the_stored_headcounts_and_show_live_counts(
    client, db, system, program
):
    """Within a tier, more certified people first, by the counts the worker keeps; the count
    a page shows is live. Beta (one sales person) and the script-named firm (none) share the
    Registered tier."""

    def registered_order() -> list[str]:
        return [name for name in _names(client.get("/directory").text) if name != "Alpha Cloud"]

    # Never counted: counted live, so Beta's one certified person puts it first.
    assert registered_order() == ["Beta Sales", XSS_NAME]
    directory.recount_headcounts(db, clock.now())
    db.commit()
    assert db.get(FirmHeadcount, program.beta).certified_people == 1
    assert db.get(FirmHeadcount, program.xss) is None  # nobody certified: no row
    assert registered_order() == ["Beta Sales", XSS_NAME]

    cert = certification(db, system, track=Track.TECHNICAL, name="Support Engineer")
    for _ in range(2):
        hire = person(db, system, partner_id=program.xss)
        award(db, system, person_id=hire.id, certification_id=cert.id)
    db.commit()
    page = client.get("/directory").text
    # Not recounted yet: the order is as last counted; the firm's own count is live.
    assert registered_order() == ["Beta Sales", XSS_NAME]
    shown = re.findall(r'class="firm-link">([^<]*)</a>.*?data-count="(\d+)"', page, re.S)
    assert {html.unescape(name): int(count) for name, count in shown}[XSS_NAME] == 2

    # The worker's handler recounts the firms an award's event concerns.
    event_row = db.scalars(
        select(Event).where(Event.type == "award.issued", Event.partner_id == program.xss)
    ).first()
    assert event_row is not None
    handlers.reevaluate(db, system, event_row)
    db.commit()
    assert db.get(FirmHeadcount, program.xss).certified_people == 2
    assert registered_order() == [XSS_NAME, "Beta Sales"]


def _paths_in(value: object, base: str) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for item in value.values():
            found |= _paths_in(item, base)
    elif isinstance(value, list):
        for item in value:
            found |= _paths_in(item, base)
    elif isinstance(value, str) and value.startswith(base):
        parts = urlsplit(value)
        found.add(parts.path)
    return found


def test_every_url_inside_every_credential_resolves(client, program):
    base = "http://127.0.0.1:8000"
    paths: set[str] = set()
    for credential_id in program.credential_ids + program.firm_badge_ids:
        document = client.get(f"/credentials/{credential_id}.json").json()
        paths |= _paths_in(document, base)
    assert any(path.startswith("/achievements/") for path in paths)
    assert any(path.startswith("/tiers/") for path in paths)
    assert any(path.startswith("/partners/") for path in paths)
    for path in sorted(paths):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, path
        if path.startswith(("/achievements/", "/tiers/", "/partners/")):
            for media_type in JSON_TYPES:
                document = client.get(path, headers={"Accept": media_type})
                assert document.status_code == 200, (path, media_type)
                assert document.headers["content-type"] == media_type
                assert document.json()["id"] == base + path
                tag = document.headers["etag"]
                cached = client.get(path, headers={"Accept": media_type, "If-None-Match": tag})
                assert cached.status_code == 304


def test_each_badge_s_own_name_choice_wins_on_the_profile(client, db, program):
    (shown_person, shown_award), (hidden_person, hidden_award) = program.alpha_awards
    for person_id, award_id, shown in (
        (shown_person, shown_award, False),
        (hidden_person, hidden_award, True),
    ):
        holder = Principal.for_holder(person_id=person_id, name="holder")
        holding.set_name_shown(db, holder, award_id=award_id, shown=shown)
    db.commit()
    page = client.get("/directory/alpha-cloud").text
    people = page[page.index('id="people"') :]
    assert people.count("<li>") == 1
    assert f'href="/credentials/{program.credential_ids[1]}"' in people
    assert f'href="/credentials/{program.credential_ids[0]}"' not in people


@pytest.mark.parametrize(
    "path",
    [
        "/directory?page=abc",
        "/directory?page=-5",
        "/directory?page=99999999999999999999",
        "/directory?country=%00&tier=%00&certification=%00",
        "/directory?q=" + "x" * 5000,
        "/directory/%00",
        "/directory/" + "a" * 500,
        "/achievements/%00",
        "/achievements/" + "A" * 500,
        "/tiers/%00/%00",
        "/partners/%00",
        "/partners/prt_" + "0" * 200,
    ],
)
def test_odd_input_never_fails(client, program, path):
    for accept in ("text/html", "application/json"):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code in (200, 404), (path, accept, response.status_code)
