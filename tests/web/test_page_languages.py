"""Each request's pages in its language: the chooser's cookie, else Accept-Language, else English.

No catalogue ships with the product; these tests write a small German one at test time and
point the pages at it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import nodes

from charter.core.auth import Role
from charter.web import i18n
from charter.web.i18n import COOKIE, Catalogues, parse_accept_language, use_locale_dir
from charter.web.pages import _wait_message, templates
from charter.web.public import _og_title, _summary
from tests.web.helpers import csrf_from, sign_in, web_user
from tests.web.portal_world import build_world

GERMAN = {
    "Sign in": "Anmelden",
    "Partner directory": "Partnerverzeichnis",
    "Email": "E-Mail",
    "Language": "Sprache",
    "Page not found": "Seite nicht gefunden",
    "There is no page at this address, or you may not see it.": "Diese Seite gibt es nicht.",
    "Email or password is wrong.": "E-Mail oder Passwort ist falsch.",
    "%(name)s left the firm": "%(name)s hat die Firma verlassen",
    "Requirements": "Anforderungen",
    "Reports": "Berichte",
    "Renewal and lapse rates": "Verlängerungs- und Verfallsraten",
    "Renewals and lapses per certification": "Verlängerungen und Verfall je Zertifizierung",
    "Renewed": "Verlängert",
    "Firms at risk": "Gefährdete Firmen",
    "Fall below within %(days)s days": "Fallen innerhalb von %(days)s Tagen ab",
    "New awards": "Neue Auszeichnungen",
    "high severity": "hohe Dringlichkeit",
    "Check the address": "Adresse prüfen",
    "must be one of %(days)s": "nur %(days)s erlaubt",
    "Expired": "Abgelaufen",
    "Enter your email address.": "Geben Sie Ihre E-Mail-Adresse ein.",
    "Not found": "Nicht gefunden",
    "name the key, so you can tell it apart later": "benennen Sie den Schlüssel",
    "%(name)s, issued by %(issuer)s.": "%(name)s, ausgestellt von %(issuer)s.",
}
GERMAN_PLURALS = {
    ("%(count)s certified person", "%(count)s certified people"): (
        "%(count)s zertifizierte Person",
        "%(count)s zertifizierte Personen",
    ),
    (
        "Too many failed sign-ins. Wait %(num)d second, then try again.",
        "Too many failed sign-ins. Wait %(num)d seconds, then try again.",
    ): (
        "Zu viele Fehlversuche. Warten Sie %(num)d Sekunde.",
        "Zu viele Fehlversuche. Warten Sie %(num)d Sekunden.",
    ),
}
HTML_LANG = re.compile(r'<html lang="([^"]+)">')


def write_catalogue(directory: Path, language: str, messages: dict[str, str]) -> None:
    """A compiled catalogue of ``messages`` for ``language``, in Babel's layout."""
    babel = pytest.importorskip("babel.messages.catalog")
    from babel.messages.mofile import write_mo

    catalog = babel.Catalog(locale=language.replace("-", "_"))
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    for pair, forms in GERMAN_PLURALS.items():
        catalog.add(pair, forms)
    folder = directory / language.replace("-", "_") / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as file:
        write_mo(file, catalog)


@pytest.fixture
def german(tmp_path: Path) -> Iterator[Catalogues]:
    """Pages in English and German (a catalogue written for the test)."""
    write_catalogue(tmp_path / "locale", "de", GERMAN)
    with use_locale_dir(tmp_path / "locale") as found:
        yield found


def _lang(page: str) -> str:
    match = HTML_LANG.search(page)
    assert match, "the page names no language"
    return match.group(1)


# --- Choosing -------------------------------------------------------------------------------


def test_no_catalogue_ships_so_pages_are_english_and_vary_with_nothing(client):
    assert not list(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/*.mo")), "no translation ships"
    page = client.get("/login", headers={"Accept-Language": "de"})
    assert _lang(page.text) == "en"
    assert page.headers["content-language"] == "en"
    assert "Accept-Language" not in page.headers.get("vary", "")
    assert 'action="/language"' not in page.text
    assert ">Sign in</h1>" in page.text


def test_accept_language_picks_the_catalogue(client, german):
    page = client.get("/login", headers={"Accept-Language": "fr;q=0.9, de;q=0.8, en;q=0.1"})
    assert _lang(page.text) == "de"
    assert page.headers["content-language"] == "de"
    assert {"Accept-Language", "Cookie"} <= {
        part.strip() for part in page.headers["vary"].split(",")
    }
    assert "<h1>Anmelden</h1>" in page.text  # {% trans %}
    assert "<title>Anmelden · Charter</title>" in page.text  # {% trans %} in a block
    assert '<label for="email">E-Mail</label>' in page.text
    # Text the catalogue lacks stays as written.
    assert '<label for="password">Password</label>' in page.text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de", "de"),
        ("de-CH", "de"),  # the language of a regional range
        ("DE-at;q=1.0", "de"),
        ("en", "en"),
        ("en-US,en;q=0.9,de;q=0.8", "en"),
        ("de;q=0.5, en;q=0.4", "de"),
        ("en;q=0.5, de;q=0.9", "de"),
        ("de;q=0", "en"),  # not acceptable
        ("xx, fr;q=0.8", "en"),  # languages without a catalogue
        ("*", "en"),
        ("de;q=2", "en"),  # a weight that cannot be one
        ("", "en"),
        (";;;,,,q=,de-", "en"),
    ],
)
def test_negotiation(client, german, header, expected):
    page = client.get("/login", headers={"Accept-Language": header})
    assert page.status_code == 200
    assert _lang(page.text) == expected
    assert german.negotiate(header).tag == expected


def test_the_chosen_language_overrides_the_header(client, german):
    client.cookies.set(COOKIE, "en")
    assert _lang(client.get("/login", headers={"Accept-Language": "de"}).text) == "en"
    client.cookies.set(COOKIE, "de")
    assert _lang(client.get("/login", headers={"Accept-Language": "en"}).text) == "de"
    client.cookies.set(COOKIE, "xx")  # no such catalogue: the header decides
    assert _lang(client.get("/login", headers={"Accept-Language": "de"}).text) == "de"
    assert _lang(client.get("/login", headers={"Accept-Language": "en"}).text) == "en"


def test_parse_accept_language_orders_by_weight_then_position():
    assert parse_accept_language("da, en-GB;q=0.8, en;q=0.7, *;q=0.1") == [
        "da",
        "en-gb",
        "en",
        "*",
    ]
    assert parse_accept_language("a;q=0.5, b, c;q=0.5, d;q=0.000") == ["b", "a", "c"]
    assert parse_accept_language("de;q=1.0001, fr;q=abc, it;Q=0.3") == ["it"]
    assert parse_accept_language("x" * 5000) == []
    assert len(parse_accept_language(",".join(["de"] * 500))) == i18n.MAX_RANGES


# --- The chooser ----------------------------------------------------------------------------


def test_the_chooser_sets_the_cookie_and_goes_back(client, german):
    page = client.get("/login", headers={"Accept-Language": "de"})
    form = re.search(r'<form method="post" action="/language".*?</form>', page.text, re.DOTALL)
    assert form, "no language chooser"
    assert '<option value="de" lang="de" selected>Deutsch</option>' in form.group(0)
    assert '<option value="en" lang="en">English</option>' in form.group(0)
    assert 'name="next" value="/login"' in form.group(0)
    token = csrf_from(page.text)
    chosen = client.post(
        "/language",
        data={"lang": "en", "next": "/login?x=1", "csrf": token},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/login?x=1"
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("lang=en;")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert _lang(client.get("/login", headers={"Accept-Language": "de"}).text) == "en"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", ""])
def test_the_chooser_only_goes_back_to_this_site(client, german, target):
    token = csrf_from(client.get("/login").text)
    chosen = client.post(
        "/language", data={"lang": "de", "next": target, "csrf": token}, follow_redirects=False
    )
    assert chosen.headers["location"] == "/"


def test_the_chooser_wants_the_form_s_token_and_a_language_there_is(client, german):
    token = csrf_from(client.get("/login").text)
    refused = client.post("/language", data={"lang": "de", "csrf": "wrong"})
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers or COOKIE + "=" not in refused.headers["set-cookie"]
    unknown = client.post(
        "/language",
        data={"lang": "<b>xx</b>", "csrf": token},
        headers={"Accept-Language": "de"},
    )
    assert unknown.status_code == 422
    assert "<b>" not in unknown.text
    assert "There are no pages in that language." in unknown.text


def test_the_chooser_is_hidden_with_one_language(client):
    assert 'action="/language"' not in client.get("/login").text


# --- What is translated ---------------------------------------------------------------------


def test_text_built_in_python_follows_the_language(client, german):
    refused = client.post(
        "/login",
        data={
            "email": "no@example.com",
            "password": "x",
            "csrf": csrf_from(client.get("/login").text),
        },
        headers={"Accept-Language": "de"},
    )
    assert refused.status_code == 401
    assert "E-Mail oder Passwort ist falsch." in refused.text


def test_error_pages_follow_the_language(client, german):
    page = client.get("/no/such/page", headers={"Accept": "text/html", "Accept-Language": "de"})
    assert page.status_code == 404
    assert _lang(page.text) == "de"
    assert page.headers["content-language"] == "de"
    assert "<h1>Seite nicht gefunden</h1>" in page.text
    assert "Diese Seite gibt es nicht." in page.text
    english = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert "<h1>Page not found</h1>" in english.text


def test_a_translated_text_carrying_user_data_is_still_escaped(client, sessions, german):
    script = "<script>alert(1)</script>"
    world = build_world(sessions, person_name=script)
    admin = web_user(sessions, Role.PARTNER_ADMIN, partner_id=world.harbor_id)
    sign_in(client, admin.email, admin.password)
    client.cookies.set(COOKIE, "de")
    page = client.get(f"/program/{world.harbor_id}")
    assert page.status_code == 200
    assert "hat die Firma verlassen" in page.text
    assert script not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_imported_macros_translate_too(client, sessions, german):
    manager = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, manager.email, manager.password)
    client.cookies.set(COOKIE, "de")
    page = client.get("/certifications/new")
    assert page.status_code == 200
    assert "<legend>Anforderungen</legend>" in page.text  # a macro of portal/_form.html


def _imports(node: nodes.Node) -> list[nodes.Import | nodes.FromImport]:
    found = [node] if isinstance(node, nodes.Import | nodes.FromImport) else []
    return found + [item for child in node.iter_child_nodes() for item in _imports(child)]


def test_every_import_of_macros_takes_the_page_s_language():
    """An import without context would see the environment's English, not the request's."""
    for name in templates.env.list_templates():
        source, _, _ = templates.env.loader.get_source(templates.env, name)  # type: ignore[union-attr]
        for imported in _imports(templates.env.parse(source, name)):
            assert imported.with_context, f"{name} imports {imported.template} without context"


# --- Reports: pages translate, the API stays English -----------------------------------------


def test_report_pages_translate_and_the_api_stays_english(client, make, sessions, german):
    manager = make.login(Role.PROGRAM_MANAGER)
    staff = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, staff.email, staff.password)
    client.cookies.set(COOKIE, "de")

    listing = client.get("/reports")
    assert "<h1>Berichte</h1>" in listing.text
    assert ">Verlängerungs- und Verfallsraten</a>" in listing.text  # a report's title (N_)

    page = client.get("/reports/renewals")
    assert page.status_code == 200
    assert "<h1>Verlängerungs- und Verfallsraten</h1>" in page.text
    assert "Verlängerungen und Verfall je Zertifizierung" in page.text  # a table's title
    assert '<th scope="col" class="kind-count">Verlängert</th>' in page.text  # a column
    assert "Renewal rate" in page.text  # no translation in the catalogue: as written

    at_risk = client.get("/reports/firms-at-risk?days=60")
    assert "Fallen innerhalb von 60 Tagen ab" in at_risk.text  # a format with the parameter
    assert "<h1>Gefährdete Firmen</h1>" in at_risk.text

    chart = client.get("/reports/renewals/charts/rates.svg")
    assert chart.status_code == 200
    assert "Verlängerungs- und Verfallsraten" in chart.text
    assert chart.headers["content-language"] == "de"

    summary = client.get("/reports/summary?from=2026-01-01&to=2026-01-31")
    assert "Neue Auszeichnungen" in summary.text
    assert "hohe Dringlichkeit" in summary.text

    client.cookies.delete(COOKIE)
    for name, title, label in [
        ("renewals", "Renewal and lapse rates", "Renewed"),
        ("firms-at-risk", "Firms at risk", "Fall below within 60 days"),
    ]:
        api = client.get(
            f"/api/v1/reports/{name}",
            params={"days": 60} if name == "firms-at-risk" else {},
            headers={**manager.headers, "Accept-Language": "de"},
        )
        assert api.status_code == 200
        assert "content-language" not in api.headers
        body = api.json()
        assert body["title"] == title
        assert label in [column["label"] for table in body["tables"] for column in table["columns"]]


def test_a_report_s_error_page_translates_its_text(client, sessions, german):
    staff = web_user(sessions, Role.PROGRAM_MANAGER)
    sign_in(client, staff.email, staff.password)
    page = client.get("/reports/firms-at-risk?days=45", headers={"Accept-Language": "de"})
    assert page.status_code == 422
    assert _lang(page.text) == "de"
    assert "<h1>Adresse prüfen</h1>" in page.text
    assert "days: nur 30, 60, 90 erlaubt" in page.text
    english = client.get("/reports/firms-at-risk?days=45")
    assert "days: must be one of 30, 60, 90" in english.text


def test_share_texts_follow_the_language_and_keep_their_data_as_it_is(german):
    badge = SimpleNamespace(
        is_firm=False, name="100% Cloud <b>", issuer_name="Acme %(x)s", description="Builds."
    )
    expired = SimpleNamespace(status="expired")
    german_language = german.get("de")
    assert german_language is not None
    assert _og_title(badge, expired, german_language) == "Abgelaufen: 100% Cloud <b> · Acme %(x)s"
    assert _summary(badge, expired, german_language) == (
        "Abgelaufen. This credential is authentic but it has expired. "
        "100% Cloud <b>, ausgestellt von Acme %(x)s. Builds."
    )
    assert _summary(badge, expired) == (
        "Expired. This credential is authentic but it has expired. "
        "100% Cloud <b>, issued by Acme %(x)s. Builds."
    )


def test_fixed_form_errors_follow_the_language(client, german):
    page = client.get("/me", headers={"Accept-Language": "de"})
    refused = client.post(
        "/me", data={"email": " ", "csrf": csrf_from(page.text)}, headers={"Accept-Language": "de"}
    )
    assert refused.status_code == 422
    assert "Geben Sie Ihre E-Mail-Adresse ein." in refused.text


def test_a_form_error_beside_its_field_follows_the_language(client, sessions, german):
    staff = web_user(sessions, Role.ADMIN)
    sign_in(client, staff.email, staff.password)
    client.cookies.set(COOKIE, "de")
    form = client.get("/account/api-keys")
    assert form.status_code == 200
    refused = client.post(
        "/account/api-keys",
        data={"name": " ", "expires_on": "", "csrf": csrf_from(form.text)},
    )
    assert refused.status_code == 422, refused.text
    assert "benennen Sie den Schlüssel" in refused.text


def test_a_public_not_found_page_translates_its_title_and_keeps_the_detail(client, german):
    page = client.get(
        "/credentials/nope%25%3Cb%3E", headers={"Accept": "text/html", "Accept-Language": "de"}
    )
    assert page.status_code == 404
    assert "<h1>Nicht gefunden</h1>" in page.text
    assert _lang(page.text) == "de"
    assert "credential nope%&lt;b&gt; not found" in page.text


def test_a_public_page_s_entity_tag_differs_per_language(client, german):
    english = client.get("/directory", headers={"Accept-Language": "en"})
    german_page = client.get("/directory", headers={"Accept-Language": "de"})
    assert english.status_code == german_page.status_code == 200
    assert english.headers["etag"] != german_page.headers["etag"]
    vary = {part.strip() for part in german_page.headers["vary"].split(",")}
    assert {"Accept", "Accept-Language", "Cookie"} <= vary
    # The English copy a cache holds is not the German page: the German page is sent whole.
    again = client.get(
        "/directory",
        headers={"Accept-Language": "de", "If-None-Match": english.headers["etag"]},
    )
    assert again.status_code == 200
    assert again.headers["content-language"] == "de"


def test_plural_forms_come_from_the_catalogue(german):
    de = german.get("de")
    assert de is not None
    block = templates.env.from_string(
        "{% trans count=n %}{{ count }} certified person{% pluralize %}"
        "{{ count }} certified people{% endtrans %}"
    )
    assert block.render(n=1, **de.template_functions) == "1 zertifizierte Person"
    assert block.render(n=3, **de.template_functions) == "3 zertifizierte Personen"
    assert block.render(n=3) == "3 certified people"
    assert _wait_message(de, 1) == "Zu viele Fehlversuche. Warten Sie 1 Sekunde."
    assert _wait_message(de, 5) == "Zu viele Fehlversuche. Warten Sie 5 Sekunden."
