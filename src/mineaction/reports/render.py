"""Render reports: Jinja2 templates -> HTML -> PDF (WeasyPrint).

    render(store, "annual", out="colombia-2020.pdf", year=2020, lang="es")

The HTML is self-contained (charts and maps inlined as data: URIs) so it can be mailed or
served as it is. The PDF embeds subsets of DejaVu Sans (Latin, Cyrillic, Greek, Arabic,
Hebrew), taken from matplotlib's own copy, so output does not depend on the fonts a
machine happens to have.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import matplotlib

from mineaction.reports.i18n import translations
from mineaction.reports.kinds import REPORTS, all_params, names_text
from mineaction.store.base import Store

TEMPLATES = Path(__file__).parent / "templates"
KINDS = tuple(REPORTS)  # the report kinds, declared in reports/kinds.py
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps"}


def font_dir() -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


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
                  **options: Any) -> dict[str, Any]:
    """The data report `kind` (a name in reports/kinds.py's REPORTS) shows, from its
    parameters in `options`; ParameterError (a ValueError) names one missing or wrong."""
    if kind not in REPORTS:
        raise ValueError(f"unknown report {kind!r}; choose from {names_text()}")
    unknown = set(options) - set(all_params())
    if unknown:
        raise TypeError(f"no report takes {', '.join(sorted(unknown))}")
    report = REPORTS[kind]
    return report.build(store, lang=lang, image=image, **report.options(options))


def render_html(store: Store, kind: str, *, lang: str = "en", **options: Any) -> str:
    data = build_context(store, kind, lang=lang, **options)
    env = environment(lang)
    return env.get_template(REPORTS[kind].template).render(
        **data, lang=lang, direction="rtl" if lang in RTL_LANGUAGES else "ltr",
        font_dir=font_dir().as_uri(), today=data["fmt"].date(date.today()))


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
