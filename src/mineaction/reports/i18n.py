"""Translations and locale-aware formatting for reports.

Every piece of report text is a gettext message: in templates `_("...")`, in Python
`gettext(...)` or the `N_` marker for labels defined before a language is chosen. The
catalogues are the .po files under locales/ (messages.pot is their template; refresh both
with `python -m mineaction.reports.catalog`). They are compiled in memory when first used
(Babel reads the .po and writes the .mo to a buffer), so no build step and no compiled
files are needed: a fresh `pip install -e .` renders every shipped language.
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date
from functools import cache, lru_cache

from babel import Locale, dates, numbers
from babel.support import Translations

from mineaction.reports.catalogue_files import SOURCE_LANGUAGE as SOURCE_LANGUAGE
from mineaction.reports.catalogue_files import catalogue_languages, compiled


def N_(message: str) -> str:  # noqa: N802 -- the gettext convention for "mark, don't translate"
    return message


def available_languages(domain: str = "messages") -> list[str]:
    """The source language and every language with a catalogue of `domain`."""
    return [SOURCE_LANGUAGE, *catalogue_languages(domain)]


@cache
def translations(lang: str, domain: str = "messages") -> _gettext.NullTranslations:
    """The catalogue for `lang` (e.g. "es"), compiled in memory; English is the source.
    `domain` is the catalogue's surface: "messages" for reports, "web" for the web
    pages (issue 22), each a .po file beside the other in locales/LANG/LC_MESSAGES/."""
    if lang == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    buffer = compiled(lang, domain)
    if buffer is None:
        surface = "report" if domain == "messages" else domain
        raise ValueError(f"no {surface} translation for {lang!r}; available: "
                         f"{', '.join(available_languages(domain))}")
    return Translations(fp=buffer)


@cache
def _decimal_pattern(digits: int) -> numbers.NumberPattern:
    """The grouped pattern with `digits` decimals, parsed once: Babel parses a pattern
    string on every format_decimal, most of a site check's wording time (issue 20)."""
    return numbers.parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


@lru_cache(maxsize=1 << 14)
def _number(lang: str, digits: int, shown: str, value: float | int) -> str:
    """`value` formatted with `digits` decimals in `lang`, each once: a site check words
    a few counts and distances, and Babel's formatting of each was a twentieth of its
    CPU (issue 20). `shown` (the value's repr) keeps apart what Python counts equal and
    Babel formats apart (-0.0 and 0.0; 1 and 1.0 already differ by type)."""
    return _decimal_pattern(digits).apply(value, Locale.parse(lang))


class Formatter:
    """Numbers, percentages, areas and dates in one language's conventions (CLDR, via
    Babel): 1,224 in English is 1.224 in Spanish."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.gettext = translations(lang).gettext  # first: refuses a language we lack
        self.locale = Locale.parse(lang)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        return _number(self.lang, digits, repr(value), value)

    def pct(self, value: float | None) -> str:
        return "–" if value is None else self.number(value, 1) + " %"

    def change(self, value: float | None) -> str:
        if value is None:
            return "–"
        sign = "+" if value > 0 else ""
        return sign + self.number(value, 1) + " %"

    def hectares(self, m2: float | None) -> str:
        return "–" if m2 is None else self.number(m2 / 10_000, 1) + " ha"

    def km2(self, m2: float | None) -> str:
        return "–" if m2 is None else self.number(m2 / 1_000_000, 2) + " km²"

    def date(self, value: date | None) -> str:
        return "–" if value is None else dates.format_date(value, format="long",
                                                            locale=self.locale)

    def month(self, value: date) -> str:
        # The CLDR skeleton picks each language's own pattern ("June 2020", "junio de 2020").
        return dates.format_skeleton("yMMMM", value, locale=self.locale)
