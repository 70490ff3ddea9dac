"""Render reports: Jinja2 templates -> HTML -> PDF (WeasyPrint).

    render(store, "annual", out="colombia-2020.pdf", year=2020, lang="es")

The HTML is self-contained (charts, maps and the subset fonts inlined as data: URIs) so it
can be mailed or served as it is: it names no file of the server. The PDF embeds subsets of
DejaVu Sans (Latin, Cyrillic, Greek, Arabic, Hebrew), taken from matplotlib's own copy, so
output does not depend on the fonts a machine happens to have.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import matplotlib

from mineaction.reports.i18n import translations
from mineaction.reports.kinds import REPORTS, all_params, names_text
from mineaction.store.base import Store

if TYPE_CHECKING:
    from mineaction.access.visibility import Access

TEMPLATES = Path(__file__).parent / "templates"
KINDS = tuple(REPORTS)  # the report kinds, declared in reports/kinds.py
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps"}


FONTS = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf",
         "italic": "DejaVuSans-Oblique.ttf"}


def font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=32)
def _font_subset_uri(name: str, text: frozenset[str]) -> str:
    """data: URI of font file `name` cut to the glyphs of `text` (a few tens of kB, where
    the whole font is 0.7 MB)."""
    from fontTools import subset

    options = subset.Options()
    options.layout_features = ["*"]  # keep kerning, ligatures, Arabic/Hebrew shaping
    options.drop_tables += ["FFTM"]
    quiet = logging.getLogger("fontTools")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        font = subset.load_font(io.BytesIO((font_dir() / name).read_bytes()), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(text)))
        subsetter.subset(font)
        buffer = io.BytesIO()
        subset.save_font(font, buffer, options)
    finally:
        quiet.setLevel(level)
    return "data:font/ttf;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _font_urls(embed_for: str | None) -> dict[str, str]:
    """The @font-face URLs: subsets inlined for the characters of `embed_for`, or (None) the
    font files on this machine, which only WeasyPrint here reads."""
    if embed_for is None:
        return {style: (font_dir() / name).as_uri() for style, name in FONTS.items()}
    text = frozenset(embed_for)
    return {style: _font_subset_uri(name, text) for style, name in FONTS.items()}


def environment(lang: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def build_context(store: Store, kind: str, *, lang: str = "en", image: str = "svg",
                  risk_model: Mapping[str, Any] | None = None, reader: Access | None = None,
                  **options: Any) -> dict[str, Any]:
    """The data report `kind` (a name in reports/kinds.py's REPORTS) shows, from its
    parameters in `options`; ParameterError (a ValueError) names one missing or wrong.
    `risk_model` (the meta `mineaction risk train` saved) and `reader` (the access of
    whom the report is for) reach the kinds that show the risk model; others ignore them,
    so a caller may pass them for any kind."""
    if kind not in REPORTS:
        raise ValueError(f"unknown report {kind!r}; choose from {names_text()}")
    unknown = set(options) - set(all_params())
    if unknown:
        raise TypeError(f"no report takes {', '.join(sorted(unknown))}")
    report = REPORTS[kind]
    extra = {"risk_model": risk_model, "reader": reader} if report.shows_risk_model else {}
    return report.build(store, lang=lang, image=image, **extra, **report.options(options))


def render_html(store: Store, kind: str, *, lang: str = "en", embed_fonts: bool | None = None,
                **options: Any) -> str:
    """The report as HTML. Its fonts are inlined (subset to the page's characters) unless
    `embed_fonts` is False; by default they are, except for the HTML of a PDF (image="png"),
    which WeasyPrint reads here from the font files. `options` are `build_context`'s."""
    if embed_fonts is None:
        embed_fonts = options.get("image", "svg") != "png"
    data = build_context(store, kind, lang=lang, **options)
    template = REPORTS[kind].template
    context = {**data, "lang": lang, "direction": "rtl" if lang in RTL_LANGUAGES else "ltr",
               "today": data["fmt"].date(date.today())}
    if not embed_fonts:
        return environment(lang).get_template(template).render(**context,
                                                               fonts=_font_urls(None))
    # Render once with placeholders, then inline each font cut to the page's characters.
    placeholders = {style: f"mineaction-font:{style}" for style in FONTS}
    html = environment(lang).get_template(template).render(**context, fonts=placeholders)
    for style, url in _font_urls(html).items():
        html = html.replace(placeholders[style], url)
    return html


def html_to_pdf(html: str, out: str | os.PathLike[str] | None = None) -> bytes | None:
    """HTML to PDF with WeasyPrint; writes `out` if given, else returns the bytes."""
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=str(TEMPLATES))
    if out is None:
        return document.write_pdf()
    document.write_pdf(os.fspath(out))
    return None


def render(store: Store, kind: str, out: str | os.PathLike[str], *, format: str = "pdf",
           lang: str = "en", **options: Any) -> Path:
    """Render report `kind` to `out` as "pdf" or "html"; returns the path written. The file
    is written whole or not at all (a temporary file moved into place)."""
    if format not in ("pdf", "html"):
        raise ValueError("format is 'pdf' or 'html'")
    html = render_html(store, kind, lang=lang, image="svg" if format == "html" else "png",
                       **options)
    target = Path(out)
    partial = target.with_name(f".{target.name}.partial")
    try:
        if format == "html":
            partial.write_text(html, encoding="utf-8")
        else:
            html_to_pdf(html, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
