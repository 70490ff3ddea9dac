"""Reports rendered to PDF and HTML in English and Spanish; the PDF's text (pdftotext)
carries the key figures, counted independently from the register with pandas."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from mineaction.reports.render import render, render_html
from mineaction.store import Store

REGISTER = Path(__file__).parents[2] / "data/colombia/aicma_victims_register_2021-06.csv"


@pytest.fixture(scope="module")
def register_2020() -> pd.DataFrame:
    frame = pd.read_csv(REGISTER, dtype=str)
    return frame[frame["ano"] == "2020"]


def pdf_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", text)


def pdf_fonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


@pytest.mark.parametrize("lang,words", [
    ("en", ["Mine action annual report", "Key figures", "casualties in 2020", "killed",
            "Methods, sources and caveats", "Projection, not a prediction"]),
    ("es", ["Informe anual de acción contra minas", "Cifras clave", "víctimas en 2020",
            "muertos", "Métodos, fuentes y advertencias", "Proyección, no predicción"]),
])
def test_annual_report_pdf_has_the_key_figures(colombia_gpkg: Store, register_2020: pd.DataFrame,
                                               tmp_path: Path, poppler: None, lang: str,
                                               words: list[str]) -> None:
    out = render(colombia_gpkg, "annual", tmp_path / f"colombia-2020-{lang}.pdf", year=2020,
                 lang=lang)
    text = pdf_text(out)
    total = len(register_2020)
    killed = (register_2020["estado"] == "Muerto").sum()
    injured = (register_2020["estado"] == "Herido").sum()
    assert (total, killed, injured) == (173, 23, 150)
    assert f"{total}\n" in text or f"{total} " in text
    sentence = {"en": f"In 2020, {total} casualties of mines and explosive remnants of war "
                      f"were recorded: {killed} people were killed and {injured} injured.",
                "es": f"En 2020 se registraron {total} víctimas de minas y restos explosivos "
                      f"de guerra: {killed} personas murieron y {injured} resultaron heridas."}
    assert sentence[lang] in " ".join(text.split())
    for word in words:
        assert word in text, word
    assert "Colombia" in text
    # Every font is embedded (and subset): the PDF prints the same anywhere.
    fonts = pdf_fonts(out)
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts
    # Pages turn into images (what docs/examples holds).
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", str(out),
                    str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))


def test_numbers_follow_the_language(colombia_gpkg: Store) -> None:
    en = render_html(colombia_gpkg, "annual", year=2006, lang="en")
    es = render_html(colombia_gpkg, "annual", year=2006, lang="es")
    assert "1,224" in en and "1.224" in es  # the 2006 total, in each locale's digits
    assert 'lang="es"' in es and "Víctimas por año" in es


def test_factsheet_is_one_page(colombia_gpkg: Store, tmp_path: Path, poppler: None) -> None:
    out = render(colombia_gpkg, "factsheet", tmp_path / "antioquia.pdf", admin_area="05")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    register = pd.read_csv(REGISTER, dtype=str)
    antioquia = (register["codigodanemunicipio"].str.zfill(5).str[:2] == "05").sum()
    assert f"{antioquia:,}" in pdf_text(out)


def test_monthly_report_lists_the_months_accidents(colombia_gpkg: Store, tmp_path: Path) -> None:
    out = render(colombia_gpkg, "monthly", tmp_path / "june.html", format="html",
                 month=date(2020, 6, 1), lang="es")
    html = out.read_text(encoding="utf-8")
    register = pd.read_csv(REGISTER, dtype=str)
    june = register[(register["ano"] == "2020") & (register["mes"] == "6")]
    assert "junio de 2020" in html
    assert f"<b>{len(june)}</b><span>víctimas</span>" in html


def test_land_release_and_hazards_appear(landrelease_gpkg: Store) -> None:
    html = render_html(landrelease_gpkg, "annual", year=2019, lang="en")
    assert "Land released by organisation" in html and "DNGO" in html
    assert "Items found per hectare cleared" in html
    assert "hazardous areas remain open" in html
    assert 'alt="Hazards by status"' in html
    assert "No risk education sessions" not in html


def test_unknown_language_is_refused(colombia_gpkg: Store) -> None:
    with pytest.raises(ValueError, match="no report translation for 'xx'"):
        render_html(colombia_gpkg, "annual", year=2020, lang="xx")


def test_html_report_embeds_its_fonts(colombia_gpkg: Store, tmp_path: Path) -> None:
    """No file:// URL of the server in HTML a browser gets; every @font-face source is a
    data: URI holding a TrueType font with the glyphs the page uses (#16)."""
    import base64
    import io

    from fontTools.ttLib import TTFont

    out = render(colombia_gpkg, "monthly", tmp_path / "june.html", format="html",
                 month=date(2020, 6, 1), lang="es")
    html = out.read_text(encoding="utf-8")
    assert "file:" not in html
    faces = re.findall(r"@font-face \{[^}]*src: url\(\"([^\"]+)\"\)", html)
    assert len(faces) == 3, faces
    for url in faces:
        assert url.startswith("data:font/ttf;base64,"), url[:60]
        font = TTFont(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        cmap = font.getBestCmap()
        missing = {c for c in "víctimas junio 2020" if ord(c) not in cmap}
        assert not missing, missing
