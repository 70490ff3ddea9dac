"""Charts, maps and message catalogues."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from mineaction.reports import catalog, charts, maps
from mineaction.reports.i18n import Formatter, available_languages, translations


def test_every_message_is_translated() -> None:
    template = catalog.extract()
    assert len(template) > 100
    for po in catalog.languages():
        assert catalog.missing(po, template) == [], po


def test_languages_and_formats() -> None:
    # English first, then every catalogue on disk (ru and uk come from another change, #22)
    assert available_languages()[0] == "en"
    assert {"es", "az", "ar"} <= set(available_languages())
    assert translations("es").gettext("Killed") == "Muertos"
    es, en = Formatter("es"), Formatter("en")
    assert (en.number(1224), es.number(1224)) == ("1,224", "1.224")
    assert es.hectares(25_000) == "2,5 ha"


def test_numbers_formatted_once_are_formatted_as_babel_formats_them() -> None:
    # Formatter.number keeps each (language, digits, value) it formatted: values Python
    # counts equal but Babel formats apart must not share an entry
    from babel import Locale, numbers

    for lang in available_languages():
        f = Formatter(lang)
        for digits in (0, 1, 2):
            pattern = numbers.parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))
            for value in (0.0, -0.0, 0, 1, 1.0, -0.04, 2.5, 3.5, 1224, 1224.56, 10**7):
                for _ in range(2):  # formatted, then from what was kept
                    assert f.number(value, digits) == pattern.apply(
                        value, Locale.parse(lang)), (lang, digits, value)
    es = Formatter("es")
    assert (es.number(0.0), es.number(-0.0), es.number(-0.0, 1)) == ("0", "-0", "-0,0")


def test_class_breaks_cover_every_positive_value() -> None:
    breaks = maps.class_breaks([0, 1, 3, 7, 40, 300, 2500])
    assert breaks[0] == 1 and breaks == sorted(breaks)
    assert maps.class_breaks([0, 0]) == [1]


def test_maps_have_scale_bar_north_arrow_legend_and_source() -> None:
    t = translations("en").gettext
    areas = [maps.MapArea(box(-75 + i, 5, -74 + i, 6), v) for i, v in enumerate([0, 3, 40])]
    fig = maps.choropleth(areas, "Test map", "Casualties", "Source: test data", t)
    ax = fig.axes[0]
    texts = [x.get_text() for x in ax.texts]
    assert any(s.endswith(" km") for s in texts)  # scale bar
    assert "N" in texts  # north arrow
    assert ax.get_legend() is not None and ax.get_xlabel().startswith("Source: test data")
    png = charts.save(fig, "png", dpi=50)
    assert png.startswith(b"\x89PNG")
    fig = maps.hazard_map([(box(-75, 5, -74.99, 5.01), "open"), (box(-74, 5, -73.99, 5.01),
                                                                 "closed")],
                          "Hazards", "Source: test", t, str)
    assert [x.get_text() for x in fig.axes[0].get_legend().get_texts()] == [
        "open (1)", "closed (1)"]


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_charts_render(fmt: str) -> None:
    t = translations("es").gettext
    rows = [{"year": y, "killed": 2, "injured": 5, "unknown_outcome": 0}
            for y in range(2010, 2021)]
    fig = charts.casualties_per_year(rows, {"years": [2021], "mean": [7.0], "lower": [2.0],
                                            "upper": [20.0]}, t, highlight=2020)
    assert "Proyección (no es una predicción)" in [
        x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    data = charts.save(fig, fmt)
    assert data[:5] in (b"<?xml", b"\x89PNG\r")
