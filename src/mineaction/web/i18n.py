# SPDX-License-Identifier: GPL-3.0-or-later
"""The web pages in six languages (issue 22): which language a request gets, and the
gettext callables, number and date filters the templates use.

One catalogue system for the whole project: the web's texts are the "web" domain of the
reports' gettext catalogues (reports/locales/LANG/LC_MESSAGES/web.po, refreshed and checked
by `python -m mineaction.reports.catalog`), compiled in memory by reports/i18n.py.

The language of a request: the `lang` cookie set by the header's language menu (users
have no language setting of their own), else the browser's Accept-Language negotiated
with Babel, else English. The callables read it from the template's `request`, so one
shared Jinja environment serves every language at once without any global state.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

from babel import Locale, dates, numbers
from babel.core import negotiate_locale
from babel.messages.extract import extract_from_file
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from mineaction.auth.next_path import safe_next
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import ServicesDep
from mineaction.reports.i18n import N_, translations
from mineaction.services.user_language import UserLanguage
from mineaction.web import STATIC
from mineaction.web.field_labels import VALUE_LABELS
from mineaction.web.forms import label_of
from mineaction.web.session import WhoDep

DOMAIN = "web"
SOURCE = "en"
# Each language under its own name (an autonym is never translated: a reader lost in a
# language they cannot read still finds theirs).
LANGUAGES = {"en": "English", "es": "Español", "az": "Azərbaycanca", "ru": "Русский",
             "uk": "Українська", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def report_languages() -> list[tuple[str, str]]:
    """The languages reports, certificates and site-check findings can be had in: the
    report catalogues on disk (reports/i18n.py), each under its name in the menu above (or
    Babel's, for a catalogue the pages lack), so the pages keep no list of their own (#22)."""
    from mineaction.reports.form_labels import language_name
    from mineaction.reports.i18n import available_languages

    return [(code, LANGUAGES.get(code) or language_name(code))
            for code in available_languages()]

router = APIRouter(include_in_schema=False)
_VALUE_WORDS = frozenset(VALUE_LABELS)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

# Values the pages show as words, translated with tr(): the kinds of record (singular and
# as list titles), workflow statuses, the users' and victims' roles and outcomes. Marked
# here so the catalogue extracts them; the domain keeps its codes in English.
VALUE_LABELS = (
    N_("victim"), N_("accident"), N_("hazard"), N_("activity"), N_("released part"),
    N_("find"), N_("risk education"), N_("admin area"), N_("place"), N_("organisation"),
    N_("source"), N_("minefield record"), N_("minefield point"), N_("mine row"),
    N_("Victims"), N_("Accidents"), N_("Hazards"), N_("Activities"), N_("Released parts"),
    N_("Finds"), N_("Risk education"), N_("Admin areas"), N_("Places"), N_("Organisations"),
    N_("Sources"), N_("Minefield records"), N_("Minefield points"), N_("Mine rows"),
    N_("draft"), N_("submitted"), N_("approved"), N_("rejected"),
    N_("admin"), N_("approver"), N_("editor"), N_("field"), N_("viewer"), N_("public"),
    N_("civilian"), N_("security forces"), N_("deminer"), N_("unknown"),
    N_("killed"), N_("injured"), N_("year"), N_("outcome"), N_("role"),
    N_("current"), N_("deleted"), N_("create"), N_("update"), N_("submit"), N_("approve"),
    N_("reject"), N_("import"), N_("delete"), N_("confirmed"),
)

# The published figures' metrics (domain/claims.py METRICS, "_" read as " ") and the
# precision of a statement's date.
CLAIM_LABELS = (
    N_("victims total"), N_("victims killed"), N_("victims injured"),
    N_("victims killed civilian"), N_("victims killed military"),
    N_("victims injured civilian"), N_("victims injured military"), N_("victims civilian"),
    N_("victims military"), N_("area released"), N_("area suspected"), N_("devices found"),
    N_("devices found ap mine"), N_("devices found av mine"), N_("devices found uxo"),
    N_("devices found ied"), N_("devices found cluster munition"), N_("devices found erw"),
    N_("devices found other"), N_("mines on handed map"), N_("mines estimated"),
    N_("map accuracy claimed"), N_("explosions outside mapped areas claimed"),
    N_("risk education beneficiaries"), N_("month"),
)
# Why the dashboard publishes no overlaps or estimate (analysis/by_source.py NOT_PUBLISHED
# and REFUSED, the same words: tests/web/test_i18n_catalogue.py compares them).
SOURCE_REASONS = (
    N_("not published: the overlaps include counts suppressed to protect the people behind "
       "them, which the estimate would give away"),
    N_("not published: the sources' counts, public on their own, would give away small "
       "overlaps between them"),
)
# The priority lists' criteria and presets (analysis/priorities.py CRITERIA, PRESETS).
PRIORITY_WORDS = (N_("Casualties"), N_("Blockages"), N_("Population"), N_("Reconstruction"),
                  N_("Risk"), N_("Cost"), N_("Humanitarian"), N_("Development"),
                  N_("Equal"))
# The reports menu's words (reports/kinds.py REPORTS: titles, summaries, parameters' labels
# and help; tests/web/test_i18n_catalogue.py checks that none is missing).
REPORT_TEXTS = (
    N_("Annual country report"), N_("Monthly operations report"), N_("Admin-area fact sheet"),
    N_("Map-accuracy report"),
    N_("Annual report in the layout of a Landmine Monitor country profile: casualties, "
       "contamination, land release, risk education, methods and sources."),
    N_("Monthly operations report: accidents, casualties, land release, finds, hazards "
       "opened and closed, risk education."),
    N_("One-page fact sheet for an admin area."),
    N_("How accurate were the minefield records an area received: records, devices found "
       "inside and outside recorded minefields, accidents outside them, accuracy per record, "
       "and a map (issue 18)."),
    N_("Admin area"), N_("Date from"), N_("Date to"), N_("Month"), N_("Year"),
    N_("Admin area pcode (and all under it)."), N_("Admin area pcode, e.g. 05."),
    N_("Calendar year reported on."), N_("Month reported on, YYYY-MM."),
    N_("Up to this year (default: all)."),
    N_("Finds and accidents from this date, YYYY-MM-DD."),
    N_("Finds and accidents up to this date, YYYY-MM-DD."),
)
# The Landmine Monitor's device groups of the dashboard's finds (analysis/dimensions.py).
DEVICE_GROUPS = (N_("antipersonnel mine"), N_("antivehicle mine"),
                 N_("cluster munition remnant"), N_("other erw"), N_("unspecified"))

def _accepted(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first ("az-AZ,az;q=0.9,en;q=0.5")."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.replace("_", "-")))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(cookie: str | None, accept_language: str | None,
                    user_setting: str | None = None) -> str:
    """A signed-in user's own setting, else the menu's choice in this browser, else the
    browser's best match, else English."""
    if user_setting in LANGUAGES:
        return user_setting
    if cookie in LANGUAGES:
        return cookie
    if accept_language:
        found = negotiate_locale(_accepted(accept_language), list(LANGUAGES), sep="-")
        if found:
            return found
    return SOURCE


def request_language(request: Request) -> str:
    lang = getattr(request.state, "ui_lang", None)
    if lang is None:
        lang = choose_language(request.cookies.get(COOKIE),
                               request.headers.get("accept-language"),
                               getattr(request.state, "user_language", None))
        request.state.ui_lang = lang
    return str(lang)


def note_user_language(request: Request, svc: Any, who: Any) -> None:
    """Before a page is worded: the signed-in user's own language, when they chose one."""
    if not who.is_public and not hasattr(request.state, "user_language"):
        request.state.user_language = UserLanguage(svc.store).get(who)


@cache
def _catalogue(lang: str) -> _gettext.NullTranslations:
    if lang == SOURCE:
        return _gettext.NullTranslations()
    return translations(lang, DOMAIN)


def _lang(context: Context) -> str:
    request = context.get("request")
    return request_language(request) if request is not None else SOURCE


@pass_context
def _gettext_in(context: Context, message: str) -> str:
    return _catalogue(_lang(context)).gettext(message)


@pass_context
def _ngettext_in(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(_lang(context)).ngettext(singular, plural, n)


@pass_context
def translate(context: Context, message: str | None) -> str:
    """A text that reaches the template as data, marked with N_ where it is defined
    (the header's menu, the map's layers); `_` would need a literal."""
    return "" if message is None else _catalogue(_lang(context)).gettext(message)


@pass_context
def field_label(context: Context, name: str) -> str:
    """A field's label (forms.label_of) in the page's language; field_labels.py marks them."""
    return _catalogue(_lang(context)).gettext(label_of(name))


# How a date known only to the month or the year is written (CLDR skeletons): "March
# 2021", "marzo de 2021", "mart 2021"; a day would claim a precision the record lacks.
_PRECISION_SKELETONS = {"month": "yMMMM", "year": "y"}


def date_precision_of(kind: str, record: dict[str, Any], field: str) -> str | None:
    """The precision `record` gives its `field`: its `date_precision` for the kind's main
    date (accidents and finds say whether their date is known to the day, month or year),
    None for any other field."""
    info = REGISTRY.get(kind)
    if info is None or field != info.primary_date:
        return None
    precision = record.get("date_precision")
    return precision if isinstance(precision, str) else None


@pass_context
def field_value(context: Context, value: object, precision: str | None = None) -> str:
    """A record's value as the page shows it: an enumeration's code in words of the page's
    language (field_labels.VALUE_LABELS), a date or a time in the language's form (a date
    of month or year `precision` as its month or year); other values as they are."""
    if isinstance(value, list | tuple):
        return ", ".join(field_value(context, v) for v in value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = value.isoformat()
    if precision in _PRECISION_SKELETONS and isinstance(value, str) \
            and ISO_DATE.fullmatch(value):
        return dates.format_skeleton(_PRECISION_SKELETONS[precision],
                                     date.fromisoformat(value),
                                     locale=Locale.parse(_lang(context)))
    if not isinstance(value, str):
        return "" if value is None else str(value)
    words = value.replace("_", " ")
    if words in _VALUE_WORDS:  # an enumeration's code, in words even in English
        return _catalogue(_lang(context)).gettext(words)
    translated = _catalogue(_lang(context)).gettext(words)
    if translated != words:
        return translated
    if ISO_DATE.fullmatch(value):
        return fmt_date(context, value, "long")
    if ISO_TIME.match(value):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return dates.format_datetime(moment, format="medium", tzinfo=moment.tzinfo,
                                     locale=Locale.parse(_lang(context)))
    return value


@pass_context
def fmt_number(context: Context, value: float | int | None, digits: int = 0) -> str:
    """A number in the page's language (1,234.5 / 1.234,5 / 1 234,5)."""
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return numbers.format_decimal(value, format=pattern, locale=Locale.parse(_lang(context)))


@pass_context
def fmt_count(context: Context, value: int | None) -> str:
    """A count, or a dash for one hidden from the public (small-count suppression)."""
    return "–" if value is None else fmt_number(context, int(value))


@pass_context
def fmt_percent(context: Context, value: float | None) -> str:
    if value is None:
        return "–"
    return numbers.format_percent(value, locale=Locale.parse(_lang(context)))


@pass_context
def fmt_area(context: Context, m2: float | None) -> str:
    if m2 is None or m2 != m2:  # NaN
        return ""
    units = _catalogue(_lang(context))
    return (f"{fmt_number(context, m2)} {units.gettext(N_('m²'))} "
            f"({fmt_number(context, m2 / 10_000, 2)} {units.gettext(N_('ha'))})")


@pass_context
def fmt_date(context: Context, value: date | datetime | str | None,
             format: str = "medium") -> str:  # noqa: A002 -- Babel's own name
    """A date (or an ISO text of one) as the page's language writes it."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return dates.format_date(value, format=format, locale=Locale.parse(_lang(context)))


@cache
def js_messages() -> tuple[str, ...]:
    """The texts the pages' scripts pass to t("..."), read from the scripts themselves."""
    found: set[str] = set()
    for path in sorted((STATIC / "js").glob("*.js")):
        for _, message, _, _ in extract_from_file("javascript", path, keywords={"t": None}):
            found.add(message if isinstance(message, str) else message[0])
    return tuple(sorted(found))


@pass_context
def js_strings(context: Context) -> dict[str, str]:
    """The scripts' texts in the page's language, embedded by base.html as JSON for
    common.js's t() (a data block: no inline script for the CSP to refuse)."""
    lang = _lang(context)
    if lang == SOURCE:
        return {}
    catalogue = _catalogue(lang)
    return {m: catalogue.gettext(m) for m in js_messages()}


@pass_context
def translator(context: Context) -> Callable[[str], str]:
    """The page language's gettext, for Python helpers that word their own labels
    (charts.py's bars)."""
    return _catalogue(_lang(context)).gettext


@pass_context
def page_language(context: Context) -> dict[str, Any]:
    lang = _lang(context)
    return {"code": lang, "dir": "rtl" if lang in RIGHT_TO_LEFT else "ltr",
            "name": LANGUAGES[lang], "choices": list(LANGUAGES.items())}


def install(env: Environment) -> None:
    """Give the web templates gettext (`_`, `{% trans %}`) and the locale filters."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext_in, _ngettext_in, newstyle=True)
    env.globals["tr"] = translate
    env.globals["js_strings"] = js_strings
    env.globals["page_language"] = page_language
    env.globals["translator"] = translator
    env.filters["tr"] = translate
    env.filters["label"] = field_label
    env.filters["value"] = field_value
    env.globals["date_precision_of"] = date_precision_of
    env.filters["num"] = fmt_number
    env.filters["count"] = fmt_count
    env.filters["pct"] = fmt_percent
    env.filters["area"] = fmt_area
    env.filters["date"] = fmt_date


@router.get("/web/lang/{code}")
def set_language(code: str, svc: ServicesDep, who: WhoDep, next: str = "/") -> Response:
    """The header's language menu: remember the choice in a cookie, and with a signed-in
    user (services/user_language.py, so it follows them to any browser), back to the
    page. A GET changes only a preference: a link from elsewhere can do no more than
    choose a language."""
    if code not in LANGUAGES:
        return PlainTextResponse(f"No language {code!r}; choose one of "
                                 f"{', '.join(LANGUAGES)}.", status_code=404)
    UserLanguage(svc.store).set(who, code)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="lax", httponly=False)
    return response
