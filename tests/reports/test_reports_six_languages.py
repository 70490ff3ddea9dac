# SPDX-License-Identifier: GPL-3.0-or-later
"""Reports, site-check certificates and field forms in every language of the web pages
(issue 22): each `messages` catalogue translates every message the code has, with the same
placeholders; the annual report and a certificate in Azerbaijani and Arabic show no English
message of the catalogue, Arabic right to left, in fonts embedded in the PDF; the field
forms carry filled Azerbaijani and Arabic label columns.

The catalogue test fails for a language until its catalogue is complete: that is its job.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from shapely.geometry import box
from typer.testing import CliRunner

from mineaction.access.roles import PUBLIC
from mineaction.cli import app
from mineaction.domain.models import Accident, Activity, Hazard, Organisation, ReleasedPart
from mineaction.reports import catalog
from mineaction.reports.i18n import available_languages, translations
from mineaction.reports.render import render, render_html
from mineaction.services.certificates import Certificates
from mineaction.store import Store, open_store
from mineaction.web.i18n import LANGUAGES as WEB_LANGUAGES

TRANSLATED = ["es", "az", "ru", "uk", "ar"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}|%%")
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
LON, LAT = -75.0, 6.0


# pdftotext writes a lam-alef ligature's two letters in either order in right-to-left lines
# ("للأعمال" comes out "لألعمال"): PDF text is compared without lam and the alefs
LAM_ALEF = re.compile("[\u0644\u0622\u0623\u0625\u0627]")


def _pdf_words(text: str) -> str:
    return LAM_ALEF.sub("", BIDI_MARKS.sub("", text))


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.fixture(scope="module")
def template() -> Catalog:
    """Every message the code marks today (the same extraction as messages.pot)."""
    return catalog.extract()


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalogue_translates_every_message(lang: str, template: Catalog) -> None:
    po = catalog.HERE / "locales" / lang / "LC_MESSAGES" / "messages.po"
    assert po.is_file(), f"{po} missing"
    with po.open("rb") as f:
        translated = read_po(f, locale=lang)
    # the plural rule of the header is CLDR's for the language (Arabic 6 forms, az 2)
    assert translated.num_plurals == Catalog(locale=lang).num_plurals
    assert translated.plural_expr == Catalog(locale=lang).plural_expr
    problems = []
    for message in template:
        if not message.id:
            continue
        found = translated.get(message.id)
        if found is None or not found.string or found.fuzzy:
            problems.append(f"untranslated: {message.id!r}")
        elif _placeholders(str(found.string)) != _placeholders(str(message.id)):
            problems.append(f"placeholders differ: {message.id!r} -> {found.string!r}")
    assert problems == [], f"{lang}: {len(problems)} problems, e.g. {problems[:5]}"


def test_every_web_language_is_a_report_language() -> None:
    """One set of languages: the web pages' menu and the report catalogues on disk."""
    for lang in ("es", "az", "ar"):
        assert lang in available_languages()
        assert lang in WEB_LANGUAGES


# -- no English left ------------------------------------------------------------------------

class _Text(HTMLParser):
    """The text a reader sees: text nodes outside <style> and <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("style", "script")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("style", "script")

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.nodes.append(" ".join(data.split()))


def _english_left(texts: list[str], lang: str, template: Catalog) -> list[str]:
    """Texts that are an English message of the catalogue, or hold a long piece of one,
    where the language's translation differs from the English."""
    gettext = translations(lang).gettext
    found = []
    for message in template:
        english = str(message.id)
        if not english or gettext(english) == english:
            continue
        pieces = [p.replace("%%", "%").strip() for p in PLACEHOLDER.split(english)]
        longest = max(pieces, key=len)
        whole = english.replace("%%", "%")
        for text in texts:
            if text == whole or (len(longest) >= 12 and longest in text):
                found.append(f"{text[:60]!r} <- {english[:60]!r}")
    return found


def _visible(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


def _poppler(*args: str) -> str:
    if not shutil.which(args[0]):
        pytest.fail(f"{args[0]} missing: install Debian's poppler-utils", pytrace=False)
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("lang", ["az", "ar"])
def test_annual_report_html_has_no_english_left(colombia_gpkg: Store, lang: str,
                                                template: Catalog) -> None:
    html = render_html(colombia_gpkg, "annual", year=2020, lang=lang)
    t = translations(lang).gettext
    direction = "rtl" if lang == "ar" else "ltr"
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert t("Mine action annual report") in html and t("Key figures") in html
    texts = _visible(html)
    assert len(texts) > 100
    assert _english_left(texts, lang, template) == []


@pytest.mark.parametrize(("lang", "letters"), [("az", "əğış"), ("ar", "إصابات"), ("ru", "")])
def test_annual_report_pdf_is_in_the_language_with_embedded_fonts(
        colombia_gpkg: Store, tmp_path: Path, lang: str, letters: str,
        template: Catalog) -> None:
    out = tmp_path / f"annual-{lang}.pdf"
    render(colombia_gpkg, "annual", out, year=2020, lang=lang)
    raw = _poppler("pdftotext", str(out), "-")
    # the letters come out as the letters (a font that has them, not boxes or a fallback)
    assert all(letter in raw for letter in letters), letters
    text = _pdf_words(raw)
    t = translations(lang).gettext
    assert _pdf_words(t("Mine action annual report")) in text
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    assert _english_left(lines, lang, template) == []
    fonts = [line.split() for line in _poppler("pdffonts", str(out)).splitlines()[2:]]
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts  # every font embedded
    if lang == "ar":
        _assert_shaped_right_to_left(out)


def _assert_shaped_right_to_left(pdf: Path) -> None:
    """Arabic joined and laid out right to left, as a reader sees the page: the embedded
    fonts hold the letters' contextual forms (only shaping picks them: lam's initial form
    U+FEDF, alef's final form U+FE8E), and the title's first word is right of its second."""
    from fontTools.ttLib import TTFont

    used: set[str] = set()
    data = pdf.read_bytes()
    for start in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", start.end())
        try:
            raw = zlib.decompress(data[start.end():end])
        except zlib.error:
            continue
        if raw[:4] == b"\x00\x01\x00\x00":  # a TrueType font (WeasyPrint's subsets)
            # the subsets keep glyph ids; the glyphs not used are renamed glyphNNNNN
            used |= {name for name in TTFont(io.BytesIO(raw)).getGlyphOrder()
                     if not name.startswith("glyph")}
    assert {"uniFEDF", "uniFE8E"} <= used, sorted(n for n in used if n.startswith("uniFE"))
    # pdftotext -bbox gives words in the page's order, letters as drawn (left to right)
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]+)</word>',
                       _poppler("pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"))
    at = {text: (float(x), float(y)) for x, y, text in reversed(words)}  # the first of each
    first, second = "التقرير"[::-1], "السنوي"[::-1]  # the title's first two words
    assert first in at and second in at, words[:12]
    assert at[first][1] == at[second][1] and at[first][0] > at[second][0]


# -- site-check certificate -------------------------------------------------------------------

@pytest.fixture(scope="module")
def site_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A hazard over part of the site, land cleared on it and an accident 1 km away."""
    store = open_store(tmp_path_factory.mktemp("six") / "site.gpkg")
    key = iter(range(100))

    def k() -> dict[str, str]:
        return {"status": "approved", "dataset": "t", "external_id": f"r{next(key)}"}

    org = store.add(Organisation(name="NGO", organisation_kind="ngo", **k()))
    on = store.add(Hazard(name="H-on", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON + 0.0006, LAT, LON + 0.002, LAT + 0.001), **k()))
    act = store.add(Activity(name="clearance", activity_kind="clearance",
                             activity_status="completed", hazard_id=on.id,
                             organisation_id=org.id, **k()))
    store.add(ReleasedPart(activity_id=act.id, method="cleared", release_date=date(2023, 5, 1),
                           geometry=box(LON - 0.001, LAT, LON + 0.0005, LAT + 0.001), **k()))
    store.add(Accident(accident_date=date(2014, 3, 2), geometry=box(
        LON + 0.01, LAT, LON + 0.01001, LAT + 0.00001).centroid, accident_kind="mine", **k()))
    yield store
    store.close()


@pytest.mark.parametrize("lang", ["az", "ar"])
def test_site_check_certificate_in_the_language(site_store: Store, tmp_path: Path, lang: str,
                                                template: Catalog) -> None:
    certs = Certificates(site_store)
    made = certs.issue(PUBLIC, box(LON, LAT, LON + 0.001, LAT + 0.001), lang=lang)
    html = certs.html(made["id"])
    t = translations(lang).gettext
    assert f'dir="{"rtl" if lang == "ar" else "ltr"}"' in html
    assert t("Site check certificate") in html
    texts = _visible(html)
    # the findings are worded in the language: the hazard on the site, the land cleared
    assert any("H-on" in x for x in texts)
    assert any(t("cleared") in x for x in texts)
    assert _english_left(texts, lang, template) == []
    pdf = tmp_path / f"certificate-{lang}.pdf"
    pdf.write_bytes(certs.pdf(made["id"]))
    text = _pdf_words(_poppler("pdftotext", str(pdf), "-"))
    assert _pdf_words(t("Site check certificate")) in text


# -- field forms --------------------------------------------------------------------------------

def test_field_forms_have_azerbaijani_and_arabic_labels(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["forms", "build", "--out", str(tmp_path / "forms"),
                                      "--form", "accident", "--language", "az",
                                      "--language", "ar"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(tmp_path / "forms" / "accident.xlsx", read_only=True)
    for sheet_name in ("survey", "choices"):
        rows = list(book[sheet_name].iter_rows(values_only=True))
        header = [str(c or "") for c in rows[0]]
        labels = {lang: header.index(next(h for h in header
                                          if h.startswith("label::") and h.endswith(f"({lang})")))
                  for lang in ("en", "az", "ar")}
        filled = [r for r in rows[1:] if r[labels["en"]]]
        assert filled, sheet_name
        for row in filled:
            english = str(row[labels["en"]])
            for lang in ("az", "ar"):
                text = row[labels[lang]]
                assert text, f"{sheet_name}: no {lang} label for {english!r}"
                gettext = translations(lang).gettext
                if gettext(english) != english:  # a label of the catalogue: translated
                    assert text == gettext(english), (sheet_name, english, text)
        # Arabic labels are Arabic: most of them hold Arabic letters
        arabic = [r[labels["ar"]] for r in filled if re.search("[\u0600-\u06ff]",
                                                               str(r[labels["ar"]]))]
        assert len(arabic) >= 0.8 * len(filled), sheet_name


# -- the site check page --------------------------------------------------------------------

def test_site_check_page_offers_every_report_language(tmp_path: Path) -> None:
    """The page's language menu is the report catalogues on disk, each under the header
    menu's name, and the findings come back in the chosen one."""
    import anyio
    import httpx

    from mineaction.app import create_app
    from mineaction.services.settings import load_settings
    from mineaction.web import mount_web

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    with open_store(tmp_path / "s.gpkg") as store:
        store.add(Hazard(name="H-on", hazard_kind="CHA", hazard_status="open",
                         geometry=box(LON, LAT, LON + 0.001, LAT + 0.001), dataset="t",
                         external_id="h1", status="approved"))
    app = create_app(settings)
    mount_web(app, settings)
    site = {"type": "Point", "coordinates": [LON + 0.0005, LAT + 0.0005]}

    async def run() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://testserver") as c:
            c.cookies.set("lang", "ar")
            page = (await c.get("/site-check")).text
            menu = page[page.index('<select id="lang"'):]
            menu = menu[:menu.index("</select>")]
            offered = re.findall(r'<option value="([a-z]+)"( selected)?>([^<]+)</option>', menu)
            assert [code for code, _, _ in offered] == available_languages()
            assert {code: name for code, _, name in offered} == {
                code: WEB_LANGUAGES[code] for code in available_languages()}
            assert [code for code, chosen, _ in offered if chosen] == ["ar"]
            for lang in ("az", "ar"):
                answer = await c.post("/web/api/site-check", json={"geometry": site,
                                                                    "lang": lang})
                assert answer.status_code == 200, answer.text
                words = str(answer.json())
                assert translations(lang).gettext(
                    "This is what the records held in this system say; it is not a "
                    "statement that the land is free of explosive ordnance. The absence "
                    "of a record is not evidence of absence.") in words
                assert "H-on" in words and "lies in recorded hazard" not in words

    anyio.run(run)


def test_arabic_chart_labels_are_shaped() -> None:
    """matplotlib (3.11, libraqm) joins Arabic letters in charts: the SVG's glyphs (named
    by glyph id) include the contextual forms (U+FExx), where unshaped text would use
    only the isolated letters (U+06xx)."""
    from fontTools.ttLib import TTFont

    from mineaction.reports import charts
    from mineaction.reports.render import font_dir

    years = [{"year": 2019, "killed": 3, "injured": 4, "unknown_outcome": 0},
             {"year": 2020, "killed": 2, "injured": 1, "unknown_outcome": 1}]
    svg = charts.save(charts.casualties_per_year(years, None, translations("ar").gettext),
                      "svg").decode()
    order = TTFont(font_dir() / "DejaVuSans.ttf").getGlyphOrder()
    used = {order[int(gid, 16)] for gid in re.findall(r'id="DejaVuSans-([0-9a-f]+)"', svg)}
    assert {"uniFE8E", "uniFEE4"} <= used, sorted(used)  # alef final, meem medial
