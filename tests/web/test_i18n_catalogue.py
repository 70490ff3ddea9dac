# SPDX-License-Identifier: GPL-3.0-or-later
"""Every text of the web pages goes through a catalogue and every catalogue is complete
(issue 22): a text typed into a template outside `_()` / `{% trans %}`, or a msgid some
language lacks, fails here. Also the language choice (cookie, Accept-Language, English)
and the locale filters."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment

from mineaction.reports import catalog
from mineaction.web import WEB, i18n

TEMPLATES = WEB / "templates"
LANGUAGES = ("es", "az", "ru", "uk", "ar")
# What a page may show untranslated: names, abbreviations and units that every language
# writes the same way.
ALLOWED = ("mineaction", "PROMETHEE II", "PROMETHEE", "Kendall τ", "SHA", "CHA", "GeoJSON",
           "MapLibre", "OpenStreetMap", "sha256", "km²", "m²", "kB", "ha", "UTC", "CSV", "id",
           "PDF", "HTML")
TEXT_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
RAW = re.compile(r"<(style|script)\b[^>]*>.*?</\1>", re.S)
# The body's class names (base.html's bodyclass block) are no text.
CLASSES = re.compile(r"\{%\s*block bodyclass\s*%\}.*?\{%\s*endblock\s*%\}", re.S)
LETTER = re.compile(r"[^\W\d_]")


def _words_left(text: str) -> str:
    # a token of letters and digits is a code, not a word: 18N 591000, 18NVL 91000
    text = re.sub(r"\b\w*\d\w*\b", "", text)
    for allowed in sorted(ALLOWED, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(allowed)}(?!\w)", "", text)
    return text.strip()


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_data(self, data: str) -> None:
        if LETTER.search(_words_left(data)):
            self.found.append(data.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in TEXT_ATTRIBUTES and value and LETTER.search(_words_left(value)):
                self.found.append(f"{name}={value!r}")


def untranslated(source: str) -> list[str]:
    """The texts of a template that no gettext call or trans block wraps."""
    stripped = RAW.sub("", JINJA.sub("\x00", TRANS.sub("\x00", CLASSES.sub("", source))))
    parser = _Texts()
    parser.feed(stripped.replace("\x00", ""))
    parser.close()
    return parser.found


def test_the_checker_finds_a_bare_text_and_passes_wrapped_ones() -> None:
    assert untranslated('<p title="A hint">{{ _("Hello") }}</p>') == ["title='A hint'"]
    assert untranslated("<h1>Records</h1>") == ["Records"]
    assert untranslated('{% trans n=1 %}{{ n }} records{% endtrans %} <b>12 m²</b>') == []
    assert untranslated("<style>p { color: red }</style><p>{{ x }} ha</p>") == []
    assert untranslated('<input placeholder="18N 591000 677000">') == []


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_text_outside_the_catalogue(template: str) -> None:
    found = untranslated((TEMPLATES / template).read_text(encoding="utf-8"))
    assert not found, f"{template}: texts outside _() or {{% trans %}}: {found}"


def test_every_template_parses_with_the_i18n_extension() -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    for path in TEMPLATES.glob("*.html"):
        env.parse(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def web_template() -> object:
    return catalog.extract_web()


def test_the_web_catalogue_holds_the_pages_texts(web_template: object) -> None:
    ids = {m.id for m in web_template}  # type: ignore[attr-defined]
    # a template text, a label marked in Python, a script's t("...")
    assert {"Dashboard", "Records you can see", "Published figures"} <= ids
    assert set(i18n.js_messages()) <= ids
    assert i18n.js_messages(), "no t() text found in the scripts"


def test_every_field_label_is_marked() -> None:
    """Labels are made from field names at run time: field_labels.py lists them all."""
    from mineaction.domain.models import ENTITIES
    from mineaction.web.field_labels import FIELD_LABELS
    from mineaction.web.forms import label_of

    shown = {label_of(name) for model in ENTITIES.values() for name in model.model_fields}
    assert shown <= set(FIELD_LABELS), sorted(shown - set(FIELD_LABELS))
    from enum import Enum

    from mineaction.domain import enums
    from mineaction.web.field_labels import VALUE_LABELS

    values = {m.value.replace("_", " ") for e in vars(enums).values()
              if isinstance(e, type) and issubclass(e, Enum) and e is not enums.StrEnum
              for m in e if len(m.value) > 1 and m.value not in ("SHA", "CHA")}
    assert values <= set(VALUE_LABELS), sorted(values - set(VALUE_LABELS))


def test_the_reports_menu_words_are_in_the_catalogue() -> None:
    from mineaction.reports.kinds import REPORTS

    words = {w for k in REPORTS.values() for w in (k.title, k.summary)}
    words |= {w for k in REPORTS.values() for p in k.params for w in (p.label.capitalize(), p.help)}
    assert words <= set(i18n.REPORT_TEXTS), sorted(words - set(i18n.REPORT_TEXTS))


def test_the_priority_words_are_in_the_catalogue() -> None:
    from mineaction.analysis.priorities import CRITERIA, PRESETS

    words = {c.name.capitalize() for c in CRITERIA} | {p.capitalize() for p in PRESETS}
    assert words <= set(i18n.PRIORITY_WORDS), sorted(words - set(i18n.PRIORITY_WORDS))


def test_the_analysis_reasons_are_the_catalogue_s() -> None:
    from mineaction.analysis.by_source import NOT_PUBLISHED, REFUSED

    assert (NOT_PUBLISHED, REFUSED) == i18n.SOURCE_REASONS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_msgid_is_translated(web_template: object, lang: str) -> None:
    po = catalog.HERE / "locales" / lang / "LC_MESSAGES" / "web.po"
    assert po.is_file(), f"no web catalogue for {lang}"
    missing = catalog.missing(po, web_template)  # type: ignore[arg-type]
    assert not missing, f"{lang}: {len(missing)} untranslated, e.g. {missing[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    """A translation that drops or renames {{ n }} / {n} / %(n)s would show a blank."""
    po = catalog.HERE / "locales" / lang / "LC_MESSAGES" / "web.po"
    with po.open("rb") as f:
        messages = [m for m in read_po(f) if m.id and m.string]
    names = re.compile(r"%\((\w+)\)s|\{(\w+)\}")
    for m in messages:
        if isinstance(m.id, tuple):
            # plural forms: each may leave out the count it is chosen by ("one record")
            want = set(names.findall(m.id[1]))
            for form in m.string:
                assert set(names.findall(form)) <= want, f"{lang}: {m.id!r} -> {form!r}"
            continue
        want = sorted(names.findall(str(m.id)))
        got = sorted(names.findall(str(m.string)))
        assert want == got, f"{lang}: {m.id!r} -> {m.string!r}"


def test_plural_forms_follow_the_language() -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    i18n.install(env)
    page = env.from_string("{% trans count=n %}{{ count }} record done{% pluralize %}"
                           "{{ count }} records done{% endtrans %}")

    class Request:
        def __init__(self, lang: str) -> None:
            self.cookies = {"lang": lang}
            self.headers: dict[str, str] = {}
            self.state = type("State", (), {})()

    assert [page.render(n=n, request=Request("en")) for n in (1, 2)] == [
        "1 record done", "2 records done"]
    assert [page.render(n=n, request=Request("ru")) for n in (1, 3, 5, 21)] == [
        "1 запись обработана", "3 записи обработаны", "5 записей обработано",
        "21 запись обработана"]
    assert page.render(n=2, request=Request("ar")) == "أُنجز سجلان (2)"


def test_the_language_comes_from_the_cookie_then_the_browser_then_english() -> None:
    assert i18n.choose_language("ar", "es-ES,es;q=0.9") == "ar"
    assert i18n.choose_language(None, "de-DE,de;q=0.9,ru;q=0.8,en;q=0.5") == "ru"
    assert i18n.choose_language("xx", "az-AZ") == "az"
    assert i18n.choose_language(None, "de-DE, fr;q=0.5") == "en"
    assert i18n.choose_language(None, "uk;q=0, es;q=0.1") == "es"
    assert i18n.choose_language(None, None) == "en"


def test_numbers_and_dates_follow_the_language() -> None:
    env = Environment(extensions=["jinja2.ext.i18n"])
    i18n.install(env)

    class Request:  # only what request_language reads
        def __init__(self, lang: str) -> None:
            self.cookies = {"lang": lang}
            self.headers: dict[str, str] = {}
            self.state = type("State", (), {})()

    page = env.from_string("{{ 1234567.891|num(1) }}|{{ '2024-01-31'|date('long') }}|"
                           "{{ 12500|area }}|{{ _('Dashboard') }}|{{ 'worked_on'|value }}|"
                           "{{ '2021-03-04'|value }}|{{ 'Ağdam'|value }}")
    assert page.render(request=Request("en")) == (
        "1,234,567.9|January 31, 2024|12,500 m² (1.25 ha)|Dashboard|worked on|"
        "March 4, 2021|Ağdam")
    es = page.render(request=Request("es")).split("|")
    assert es[0] == "1.234.567,9" and es[1] == "31 de enero de 2024" and es[3] == "Panel"
    assert es[4:] == ["en curso de intervención", "4 de marzo de 2021", "Ağdam"]
    ru = page.render(request=Request("ru")).split("|")
    assert ru[0] == "1\xa0234\xa0567,9" and "января" in ru[1]
    assert page.render(request=Request("ar")).split("|")[3] != "Dashboard"


def test_the_language_menu_sets_the_cookie(tmp_path: Path) -> None:
    import anyio
    import httpx

    from mineaction.app import create_app
    from mineaction.services.settings import load_settings
    from mineaction.web import mount_web

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            answer = await c.get("/web/lang/ar?next=/dashboard")
            assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
            assert "lang=ar" in answer.headers["set-cookie"]
            page = (await c.get("/dashboard")).text
            assert '<html lang="ar" dir="rtl">' in page and "لوحة المعلومات" in page
            assert (await c.get("/web/lang/xx")).status_code == 404
            # elsewhere than this site: back home, as the sign-in's next
            away = await c.get("/web/lang/es?next=//evil.example")
            assert away.headers["location"] == "/"
            c.cookies.clear()
            page = (await c.get("/login", headers={"Accept-Language": "uk-UA,uk;q=0.9"})).text
            assert '<html lang="uk" dir="ltr">' in page and "Увійти" in page
            page = (await c.get("/login", headers={"Accept-Language": "de"})).text
            assert '<html lang="en" dir="ltr">' in page

    anyio.run(run)
