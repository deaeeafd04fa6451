"""Public credential pages: the page for people, the JSON, baked badges and the embed widget.

Anyone may open these, without an account: customers check a partner's certification here.
``/credentials/{id}`` answers with the signed credential, byte for byte as issued, to clients
asking for ``application/vc+ld+json``, ``application/vc``, ``application/ld+json`` or
``application/json`` (or ``?format=json``), and with a page for people otherwise. A page
offers the LinkedIn button only while its credential is valid, and its OpenGraph text says
when it is not. ``/credentials/{id}/embed`` is the one
route that other sites may frame.

The page's and the embed's status come from Charter's own records
(:func:`~charter.web.standing.own_standing`), which say what the full verifier would, without
verifying stored bytes again on every view. The page's Verify button runs the full check
(``POST /api/v1/verify``), and so does :func:`verify_own`, against Charter's own DID document
and status lists read from the database (:class:`OwnDocuments`): a page never fetches its own
URLs over HTTP.

Every route answers conditional GETs (:mod:`charter.web.conditional`): the signed JSON and the
images are cached long, the page and the embed are revalidated on every view.

The same routes serve both kinds of Charter credentials: a person's badge (``bdg_…``, in
``issued_credentials``) and a firm's partner-tier badge (``tbg_…``, in ``tier_badges``).
:func:`find_credential` looks an id up in the right table and returns what every route needs
(:class:`ShownCredential`); the pages, images and widget are the same for both.

The holder's email is never shown: the document carries only its salted hash, and the page
reads nothing else about the holder. A firm badge names the firm, which is public.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from charter.config import Settings
from charter.core import clock
from charter.core.auth import Principal
from charter.core.errors import CharterError, NotFound
from charter.core.ids import is_id
from charter.credentials import documents, issuance, linkedin, status, verify_api
from charter.credentials import service as awards
from charter.credentials.enums import CredentialStatus
from charter.credentials.resolver import ResolveError, strip_fragment
from charter.credentials.rules import holder_name_shown
from charter.credentials.verify import LocalStatus, Verdict, parse_datetime, verify_credential
from charter.crypto import dids, keyring
from charter.db.engine import READ_ONLY, writes_committed
from charter.db.freshness import StampedCache
from charter.deps import DbSession, api_router, plain_get, read
from charter.partners import service as partners
from charter.partners import taxonomy
from charter.programs import service as programs
from charter.tiers import badges as firm_badges
from charter.tiers.enums import BadgeStatus
from charter.tiers.models import TierBadge, TierScheme
from charter.web import badge_images
from charter.web.badge_images import ImageKind
from charter.web.conditional import conditional, strong_etag
from charter.web.i18n import N_, SOURCE, Language
from charter.web.memo import Memo
from charter.web.pages import SECURITY_HEADERS, add_vary, language_of, templates
from charter.web.standing import Standing, own_standing

# Public pages read awards and certifications but change nothing; they act as the system.
PUBLIC_READER = Principal.system("public pages")

# Preferred in this order when a client accepts several equally. ``application/vc`` is the
# VC Data Model 2.0 media type of a credential; the others are the JSON-LD and JSON types
# OB 3.0 names for one.
JSON_MEDIA_TYPES = (
    "application/vc+ld+json",
    "application/vc",
    "application/ld+json",
    "application/json",
)
DEFAULT_JSON_TYPE = JSON_MEDIA_TYPES[0]
# The signed JSON under an id never changes: it is inserted once and never updated, a
# correction is a reissue under a new id, and a firm's new tier is a new badge. Its status
# lives in the status lists and the records, not in these bytes. Cached for good.
CREDENTIAL_CACHE = "public, max-age=31536000, immutable"
# A baked image carries those same bytes, but its design follows the certification (image,
# track, level) and the tier scheme, which can change: a day, then revalidated by its tag.
IMAGE_CACHE = "public, max-age=86400"
# The page and the embed show the current status, which a revocation changes at once: a
# browser keeps them but asks every time (a 304 while nothing shown has changed). Private:
# a signed-in visitor's response carries the session cookie.
PAGE_CACHE = "private, no-cache"
PAGE_MEMORY_SECONDS = 2.0
"""How long a worker serves a rendered page from memory. Any write this worker commits makes
its pages stale at once (see db.engine.writes_committed); a write through another worker, or
an expiry by the clock, shows within these seconds."""
_PER_RESPONSE = frozenset({b"etag", b"cache-control"})
SIGNED_CACHE_BYTES = 64 * 1024 * 1024
"""Signed credentials kept in memory per process, in bytes (some 20,000 of 3 KiB)."""
IMAGE_MEMORY_BYTES = 32 * 1024 * 1024
"""Baked images kept per process, in bytes: some 400 badges drawn by Charter (75 KiB each)."""
IMAGE_MEMORY_SECONDS = 60.0
"""How long a served image is kept per credential: a changed design shows within a minute."""
_signed: Memo[str, bytes] = Memo(SIGNED_CACHE_BYTES, size=len)
_pages: Memo[tuple[str, str, int], _KeptPage] = Memo(
    16 * 1024 * 1024, size=lambda page: len(page.body), ttl=PAGE_MEMORY_SECONDS
)
_images: Memo[tuple[str, ImageKind], badge_images.BakedImage] = Memo(
    IMAGE_MEMORY_BYTES, size=lambda image: len(image.data), ttl=IMAGE_MEMORY_SECONDS
)
DEFAULT_COLOUR = "#1f6feb"
# Firm badges by the tier's place in its scheme, lowest first (the top tiers share the last).
TIER_COLOURS = ("#8a5a2b", "#5b6477", "#a16207", "#6941c6")
PERSON_PREFIX = "bdg"
FIRM_PREFIX = firm_badges.BADGE_PREFIX
EMBED_HEADERS = {
    **SECURITY_HEADERS,
    # The one route other sites may put in an <iframe>; everything else stays 'self'.
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors *; form-action 'none'; "
        "base-uri 'none'; object-src 'none'"
    ),
}
del EMBED_HEADERS["X-Frame-Options"]
# A served SVG opened on its own must not run anything it might contain.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

router = api_router(include_in_schema=False)


class OwnDocuments:
    """A resolver for Charter's own ``did:web`` document and status lists, from the database.

    Give it a session (a page's own) or session factories (the verify API, which runs outside
    any request session): ``sessions`` that only read, and ``writing`` ones for the rare
    document that must be written before it can be read (a fresh deployment's first key).
    Anything else is a :class:`ResolveError`, so that a
    :class:`~charter.credentials.resolver.ChainResolver` moves on to the network.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        db: Session | None = None,
        sessions: sessionmaker[Session] | None = None,
        writing: sessionmaker[Session] | None = None,
    ) -> None:
        if (db is None) == (sessions is None) or (sessions is None) != (writing is None):
            raise ValueError("give either db, or sessions and writing")
        self._settings = settings
        self._db = db
        self._sessions = sessions
        self._writing = writing

    def fetch_json(self, url: str) -> dict[str, Any]:
        """Charter's own document at ``url``."""
        url = strip_fragment(url)
        reader = self._reader_for(url)
        if reader is None:
            raise ResolveError(f"{url} is not one of this issuer's documents")
        try:
            if self._db is not None:
                return reader(self._db)
            assert self._sessions is not None
            assert self._writing is not None
            try:
                # A transaction that only reads: committing it tells no worker that the
                # database changed, so what they keep from it stays kept (db.freshness).
                with self._sessions.begin() as db:
                    return reader(db)
            except _MustWrite:
                with self._writing.begin() as db:
                    return reader(db)
        except CharterError as error:
            raise ResolveError(f"{url}: {error.detail}") from error

    def _reader_for(self, url: str) -> Callable[[Session], dict[str, Any]] | None:
        settings = self._settings
        list_prefix = status.list_url(settings, "")
        if url.startswith(list_prefix):
            list_id = url[len(list_prefix) :]
            if not is_id(list_id, "stl"):
                return None
            return lambda db: status.signed_status_list(db, list_id, settings)[0]
        did = keyring.issuer_did_web(settings)
        if did is not None and url == dids.did_web_document_url(did):
            return lambda db: _did_document(db, settings)
        return None


class _MustWrite(Exception):
    """The document cannot be read in a transaction that only reads."""


def _did_document(db: Session, settings: Settings) -> dict[str, Any]:
    if db.get_bind().get_execution_options().get(READ_ONLY) and keyring.needs_new_key(db, settings):
        raise _MustWrite  # its first key is made (and published) on the way
    return keyring.did_document(db, settings)


def credential_id_of(settings: Settings, url: str) -> str | None:
    """The id of Charter's own credential at ``url`` (its OB ``id``), or ``None``."""
    prefix = documents.credential_url(settings, "")
    if not url.startswith(prefix):
        return None
    credential_id = url[len(prefix) :]
    if is_id(credential_id, PERSON_PREFIX) or is_id(credential_id, FIRM_PREFIX):
        return credential_id
    return None


CredentialKind = Literal["person", "firm"]


@dataclass(frozen=True)
class ShownCredential:
    """One of Charter's credentials, from either table, as the public routes show it."""

    kind: CredentialKind
    id: str
    document_text: str
    revoked: bool
    suspended: bool
    status_reason: str | None
    valid_from: datetime
    valid_until: datetime | None
    verification_method: str
    # A person's credential: its award. A firm badge: the firm, program and tier.
    award_id: str | None = None
    partner_id: str | None = None
    program: str | None = None
    tier: str | None = None
    scheme_version: int | None = None
    superseded_by_id: str | None = None

    @property
    def document(self) -> dict[str, Any]:
        """The signed credential, parsed."""
        parsed: dict[str, Any] = json.loads(self.document_text)
        return parsed

    @property
    def is_firm(self) -> bool:
        """A firm's partner-tier badge rather than a person's."""
        return self.kind == "firm"


def _person_credential(found: issuance.PublicCredential) -> ShownCredential:
    return ShownCredential(
        kind="person",
        id=found.id,
        document_text=found.document_text,
        revoked=found.status is CredentialStatus.REVOKED,
        suspended=found.status is CredentialStatus.SUSPENDED,
        status_reason=found.status_reason,
        valid_from=found.valid_from,
        valid_until=found.valid_until,
        verification_method=found.verification_method,
        award_id=found.award_id,
        superseded_by_id=found.superseded_by_id,
    )


def _firm_credential(badge: TierBadge) -> ShownCredential:
    return ShownCredential(
        kind="firm",
        id=badge.id,
        document_text=badge.document,
        revoked=badge.status == BadgeStatus.REVOKED.value,
        suspended=False,
        status_reason=badge.status_reason,
        valid_from=badge.issued_at,
        valid_until=None,  # held while the firm holds the tier; revoked when it does not
        verification_method=badge.verification_method,
        partner_id=badge.partner_id,
        program=badge.program,
        tier=badge.tier,
        scheme_version=badge.scheme_version,
    )


def find_credential(db: Session, settings: Settings, credential_id: str) -> ShownCredential:
    """One of Charter's credentials by id, a person's or a firm's; :class:`NotFound` otherwise.

    The id is checked for shape before any lookup: anything else is simply not found.
    """
    if is_id(credential_id, PERSON_PREFIX):
        return _person_credential(issuance.get_credential(db, credential_id, settings=settings))
    if is_id(credential_id, FIRM_PREFIX):
        return _firm_credential(firm_badges.get_badge(db, credential_id))
    raise NotFound(f"credential {credential_id[:60]} not found")


def own_status(db: Session, settings: Settings, url: str) -> LocalStatus | None:
    """What Charter's records say about the credential at ``url`` (``None``: not ours)."""
    credential_id = credential_id_of(settings, url)
    if credential_id is None:
        return None
    try:
        found = find_credential(db, settings, credential_id)
    except NotFound:
        return None
    return LocalStatus(
        verification_method=found.verification_method,
        revoked=found.revoked,
        revocation_reason=(found.status_reason or None) if found.revoked else None,
        suspended=found.suspended,
    )


VERIFY_KEPT = 4096
"""Own documents and credential records the verify route keeps (:func:`configure_verification`)."""


class _KeptDocuments:
    """:class:`OwnDocuments` from a session factory, each document kept (as its JSON text,
    parsed afresh for each verification) until the database changes."""

    def __init__(self, own: OwnDocuments, kept: StampedCache[str, str]) -> None:
        self._own = own
        self._kept = kept

    def fetch_json(self, url: str) -> dict[str, Any]:
        key = strip_fragment(url)
        text, stamp = self._kept.get(key)
        if text is None:
            text = json.dumps(self._own.fetch_json(key))
            self._kept.put(key, text, stamp)
        document: dict[str, Any] = json.loads(text)
        return document


def configure_verification(app: FastAPI) -> None:
    """Give ``POST /api/v1/verify`` the same own documents and records the pages use.

    Both are kept in memory until the database changes (:mod:`charter.db.freshness`): a badge
    verified again, or a batch of one issuer's badges sharing a status list and a key, reads
    the database once; a revocation committed anywhere is in the very next verdict.
    """
    settings: Settings = app.state.settings
    sessions: sessionmaker[Session] = app.state.sessions
    statuses: StampedCache[str, tuple[LocalStatus | None]] = StampedCache(
        app.state.change_watch, VERIFY_KEPT
    )

    def lookup(url: str) -> LocalStatus | None:
        if credential_id_of(settings, url) is None:
            return None  # most verified credentials are someone else's: no session needed
        kept, stamp = statuses.get(url)
        if kept is not None:
            return kept[0]
        with app.state.read_sessions() as db:
            found = own_status(db, settings, url)
        statuses.put(url, (found,), stamp)
        return found

    documents_kept: StampedCache[str, str] = StampedCache(app.state.change_watch, VERIFY_KEPT)
    verify_api.configure(
        app,
        resolver=_KeptDocuments(
            OwnDocuments(settings, sessions=app.state.read_sessions, writing=sessions),
            documents_kept,
        ),
        local_status=lookup,
    )


def verify_own(db: Session, settings: Settings, document: dict[str, Any]) -> Verdict:
    """The verifier's full verdict on one of Charter's credentials, from local sources only."""
    return verify_credential(
        document,
        resolver=OwnDocuments(settings, db=db),
        now=clock.now(),
        local_status=lambda url: own_status(db, settings, url),
    )


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base(settings: Settings) -> str:
    return settings.public_url.rstrip("/")


def _credential(db: Session, settings: Settings, credential_id: str) -> ShownCredential:
    return find_credential(db, settings, credential_id)


@dataclass(frozen=True)
class Badge:
    """What a page or an image shows about a credential, read from the signed document."""

    credential: ShownCredential
    url: str
    name: str
    description: str
    criteria: str
    issuer_name: str
    holder: str
    track: str | None
    level: str | None
    image_url: str | None
    tier_colour: str | None = None

    @property
    def is_firm(self) -> bool:
        """A firm's partner-tier badge."""
        return self.credential.is_firm

    @property
    def kind_label(self) -> str:
        """What the credential is, above its name."""
        return N_("Partner tier") if self.is_firm else N_("Certification")

    @property
    def holder_label(self) -> str:
        """The words before the holder's name."""
        return N_("Held by") if self.is_firm else N_("Awarded to")

    def colour(self, db: Session) -> str:
        """The default design's colour: by tier for a firm, by track (the colour the program
        set for it) for a person; read only when an image is drawn, never for a page."""
        if self.tier_colour or not self.track:
            return self.tier_colour or DEFAULT_COLOUR
        return taxonomy.track_colour(db, self.track)

    @property
    def subtitle(self) -> str:
        """The line under the name in the default design."""
        if self.is_firm:
            return f"Partner · {self.issuer_name}"
        return f"{self.level.title()} · {self.issuer_name}" if self.level else self.issuer_name


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _firm_name(subject: dict[str, Any]) -> str:
    """The firm's name as its badge states it (an unhashed ``name`` identifier)."""
    identifiers = subject.get("identifier")
    for item in identifiers if isinstance(identifiers, list) else []:
        if (
            isinstance(item, dict)
            and item.get("identityType") == "name"
            and item.get("hashed") is False
        ):
            return _text(item.get("identityHash"))
    return ""


def _tier_colour(db: Session, found: ShownCredential) -> str:
    """The colour of a firm badge's tier: by its place among its scheme's tiers."""
    tiers = db.scalar(
        select(TierScheme.tiers).where(
            TierScheme.program == found.program, TierScheme.version == found.scheme_version
        )
    )
    ranked = sorted(
        (tier for tier in tiers or [] if isinstance(tier, dict)),
        key=lambda tier: tier.get("rank", 0) if isinstance(tier.get("rank"), int) else 0,
    )
    keys = [tier.get("key") for tier in ranked]
    position = keys.index(found.tier) if found.tier in keys else 0
    return TIER_COLOURS[min(position, len(TIER_COLOURS) - 1)]


def _person_facts(
    db: Session, found: ShownCredential, *, with_holder: bool
) -> tuple[str, str | None, str | None, str | None]:
    """``(holder, track, level, image_url)`` of a person's credential (the holder's name only
    ``with_holder``: images do not show it)."""
    holder = "Certified professional"
    track = level = image_url = None
    if found.award_id is None:
        return holder, track, level, image_url
    try:
        award = awards.get_award(db, PUBLIC_READER, award_id=found.award_id)
        certification = programs.get_certification(
            db, PUBLIC_READER, certification_id=award.certification_id
        )
        track, level, image_url = certification.track, certification.level, certification.image_url
        if with_holder and award.person_id is not None:
            person = partners.get_person(db, PUBLIC_READER, person_id=award.person_id)
            # People choose whether their name is shown: per badge (at /me/badges), or else
            # for all their badges (Person.show_name_publicly); not shown unless they do.
            if holder_name_shown(award.show_holder_name, person.show_name_publicly):
                holder = person.display_name
    except NotFound:
        pass  # the design falls back to the default colour
    return holder, track, level, image_url


def badge_of(
    db: Session,
    settings: Settings,
    found: ShownCredential,
    document: dict[str, Any],
    *,
    with_holder: bool = True,
) -> Badge:
    subject = document.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    criteria = achievement.get("criteria")
    issuer = document.get("issuer")
    tier_colour = None
    if found.is_firm:
        holder, track, level, image_url = _firm_name(subject) or "Partner firm", None, None, None
        tier_colour = _tier_colour(db, found)
    else:
        holder, track, level, image_url = _person_facts(db, found, with_holder=with_holder)
    return Badge(
        credential=found,
        url=documents.credential_url(settings, found.id),
        name=_text(achievement.get("name"))
        or ("Partner tier" if found.is_firm else "Certification"),
        description=_text(achievement.get("description")),
        criteria=_text(criteria.get("narrative")) if isinstance(criteria, dict) else "",
        issuer_name=(_text(issuer.get("name")) if isinstance(issuer, dict) else "")
        or settings.issuer_name,
        holder=holder,
        track=track,
        level=level,
        image_url=image_url,
        tier_colour=tier_colour,
    )


def _replacement(db: Session, found: ShownCredential) -> str | None:
    """The credential that replaced a revoked one: a reissue, or a firm's newer tier badge."""
    if not found.is_firm:
        return found.superseded_by_id
    if not found.revoked:
        return None
    return db.scalar(
        select(TierBadge.id)
        .where(
            TierBadge.partner_id == found.partner_id,
            TierBadge.program == found.program,
            TierBadge.status == BadgeStatus.ACTIVE.value,
            TierBadge.issued_at >= found.valid_from,
            TierBadge.id != found.id,
        )
        .order_by(TierBadge.issued_at.desc(), TierBadge.id.desc())
        .limit(1)
    )


def accepted_json_type(request: Request, offered: tuple[str, ...] = JSON_MEDIA_TYPES) -> str | None:
    """The JSON media type (of ``offered``, preferred in that order) the client prefers to
    HTML, if it does (RFC 9110 q-values)."""
    if request.query_params.get("format") == "json":
        return offered[0]
    ranges: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    html = max(ranges.get("text/html", 0.0), ranges.get("text/*", 0.0), ranges.get("*/*", 0.0))
    best = max(offered, key=lambda media: ranges.get(media, 0.0))
    if ranges.get(best, 0.0) > 0 and ranges[best] >= html:
        return best
    return None


def _page_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _not_found_page(request: Request, detail: str, *, embed: bool = False) -> Response:
    problem = NotFound(detail).problem(instance=request.url.path)
    response = templates.TemplateResponse(
        request,
        "public/embed_missing.html" if embed else "public/not_found.html",
        {"problem": problem},
        status_code=404,
    )
    response.headers.update(EMBED_HEADERS if embed else SECURITY_HEADERS)
    return response


BANNERS: dict[str, tuple[str, str]] = {
    "valid": (N_("Valid"), N_("This credential is authentic and in force.")),
    "expired": (N_("Expired"), N_("This credential is authentic but it has expired.")),
    "revoked": (N_("Revoked"), N_("The issuer has revoked this credential.")),
    "suspended": (N_("Suspended"), N_("The issuer has suspended this credential for now.")),
    "not_yet_valid": (
        N_("Not yet valid"),
        N_("This credential is authentic but not in force yet."),
    ),
    "invalid": (N_("Not valid"), N_("This credential failed verification.")),
}


def _status_facts(standing: Standing, found: ShownCredential) -> dict[str, Any]:
    label, summary = BANNERS[standing.status]
    reason = None
    if standing.status == "revoked":
        reason = found.status_reason or standing.reason
    elif standing.status in {"invalid", "suspended"}:
        reason = standing.reason
    return {"status": standing.status, "label": label, "summary": summary, "reason": reason}


def embed_snippet(badge: Badge) -> str:
    """The HTML a partner pastes; its own values are escaped, as it is HTML in its own right."""
    return embed_snippet_for(badge.url, badge.name, firm=badge.is_firm)


def embed_snippet_for(credential_url: str, name: str, *, firm: bool) -> str:
    """The embed snippet of the credential at ``credential_url`` named ``name``."""
    src = html.escape(f"{credential_url}/embed", quote=True)
    what = "verified partner tier" if firm else "verified credential"
    title = html.escape(f"{name}: {what}", quote=True)
    return (
        f'<iframe src="{src}" title="{title}" width="340" height="136" '
        'style="border:0" loading="lazy"></iframe>'
    )


def linkedin_url(settings: Settings, badge: Badge) -> str | None:
    """LinkedIn's "add to profile" link; ``None`` for a firm (profiles hold people's)."""
    found = badge.credential
    if found.is_firm:
        return None
    return linkedin.add_to_profile_url(
        name=badge.name,
        organization_id=settings.linkedin_organization_id,
        organization_name=badge.issuer_name,
        issued=found.valid_from,
        expires=found.valid_until,
        credential_url=badge.url,
        credential_id=found.id,
    )


def _json_response(request: Request, data: bytes, media_type: str, **headers: str) -> Response:
    # The stored text, encoded once: the signature covers these exact bytes' meaning, and
    # some verifiers compare hashes of the file they were given. The tag is the bytes' and
    # the media type's: each negotiated type is a representation of its own.
    response = Response(
        data,
        media_type=media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
            **headers,
        },
    )
    etag = strong_etag(media_type.encode("ascii"), data)
    return conditional(request, response, cache_control=CREDENTIAL_CACHE, etag=etag)


@plain_get(router, "/credentials/{credential_id}.json")
async def credential_json_download(request: Request, credential_id: str) -> Response:
    """The signed credential as a file to save (``<id>.json``)."""
    data = await _signed_bytes(request, credential_id)
    return _json_response(
        request,
        data,
        DEFAULT_JSON_TYPE,
        **{"Content-Disposition": f'attachment; filename="{credential_id}.json"'},
    )


async def _signed_bytes(request: Request, credential_id: str) -> bytes:
    """The signed credential's stored bytes: from memory once read (they never change)."""
    data = _signed.get(credential_id)
    if data is None:
        settings = _settings(request)
        found = await read(request, lambda db: _credential(db, settings, credential_id))
        data = found.document_text.encode("utf-8")
        _signed.put(credential_id, data)
    return data


@plain_get(router, "/credentials/{credential_id}")
async def credential_page(request: Request, credential_id: str) -> Response:
    """The credential: its JSON for machines that ask for it, a page for people otherwise."""
    json_type = accepted_json_type(request)
    if json_type is not None:
        data = await _signed_bytes(request, credential_id)
        return _json_response(request, data, json_type, Vary="Accept")
    # Kept by the clock's two-second slot too: what a page says can change with the time
    # (an expiry) as well as with a write.
    slot = int(clock.now().timestamp() // PAGE_MEMORY_SECONDS)
    key = (_settings(request).public_url, credential_id, slot)
    writes = writes_committed()
    kept = _pages.get(key)
    if kept is not None and kept.writes == writes:
        return conditional(request, kept.response(), cache_control=PAGE_CACHE, etag=kept.etag)
    response = await run_in_threadpool(_credential_page, request, credential_id)
    if response.status_code == 200:
        _pages.put(key, _KeptPage.of(response, writes))
    return response


@dataclass(frozen=True, slots=True)
class _KeptPage:
    """A rendered credential page, and the count of writes it was rendered after."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    etag: str
    writes: int

    @classmethod
    def of(cls, response: Response, writes: int) -> _KeptPage:
        headers = tuple(
            (key, value) for key, value in response.raw_headers if key not in _PER_RESPONSE
        )
        return cls(bytes(response.body), headers, response.headers["etag"], writes)

    def response(self) -> Response:
        response = Response(self.body)
        response.raw_headers = list(self.headers)
        return response


def _credential_page(request: Request, credential_id: str) -> Response:
    with request.app.state.read_sessions() as db, db.begin():
        return _page_for(request, db, credential_id)


def _page_for(request: Request, db: Session, credential_id: str) -> Response:
    settings = _settings(request)
    try:
        found = _credential(db, settings, credential_id)
    except NotFound as error:
        return _not_found_page(request, error.detail)
    document = found.document
    badge = badge_of(db, settings, found, document)
    standing = own_standing(db, settings, found, document, clock.now())
    base = _base(settings)
    awarded = parse_datetime(document.get("awardedDate"))
    if awarded == parse_datetime(document.get("validFrom")):
        awarded = None
    valid = standing.status == "valid"
    context = {
        "badge": badge,
        "state": _status_facts(standing, found),
        "issued": found.valid_from,
        # Shown when it differs from the issue date: a renewed or reissued credential.
        "awarded": awarded,
        "expires": found.valid_until,
        "superseded_by": _replacement(db, found),
        # Nobody should be invited to list a revoked, suspended or expired credential.
        "linkedin_url": linkedin_url(settings, badge) if valid else None,
        "embed_snippet": embed_snippet(badge),
        "og_image": f"{base}/credentials/{found.id}/badge.png",
        "og_title": _og_title(badge, standing, language_of(request)),
        "og_description": _summary(badge, standing, language_of(request)),
    }
    response = templates.TemplateResponse(request, "public/credential.html", context)
    add_vary(response, "Accept")
    return conditional(request, _page_headers(response), cache_control=PAGE_CACHE)


SHARED_FIRM = N_("%(holder)s holds the %(tier)s partner tier, issued by %(issuer)s.")
SHARED_PERSON = N_("%(name)s, issued by %(issuer)s.")


def _og_title(badge: Badge, standing: Standing, language: Language = SOURCE) -> str:
    """The shared title: the badge and issuer, and the status when it is not valid."""
    title = f"{badge.name} · {badge.issuer_name}"
    if standing.status == "valid":
        return title
    return f"{language.text(BANNERS[standing.status][0])}: {title}"


def _summary(
    badge: Badge, standing: Standing, language: Language = SOURCE, limit: int = 200
) -> str:
    """The shared description in ``language``; a credential that is not valid says so first."""
    if badge.is_firm:
        values = {"holder": badge.holder, "tier": badge.name, "issuer": badge.issuer_name}
        text = language.filled(SHARED_FIRM, values)
    else:
        values = {"name": badge.name, "issuer": badge.issuer_name}
        text = f"{language.filled(SHARED_PERSON, values)} {badge.description}".strip()
    if standing.status != "valid":
        label, summary = BANNERS[standing.status]
        text = f"{language.text(label)}. {language.text(summary)} {text}"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@router.get("/credentials/{credential_id}/embed", response_class=HTMLResponse)
def credential_embed(request: Request, db: DbSession, credential_id: str) -> Response:
    """A small page for partners' sites to frame: badge, name, holder and current status."""
    settings = _settings(request)
    try:
        found = _credential(db, settings, credential_id)
    except NotFound as error:
        return _not_found_page(request, error.detail, embed=True)
    document = found.document
    badge = badge_of(db, settings, found, document)
    now = clock.now()
    standing = own_standing(db, settings, found, document, now)
    response = templates.TemplateResponse(
        request,
        "public/embed.html",
        {"badge": badge, "state": _status_facts(standing, found), "checked_at": now},
    )
    response.headers.update(EMBED_HEADERS)
    # The tag is the page's: it changes with the status and with the minute it was checked.
    return conditional(request, response, cache_control=PAGE_CACHE)


async def _image_response(request: Request, credential_id: str, kind: ImageKind) -> Response:
    image = _images.get((credential_id, kind))
    if image is None:
        image = await read(request, lambda db: _baked_image(db, request, credential_id, kind))
        _images.put((credential_id, kind), image)
    response = Response(
        image.data,
        media_type=badge_images.MEDIA_TYPES[kind],
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": IMAGE_CSP,
            "Content-Disposition": f'inline; filename="{credential_id}.{kind}"',
        },
    )
    return conditional(request, response, cache_control=IMAGE_CACHE, etag=image.etag)


def _baked_image(
    db: Session, request: Request, credential_id: str, kind: ImageKind
) -> badge_images.BakedImage:
    settings = _settings(request)
    found = _credential(db, settings, credential_id)
    badge = badge_of(db, settings, found, found.document, with_holder=False)
    return badge_images.baked_image(
        kind,
        found.document_text,
        image_url=badge.image_url,
        public_url=settings.public_url,
        title=badge.name,
        subtitle=badge.subtitle,
        colour=badge.colour(db),
    )


@plain_get(router, "/credentials/{credential_id}/badge.png")
async def badge_png(request: Request, credential_id: str) -> Response:
    """The badge image as a PNG with the credential baked in (OB 3.0 ``iTXt`` chunk)."""
    return await _image_response(request, credential_id, "png")


@plain_get(router, "/credentials/{credential_id}/badge.svg")
async def badge_svg(request: Request, credential_id: str) -> Response:
    """The badge image as an SVG with the credential baked in (``<openbadges:credential>``)."""
    return await _image_response(request, credential_id, "svg")
