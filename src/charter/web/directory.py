"""Public pages behind every URL a credential names, the partner directory and the sitemap.

A credential names its achievement (``/achievements/<code>``), a firm badge its tier
(``/tiers/<program>/<tier>``) and its firm (``/partners/<id>``): each answers with a page for
people and, to clients asking for ``application/ld+json`` or ``application/json``, the OB 3.0
``Achievement`` or ``Profile`` document the credential embeds. ``/directory`` lists the firms
that chose to be listed, with filters in a plain GET form (every filter a shareable URL);
``/directory/<slug>`` is a listed firm's profile with schema.org ``Organization`` JSON-LD.

Every answer carries a strong ETag and answers conditional GETs (:mod:`charter.web.conditional`).
They are ``private``: these paths go through the sign-in session middleware, so a shared cache
must not keep a signed-in visitor's answer.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lxml import etree
from sqlalchemy.orm import Session

from charter.config import Settings
from charter.core import clock
from charter.core.errors import NotFound
from charter.core.text import is_storable
from charter.credentials import documents, ob3
from charter.deps import DbSession, api_router, session_token_of
from charter.partners import taxonomy
from charter.partners.enums import TaxonomyKind
from charter.partners.listing import profile_url
from charter.programs import service as programs
from charter.programs.rules import Requirements
from charter.tiers import badges as firm_badges
from charter.tiers import directory
from charter.tiers import rules as tier_rules
from charter.tiers.schemes import schemes_in_force
from charter.web.conditional import conditional, strong_etag
from charter.web.pages import SECURITY_HEADERS, add_vary, templates
from charter.web.portal import partners as portal_partners
from charter.web.public import accepted_json_type

router = api_router(include_in_schema=False)

DOCUMENT_TYPES = ("application/ld+json", "application/json")
PAGE_CACHE = "private, no-cache"
DOCUMENT_CACHE = "private, max-age=300"
SITEMAP_CACHE = "private, no-cache"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
FILTER_LIMIT = 200


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    add_vary(response, "Accept")
    if status_code != 200:
        return response
    return conditional(request, response, cache_control=PAGE_CACHE)


def _not_found(request: Request, detail: str) -> Response:
    """A 404: problem details for a client asking for JSON, a page for people."""
    problem = NotFound(detail).problem(instance=request.url.path)
    if accepted_json_type(request, DOCUMENT_TYPES) is not None:
        return JSONResponse(
            problem,
            status_code=404,
            media_type="application/problem+json",
            headers={"X-Content-Type-Options": "nosniff", "Vary": "Accept"},
        )
    response = templates.TemplateResponse(
        request, "public/not_found.html", {"problem": problem}, status_code=404
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _document(request: Request, document: dict[str, Any], media_type: str) -> Response:
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    response = Response(
        data,
        media_type=media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
            "Vary": "Accept",
        },
    )
    etag = strong_etag(media_type.encode("ascii"), data)
    return conditional(request, response, cache_control=DOCUMENT_CACHE, etag=etag)


def _requirements(raw: dict[str, Any] | None) -> Requirements | None:
    try:
        return Requirements.model_validate(raw or {})
    except ValueError:
        return None


@router.get("/achievements/{code}", response_class=HTMLResponse)
def achievement_page(request: Request, db: DbSession, code: str) -> Response:
    """A certification as an achievement: criteria in force and their history, holders now."""
    settings = _settings(request)
    certification = (
        programs.get_certification_by_code(db, code=code[:64]) if is_storable(code) else None
    )
    if certification is None:
        return _not_found(request, f"no certification with code {code[:64]!r}")
    now = clock.now()
    versions = directory.criteria_versions(db, certification.id)
    in_force = next(
        (
            version
            for version in sorted(
                versions, key=lambda v: (v.effective_from, v.version), reverse=True
            )
            if clock.ensure_utc(version.effective_from) <= now
        ),
        None,
    )
    current = in_force or (versions[-1] if versions else None)
    json_type = accepted_json_type(request, DOCUMENT_TYPES)
    if json_type is not None:
        if current is None:
            return _not_found(request, f"certification {code[:64]!r} has no criteria yet")
        info = documents.achievement_info(settings, certification, current)
        return _document(request, ob3.achievement_document(info), json_type)
    url = documents.achievement_url(settings, certification.code)
    context = {
        "certification": certification,
        "url": url,
        "in_force": in_force,
        "requirements": _requirements(in_force.requirements if in_force else None),
        "versions": versions,
        "holders": directory.holders_of(db, certification.id, now),
        "issuer_name": settings.issuer_name,
        "directory_url": "/directory?" + urlencode({"certification": certification.code}),
    }
    return _page(request, "public/achievement.html", context)


@router.get("/tiers/{program}/{tier_key}", response_class=HTMLResponse)
def tier_page(request: Request, db: DbSession, program: str, tier_key: str) -> Response:
    """A partner tier as an achievement: what it requires now, and how many firms hold it."""
    settings = _settings(request)
    found = next(
        (scheme for scheme in schemes_in_force(db, clock.now()) if scheme.program == program),
        None,
    )
    tier = found.scheme.get(tier_key) if found is not None else None
    if found is None or tier is None:
        return _not_found(request, f"no tier {tier_key[:64]!r} in program {program[:64]!r}")
    json_type = accepted_json_type(request, DOCUMENT_TYPES)
    if json_type is not None:
        document = firm_badges.tier_achievement_document(settings, program, tier, found.version)
        return _document(request, document, json_type)
    context = {
        "program": program,
        "tier": tier,
        "version": found.version,
        "url": firm_badges.tier_achievement_url(settings, program, tier.key),
        "criteria": tier_rules.describe(tier),
        "firms": directory.firms_holding(db, program, tier.key),
        "issuer_name": settings.issuer_name,
        "directory_url": "/directory?" + urlencode({"tier": tier.key}),
    }
    return _page(request, "public/tier.html", context)


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def firm_identity(request: Request, db: DbSession, partner_id: str) -> Response:
    """The firm a firm badge names: its OB ``Profile``, or a page with its tiers.

    The portal's firm page shares this address: a browser with a portal session gets that
    page, with the portal's rules (sign in again when the session ended; a firm the user may
    not see is not found), so a visitor without one gets the public page.
    """
    settings = _settings(request)
    json_type = accepted_json_type(request, DOCUMENT_TYPES)
    if json_type is None and session_token_of(request) is not None:
        return portal_partners.partner_page(request, db, partner_id)
    try:
        firm = directory.public_firm(db, partner_id[:40], clock.now())
    except NotFound as error:
        return _not_found(request, error.detail)
    url = firm_badges.firm_url(settings, firm.id)
    listed_url = profile_url(settings.public_url, firm.slug) if firm.slug else None
    if json_type is not None:
        profile: dict[str, Any] = {
            "@context": [ob3.VC_V2_CONTEXT, ob3.OB_CONTEXT],
            "id": url,
            "type": ["Profile"],
            "name": firm.name,
        }
        if listed_url:
            profile["url"] = listed_url
        return _document(request, profile, json_type)
    context = {"firm": firm, "url": url, "listed_url": listed_url}
    return _page(request, "public/firm.html", context)


def _filters(request: Request) -> tuple[directory.Filters, bool]:
    """The filters in the query string; whether any was too long to use."""
    params = request.query_params
    values: dict[str, str | None] = {}
    too_long = False
    for name in ("q", "region", "country", "type", "tier", "track", "certification"):
        value = (params.get(name) or "").strip()
        if len(value) > FILTER_LIMIT:
            too_long = True
            value = value[:FILTER_LIMIT]
        values[name] = value or None
    try:
        page = int(params.get("page") or 1)
    except ValueError:
        page = 1
    return directory.Filters(**values, page=max(1, min(page, directory.MAX_PAGE))), too_long


def _page_link(filters: directory.Filters, page: int) -> str:
    items = filters.query_items()
    if page > 1:
        items.append(("page", str(page)))
    return "/directory" + ("?" + urlencode(items) if items else "")


def _label_maps(lists: taxonomy.Taxonomy) -> dict[str, dict[str, str]]:
    """Code to label of each kind, for pages that show stored codes."""
    return {
        "region_labels": lists.labels(TaxonomyKind.REGION),
        "type_labels": lists.labels(TaxonomyKind.PARTNER_TYPE),
        "track_labels": lists.labels(TaxonomyKind.TRACK),
    }


@router.get("/directory", response_class=HTMLResponse)
def directory_page(request: Request, db: DbSession) -> Response:
    """Listed firms with their tiers, regions and certified people; filters as a GET form."""
    settings = _settings(request)
    filters, too_long = _filters(request)
    now = clock.now()
    found = directory.list_directory(db, filters, now)
    lists = taxonomy.read(db)
    context = {
        "filters": filters,
        "too_long": too_long,
        "found": found,
        "regions": lists.all(TaxonomyKind.REGION),
        "types": lists.all(TaxonomyKind.PARTNER_TYPE),
        "tracks": lists.all(TaxonomyKind.TRACK),
        **_label_maps(lists),
        "tiers": directory.tier_options(schemes_in_force(db, now)),
        "certifications": directory.certification_options(db),
        "previous_url": _page_link(filters, found.page - 1) if found.page > 1 else None,
        "next_url": _page_link(filters, found.page + 1) if found.has_next else None,
        "canonical": _base(settings) + _page_link(filters, found.page),
        "issuer_name": settings.issuer_name,
    }
    return _page(request, "public/directory.html", context)


def organization_json_ld(settings: Settings, profile: directory.FirmProfile) -> dict[str, Any]:
    """The schema.org ``Organization`` of a listed firm."""
    entry = profile.entry
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "@id": profile_url(settings.public_url, entry.slug),
        "name": entry.name,
        "url": entry.website or profile_url(settings.public_url, entry.slug),
        "address": {"@type": "PostalAddress", "addressCountry": entry.country},
        "areaServed": [region.upper() for region in entry.regions],
    }
    if entry.blurb:
        document["description"] = entry.blurb
    awards = [tier.name for tier in entry.tiers] + [item.name for item in entry.certifications]
    if awards:
        document["award"] = awards
    return document


@router.get("/directory/{slug}", response_class=HTMLResponse)
def directory_firm(request: Request, db: DbSession, slug: str) -> Response:
    """A listed firm's profile: tier badges, certified headcount, people who chose to be named."""
    settings = _settings(request)
    try:
        profile = directory.firm_profile(db, slug[:80], clock.now())
    except NotFound as error:
        return _not_found(request, error.detail)
    context = {
        **_label_maps(taxonomy.read(db)),
        "profile": profile,
        "firm": profile.entry,
        "canonical": profile_url(settings.public_url, profile.entry.slug),
        "json_ld": organization_json_ld(settings, profile),
        "issuer_name": settings.issuer_name,
    }
    return _page(request, "public/directory_firm.html", context)


def sitemap(settings: Settings, entries: directory.SitemapEntries) -> bytes:
    """The sitemap (sitemaps.org 0.9) of the directory, firm profiles, achievements and tiers."""
    base = _base(settings)
    urls = [f"{base}/directory"]
    urls += [profile_url(settings.public_url, slug) for slug in entries.firm_slugs]
    urls += [documents.achievement_url(settings, code) for code in entries.certification_codes]
    urls += [
        firm_badges.tier_achievement_url(settings, program, key) for program, key in entries.tiers
    ]
    root = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS})
    for url in urls:
        item = etree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        etree.SubElement(item, f"{{{SITEMAP_NS}}}loc").text = url
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def _sitemap_response(request: Request, db: Session) -> Response:
    settings = _settings(request)
    data = sitemap(settings, directory.sitemap_entries(db, clock.now()))
    response = Response(
        data, media_type="application/xml", headers={"X-Content-Type-Options": "nosniff"}
    )
    return conditional(request, response, cache_control=SITEMAP_CACHE)


@router.get("/sitemap.xml")
def sitemap_xml(request: Request, db: DbSession) -> Response:
    """Every public page worth indexing, for search engines."""
    return _sitemap_response(request, db)
