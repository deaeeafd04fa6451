"""The pages' languages: text marked for translation, and each request's language.

Templates translate their own text ({% trans %}, ``_()``). Labels defined in Python and shown
by a template (navigation sections, a credential's status banner, a report's titles) are marked
with :func:`N_` where they are defined, so the catalogue's extraction finds them, and translated
where the page shows them (``{{ _(item.label) }}``, or :meth:`Language.text` in Python).

The catalogues are gettext ``.mo`` files in Babel's layout,
``<locale dir>/<language>/LC_MESSAGES/messages.mo``, read once with the standard library. A
request's language is, in order: the ``lang`` cookie the language chooser sets, else the best
of its ``Accept-Language`` header among the catalogues, else English, the text as written.
With no catalogue installed every request is English and nothing is read or parsed.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from charter.core.i18n import N_

__all__ = [
    "COOKIE",
    "N_",
    "SOURCE",
    "Catalogues",
    "Language",
    "catalogues",
    "parse_accept_language",
    "use_locale_dir",
]

LOCALE_DIR = Path(__file__).parent / "locale"
"""Where the pages' catalogues are installed (``messages.pot`` is their template)."""
DOMAIN = "messages"
COOKIE = "lang"
"""The cookie that keeps a reader's chosen language (the tag, as ``de`` or ``pt-BR``)."""
COOKIE_MAX_AGE = 365 * 24 * 3600

# Each language's name in itself, for the chooser; a language not named here shows its tag.
NAMES = {
    "ar": "العربية",
    "cs": "Čeština",
    "da": "Dansk",
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fi": "Suomi",
    "fr": "Français",
    "it": "Italiano",
    "ja": "日本語",
    "ko": "한국어",
    "nb": "Norsk bokmål",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "pt-br": "Português (Brasil)",
    "sv": "Svenska",
    "tr": "Türkçe",
    "uk": "Українська",
    "zh": "中文",
}

# RFC 9110 §12.5.4 / RFC 4647: a language range and its weight.
_RANGE = re.compile(r"^(\*|[a-z]{1,8}(-[a-z0-9]{1,8})*)$")
_QVALUE = re.compile(r"^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$")
MAX_RANGES = 20
"""Ranges read from one header; browsers send a handful, the rest is ignored."""
MAX_HEADER = 1000


def parse_accept_language(header: str) -> list[str]:
    """The acceptable language ranges of an ``Accept-Language`` value, most wanted first.

    Ranges are lower-cased; those weighted ``q=0`` (not acceptable) and malformed ones are
    dropped; ranges of equal weight keep the header's order.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header[:MAX_HEADER].split(",")[:MAX_RANGES]):
        tag, *params = (part.strip() for part in item.split(";"))
        tag = tag.lower()
        if not _RANGE.match(tag):
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QVALUE.match(value) else -1.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _new_gettext(func: Callable[[str], str]) -> Callable[..., str]:
    """Jinja's new-style ``gettext`` over ``func``: what it substitutes is escaped."""

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        translated = __context.call(func, __string)
        if __context.eval_ctx.autoescape:
            translated = Markup(translated)  # noqa: S704 - the catalogue's text is page markup
        return translated % variables  # type: ignore[no-any-return]

    return gettext


def _new_ngettext(func: Callable[[str, str, int], str]) -> Callable[..., str]:
    """Jinja's new-style ``ngettext`` over ``func``: ``num`` is the count unless given."""

    @pass_context
    def ngettext(
        __context: Context, __singular: str, __plural: str, __num: int, **variables: Any
    ) -> str:
        variables.setdefault("num", __num)
        translated = __context.call(func, __singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            translated = Markup(translated)  # noqa: S704 - the catalogue's text is page markup
        return translated % variables  # type: ignore[no-any-return]

    return ngettext


@dataclass(frozen=True, slots=True, eq=False)
class Language:
    """One language pages are shown in: its tag, its catalogue and the templates' callables."""

    tag: str
    """As ``<html lang>`` and ``Content-Language`` write it (BCP 47: ``de``, ``pt-BR``)."""
    translations: gettext.NullTranslations
    template_functions: Mapping[str, Callable[..., str]] = field(default_factory=dict)
    """``gettext`` and ``ngettext`` for a template's context, and ``translate``: the plain
    lookup for a text that may carry data (an error's detail), which substitutes nothing;
    empty for the source text, whose are the environment's."""

    @classmethod
    def of(cls, tag: str, translations: gettext.NullTranslations) -> Language:
        """``tag`` read with ``translations``."""
        functions = {
            "gettext": _new_gettext(translations.gettext),
            "ngettext": _new_ngettext(translations.ngettext),
            "translate": translations.gettext,
        }
        return cls(tag, translations, functions)

    @property
    def name(self) -> str:
        """The language's name in itself, for the chooser."""
        return NAMES.get(self.tag.lower()) or NAMES.get(self.tag.split("-")[0].lower(), self.tag)

    def text(self, message: str) -> str:
        """``message`` (marked with :func:`N_`) in this language; unknown text as it is.

        Nothing is substituted: text carrying data is translated as a format, then filled.
        """
        return self.translations.gettext(message)

    def filled(self, message: str, values: Mapping[str, object]) -> str:
        """The format ``message`` in this language, filled with ``values``; as written when
        its translation does not take them (a broken catalogue never breaks a page)."""
        try:
            return self.translations.gettext(message) % values
        except (KeyError, ValueError, TypeError):
            return message % values

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The form of ``singular``/``plural`` for ``count`` in this language (not filled).

        Named as gettext's, so the catalogue's extraction finds the pair where it is called.
        """
        return self.translations.ngettext(singular, plural, count)


SOURCE = Language("en", gettext.NullTranslations())
"""English, the text as written: templates keep the environment's null translations."""


class Catalogues:
    """The languages found in a locale directory, each catalogue read once."""

    def __init__(self, directory: Path | None) -> None:
        self.by_tag: dict[str, Language] = {SOURCE.tag: SOURCE}
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")) if directory else []:
            tag = path.parents[1].name.replace("_", "-")
            if not _RANGE.match(tag.lower()) or tag == "*":
                continue
            with path.open("rb") as file:
                self.by_tag[tag.lower()] = Language.of(tag, gettext.GNUTranslations(file))
        # A range names its language and every variant of it (RFC 4647 basic filtering):
        # "de" is served by "de-AT" when there is no "de" catalogue.
        self._prefixes: dict[str, Language] = {}
        for key, language in sorted(self.by_tag.items()):
            parts = key.split("-")
            for end in range(len(parts) - 1, 0, -1):
                self._prefixes.setdefault("-".join(parts[:end]), language)
        self._negotiated: dict[str, Language] = {}
        self.default = self.by_tag[SOURCE.tag]
        """English: the source text, or a catalogue rewording it if one is installed."""
        self.languages = tuple(sorted(self.by_tag.values(), key=lambda language: language.tag))
        self.several = len(self.languages) > 1

    def get(self, tag: str | None) -> Language | None:
        """The language ``tag`` names exactly (case aside), if there is a catalogue of it."""
        return self.by_tag.get(tag.lower()) if tag else None

    def negotiate(self, header: str | None) -> Language:
        """The best language for an ``Accept-Language`` value; English when none fits."""
        if not header or not self.several:
            return self.default
        found = self._negotiated.get(header)
        if found is None:
            found = self._best(parse_accept_language(header))
            if len(self._negotiated) >= 1000:  # a bound on what odd headers can make it keep
                self._negotiated.clear()
            self._negotiated[header] = found
        return found

    def _best(self, ranges: list[str]) -> Language:
        for wanted in ranges:
            if wanted == "*":
                return self.default
            # The range itself, then its language and variants (de-CH is served by de).
            parts = wanted.split("-")
            for end in range(len(parts), 0, -1):
                prefix = "-".join(parts[:end])
                found = self.by_tag.get(prefix) or self._prefixes.get(prefix)
                if found is not None:
                    return found
        return self.default

    def choose(self, cookie: str | None, accept_language: str | None) -> Language:
        """A request's language: its chosen one (the cookie), else the header's best."""
        if not self.several:
            return SOURCE
        return self.get(cookie) or self.negotiate(accept_language)


_catalogues: Catalogues | None = None
_locale_dir: Path | None = LOCALE_DIR


def catalogues() -> Catalogues:
    """The installed catalogues, read on first use."""
    global _catalogues  # noqa: PLW0603 - read once, on first use
    if _catalogues is None:
        _catalogues = Catalogues(_locale_dir)
    return _catalogues


@contextmanager
def use_locale_dir(directory: Path | None) -> Iterator[Catalogues]:
    """Read the catalogues from ``directory`` meanwhile (tests); the installed ones after."""
    global _catalogues, _locale_dir
    saved = _catalogues, _locale_dir
    _locale_dir, _catalogues = directory, None
    try:
        yield catalogues()
    finally:
        _catalogues, _locale_dir = saved
