# SPDX-License-Identifier: GPL-3.0-or-later
"""Field forms generated from the domain model (issue 21, item 6): each converts to an
XForm with pyxform (what ODK Central and KoboToolbox run on upload), its choices are the
store's enumeration codes with labels in every report language, its questions' types,
required flags and constraints come from the model, and a new enum value reaches the form
with no edit to the generator."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from mineaction.domain.enums import DeviceCategory, Outcome, ReleaseMethod
from mineaction.domain.models import ENTITIES, Victim
from mineaction.io.xlsform import FORMS, build_sheets, enum_of, list_name, write_xlsform
from mineaction.reports.form_labels import CatalogueLabels

XF = "{http://www.w3.org/2002/xforms}"


def _xform(path: Path) -> ElementTree.Element:
    warnings: list[str] = []
    result = convert(xlsform=str(path), warnings=warnings)
    assert not [w for w in warnings if "max-pixels" not in w], warnings
    return ElementTree.fromstring(result.xform)


@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_converts_with_pyxform_and_holds_its_choices(name: str,
                                                               tmp_path: Path) -> None:
    form = FORMS[name]
    path = tmp_path / f"{name}.xlsx"
    write_xlsform(form, path, CatalogueLabels())
    root = _xform(path)
    instances = {i.get("id"): i for i in root.iter(f"{XF}instance") if i.get("id")}
    data = root.find(f".//{XF}instance/{XF}data")
    assert data is not None and data.get("id") == form.form_id
    for section in form.sections():
        for q in section.questions:
            enum = enum_of(section.model, q.field)
            if enum is None:
                continue
            names = [n.text for n in instances[list_name(enum)].iter(f"{XF}name")]
            assert names == [m.value for m in enum]  # the store's codes, all, in order
    binds = {b.get("nodeset", "").rsplit("/", 1)[-1]: b for b in root.iter(f"{XF}bind")}
    for attachment in form.attachments:
        assert binds[attachment.name].get("type") == "binary"
    for repeat in form.repeats:
        assert root.find(f".//{XF}repeat[@nodeset='/data/{repeat.name}']") is not None


def test_geometry_types_and_model_rules(tmp_path: Path) -> None:
    kinds = {}
    for name in FORMS:
        write_xlsform(FORMS[name], tmp_path / f"{name}.xlsx")
        root = _xform(tmp_path / f"{name}.xlsx")
        kinds[name] = {b.get("nodeset"): b for b in root.iter(f"{XF}bind")}
    accident, hazard = kinds["accident"], kinds["hazard_survey"]
    assert accident["/data/geometry"].get("type") == "geopoint"
    assert hazard["/data/geometry"].get("type") == "geoshape"
    assert kinds["completion_report"]["/data/released_parts/geometry"].get("type") \
        == "geoshape"
    assert kinds["risk_education"]["/data/geometry"].get("type") == "geopoint"
    # Required as the model says (hazard_kind has no default), or as the form says.
    assert hazard["/data/hazard_kind"].get("required") == "true()"
    assert hazard["/data/geometry"].get("required") == "true()"
    assert accident["/data/narrative"].get("required") is None
    # Bounds of the model's fields are the questions' constraints.
    assert accident["/data/victims/age"].get("constraint") == ". >= 0 and . <= 120"
    assert hazard["/data/priority"].get("constraint") == ". >= 1 and . <= 5"
    assert hazard["/data/contamination"].get("type") == "string"  # a select_multiple
    assert accident["/data/victims/age"].get("type") == "int"


def test_labels_in_every_language_english_where_a_translation_is_missing(
        tmp_path: Path) -> None:
    path = tmp_path / "accident.xlsx"
    sheets = write_xlsform(FORMS["accident"], path, CatalogueLabels())
    book = load_workbook(path)
    choices = list(book["choices"].iter_rows(values_only=True))
    header = choices[0]
    assert "label::English (en)" in header and "label::Español (es)" in header
    en, es = header.index("label::English (en)"), header.index("label::Español (es)")
    by_code = {(r[0], r[1]): r for r in choices[1:]}
    assert by_code[("device_category", "ap_mine")][en] == "Antipersonnel mine"
    assert by_code[("device_category", "ap_mine")][es] == "Mina antipersonal"
    assert by_code[("outcome", "killed")][es] == "Muertos"
    assert by_code[("location_precision", "admin_area")][es] == "Solo el área administrativa"
    assert by_code[("area_type", "rural")][es] == "Rural"  # translated, as the English reads
    assert sheets.untranslated == []  # every shipped text has its Spanish
    survey = list(book["survey"].iter_rows(values_only=True))
    q = {r[survey[0].index("name")]: r for r in survey[1:]}
    assert q["accident_date"][survey[0].index("label::Español (es)")] == "Fecha del accidente"
    assert q["age"][survey[0].index("constraint_message::Español (es)")] == "De 0 a 120"
    settings = dict(zip(*book["settings"].iter_rows(values_only=True), strict=True))
    assert settings["form_id"] == "mineaction_accident"
    assert settings["default_language"] == "English (en)"
    assert settings["version"]
    # Every language of the XForm has every choice.
    root = _xform(path)
    langs = [t.get("lang") for t in root.iter(f"{XF}translation")]
    # English first, then every language the catalogues have (issue 22), each once.
    assert langs[0] == "English (en)" and "Español (es)" in langs
    assert len(langs) == len(set(langs)) == 6


def test_a_new_enum_value_reaches_the_form_without_editing_the_generator(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class SexWithIntersex(StrEnum):
        female = "female"
        male = "male"
        intersex = "intersex"
        unknown = "unknown"

    class VictimWithIntersex(Victim):
        sex: SexWithIntersex = SexWithIntersex.unknown  # type: ignore[assignment]

    before = build_sheets(FORMS["accident"])
    monkeypatch.setitem(ENTITIES, "victim", VictimWithIntersex)
    after = build_sheets(FORMS["accident"], CatalogueLabels())
    choices = {r["name"]: r for r in after.choices if r["list_name"] == "sex_with_intersex"}
    assert list(choices) == ["female", "male", "intersex", "unknown"]
    # No label anywhere for the new code: English words from it, in every language, said.
    assert choices["intersex"]["label::Español (es)"] == "Intersex"
    assert "es: choice sex_with_intersex/intersex" in after.untranslated
    assert "en: choice sex_with_intersex/intersex" in after.untranslated
    assert after.settings["version"] != before.settings["version"]  # Central takes it
    write_xlsform(FORMS["accident"], tmp_path / "accident.xlsx")
    assert b"intersex" in ElementTree.tostring(_xform(tmp_path / "accident.xlsx"))


def test_choice_lists_are_the_enumerations() -> None:
    assert list_name(DeviceCategory) == "device_category"
    assert list_name(ReleaseMethod) == "release_method"
    hazard = ENTITIES["hazard"]
    assert enum_of(hazard, "contamination") is DeviceCategory
    assert enum_of(ENTITIES["victim"], "outcome") is Outcome
    assert enum_of(hazard, "name") is None
    for form in FORMS.values():  # every question is a field of its entity
        for section in form.sections():
            for q in section.questions:
                assert q.field in section.model.model_fields, (form.name, q.field)
                assert re.fullmatch(r"[a-z_]+", q.field)
