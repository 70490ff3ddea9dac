# SPDX-License-Identifier: GPL-3.0-or-later
"""Import of field form submissions (issue 21, item 6): an ODK Central CSV zip of the
accident form (two victims in the repeat, a photo in media/), a KoboToolbox XLSX of the
hazard survey (a GPS shape, group prefixes, a select_multiple), KoboToolbox CSVs of the
completion report (a released part in a repeat sheet... as CSV beside it) and of risk
education; each imports with no error, victims land as victims of their accident, photos
land with their record, and a crafted bad export is refused naming file, row and field,
with nothing written."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from mineaction.io.submissions import (
    SubmissionsRejected,
    import_submissions,
    parse_geopoint,
    parse_geoshape,
)
from mineaction.store import open_store
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA

# A JPEG's first bytes and end marker: enough for a file named .jpg in an export.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(64) \
    + b"\xff\xd9"
ACCIDENT_KEY = "uuid:6f1c2b9e-3a51-4c1e-9d7a-0b8e2f4d5a11"
SECOND_KEY = "uuid:0c8d4e27-91b4-4f0a-8a3e-5d2c7b9e1f42"

CENTRAL_MAIN = [
    "SubmissionDate", "accident_date", "date_precision", "geometry-Latitude",
    "geometry-Longitude", "geometry-Altitude", "geometry-Accuracy", "location_precision",
    "admin_area_pcode", "place_name", "area_type", "accident_kind", "device_category",
    "device_model", "narrative", "photo", "meta-instanceID", "KEY", "SubmitterID",
    "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
    "DeviceID", "Edits", "FormVersion",
]
CENTRAL_VICTIMS = ["outcome", "sex", "age", "role", "activity", "activity_text", "injuries",
                   "name", "PARENT_KEY", "KEY"]


def _csv(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def central_accident_zip(path: Path, *, victims: list[list[str]] | None = None,
                         main_rows: list[list[str]] | None = None) -> Path:
    """ODK Central's "CSV zip" export of the accident form, as Central lays it out."""
    main_rows = main_rows or [
        ["2024-03-06T14:02:11.120Z", "2024-03-05", "day", "6.1432", "-75.2088", "2150.3",
         "4.8", "exact", "05313", "Vereda La Aguada", "rural", "mine", "ap_mine", "",
         "Two farmers stepped on a mine while clearing a field.", "1709733700123.jpg",
         ACCIDENT_KEY, ACCIDENT_KEY, "12", "enumerator-ana", "1", "1", "", "",
         "collect:x1", "0", "191ebd5c6c"],
        ["2024-04-02T09:15:00.000Z", "2024-04-01", "day", "", "", "", "", "settlement",
         "05313", "Granada", "urban", "erw", "uxo", "", "", "", SECOND_KEY, SECOND_KEY, "12",
         "enumerator-ana", "0", "0", "", "", "collect:x1", "0", "191ebd5c6c"],
    ]
    victims = victims if victims is not None else [
        ["injured", "male", "34", "civilian", "agriculture", "", "Lower leg", "J. P.",
         ACCIDENT_KEY, f"{ACCIDENT_KEY}/victims[1]"],
        ["killed", "female", "15", "civilian", "agriculture", "", "", "",
         ACCIDENT_KEY, f"{ACCIDENT_KEY}/victims[2]"],
    ]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mineaction_accident.csv", _csv(CENTRAL_MAIN, main_rows))
        z.writestr("mineaction_accident-victims.csv", _csv(CENTRAL_VICTIMS, victims))
        z.writestr("media/1709733700123.jpg", PHOTO)
    return path


def kobo_hazard_xlsx(path: Path, shape: str | None = None) -> Path:
    """KoboToolbox's XLSX export (XML values and headers) of the hazard survey, with the
    questions in a group, a select_multiple with its one-column-per-choice columns."""
    shape = shape or ("6.1501 -75.2101 2100 3.5;6.1509 -75.2101 2100 3.5;"
                      "6.1509 -75.2090 2100 3.5;6.1501 -75.2090 2100 3.5;"
                      "6.1501 -75.2101 2100 3.5")
    header = ["start", "end", "survey/name", "survey/hazard_kind", "survey/hazard_status",
              "survey/geometry", "survey/admin_area_pcode", "survey/contamination",
              "survey/contamination/ap_mine", "survey/contamination/uxo",
              "survey/evidence_kind", "survey/evidence_description", "survey/blockages",
              "survey/beneficiaries", "survey/priority", "survey/date_reported", "photo",
              "photo_URL", "sketch", "_id", "_uuid", "_submission_time",
              "_validation_status", "_notes", "_status", "_submitted_by", "__version__",
              "_tags", "_index"]
    row = ["2024-02-01T08:00:00", "2024-02-01T09:10:00", "La Aguada north field", "CHA",
           "open", shape, "05313", "ap_mine uxo", "1", "1", "direct",
           "Mine found by a farmer in 2023", "agriculture grazing", "120", "2",
           "2024-02-01", "field-1.jpg", "https://kf.kobotoolbox.org/media/field-1.jpg", "",
           "301", "7d9e1c40-2b6a-4c1f-8e3d-9a0b1c2d3e4f", "2024-02-01T09:12:00", "", "",
           "submitted_via_web", "enumerator-luis", "vXyz", "", "1"]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Hazard survey"
    sheet.append(header)
    sheet.append(row)
    book.save(path)
    media = path.parent / "media"
    media.mkdir(exist_ok=True)
    (media / "field-1.jpg").write_bytes(PHOTO)
    return path


def kobo_completion_csvs(folder: Path) -> Path:
    """KoboToolbox CSV (';') of the completion report, and its repeat as the CSV beside
    it, linked by _parent_index to _index."""
    main = folder / "completion_report.csv"
    main.write_text(_csv(
        ["start", "end", "activity/name", "activity/activity_kind",
         "activity/activity_status", "activity/start_date", "activity/end_date",
         "activity/clearance_depth_cm", "photo", "certificate", "_id", "_uuid",
         "_submission_time", "_index"],
        [["2024-05-01T08:00:00", "2024-05-01T08:40:00", "TASK-05313-014", "clearance",
          "completed", "2024-03-10", "2024-04-28", "13", "", "", "412",
          "a1b2c3d4-0000-4a4a-8b8b-123456789abc", "2024-05-01T08:41:00", "1"]],
        delimiter=";"), encoding="utf-8")
    (folder / "completion_report-released_parts.csv").write_text(_csv(
        ["method", "geometry", "release_date", "_index", "_parent_index",
         "_parent_table_name", "_submission__id"],
        [["cleared", "6.1501 -75.2101 0 0;6.1505 -75.2101 0 0;6.1505 -75.2095 0 0;"
          "6.1501 -75.2095 0 0;6.1501 -75.2101 0 0", "2024-04-28", "1", "1",
          "completion_report", "412"],
         ["reduced", "6.1505 -75.2101 0 0;6.1509 -75.2101 0 0;6.1509 -75.2095 0 0;"
          "6.1505 -75.2095 0 0;6.1505 -75.2101 0 0", "2024-04-20", "2", "1",
          "completion_report", "412"]], delimiter=";"), encoding="utf-8")
    return main


def kobo_risk_education_csv(folder: Path) -> Path:
    path = folder / "risk_education.csv"
    path.write_text(_csv(
        ["start", "end", "session/session_date", "session/geometry",
         "_session/geometry_latitude", "_session/geometry_longitude",
         "_session/geometry_altitude", "_session/geometry_precision",
         "session/admin_area_pcode", "session/place_name", "session/method",
         "session/girls", "session/boys", "session/women", "session/men",
         "session/unknown_audience", "attendance", "_id", "_uuid", "_index"],
        [["2024-06-03T10:00:00", "2024-06-03T11:00:00", "2024-06-03",
          "6.1456 -75.2001 2040 6", "6.1456", "-75.2001", "2040", "6", "05313",
          "Escuela La Aguada", "talk", "14", "11", "6", "3", "0", "", "88",
          "f0e1d2c3-4b5a-4c3d-9e8f-112233445566", "1"]]), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(tmp_path / "store.gpkg")


def _items(store: Store, kind: str) -> list[object]:
    return list(store.query(Query(kind=kind, limit=100)).items)


def _attachments(store: Store) -> list[dict[str, object]]:
    table = METADATA.tables["attachments"]
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def test_geopoint_and_geoshape_text() -> None:
    assert parse_geopoint("6.1432 -75.2088 2150.3 4.8") == "POINT (-75.2088 6.1432)"
    assert parse_geoshape("1 2 0 0;1 3 0 0;2 3 0 0").startswith("POLYGON ((2.0 1.0, 3.0 1.0")
    for bad in ("abc", "6.1 -75.2 x", "95 10", ""):
        with pytest.raises(ValueError, match="not a GPS point"):
            parse_geopoint(bad)
    with pytest.raises(ValueError, match="corner 2"):
        parse_geoshape("1 2 0 0;abc;2 3 0 0")


def test_central_zip_accident_with_two_victims_and_a_photo(tmp_path: Path,
                                                           store: Store) -> None:
    export = central_accident_zip(tmp_path / "mineaction_accident.zip")
    result = import_submissions(store, export, user="lead")
    assert result.form == "accident"
    assert not result.report.errors
    assert result.report.kinds["accident"].added == 2
    assert result.report.kinds["victim"].added == 2
    accidents = {a.external_id: a for a in _items(store, "accident")}  # type: ignore[attr-defined]
    first = accidents[ACCIDENT_KEY]
    assert first.status == "submitted"  # field data waits for review
    assert (round(first.geometry.x, 4), round(first.geometry.y, 4)) == (-75.2088, 6.1432)
    assert first.original_coordinates == "6.1432 -75.2088 2150.3 4.8"  # accuracy kept
    assert first.location_accuracy_m == 4.8  # and as a number (issue 21)
    assert first.device_category == "ap_mine" and first.accident_kind == "mine"
    assert accidents[SECOND_KEY].geometry is None
    victims = _items(store, "victim")
    assert {v.accident_id for v in victims} == {first.id}  # type: ignore[attr-defined]
    by_key = {v.external_id: v for v in victims}  # type: ignore[attr-defined]
    killed = by_key[f"{ACCIDENT_KEY}/victims[2]"]
    assert (killed.outcome, killed.sex, killed.age, killed.age_band) == (
        "killed", "female", 15, "child")
    files = _attachments(store)
    assert [(f["record_kind"], f["record_id"], f["file_name"], f["content"]) for f in files] \
        == [("accident", str(first.id), "1709733700123.jpg", PHOTO)]
    assert files[0]["media_type"] == "image/jpeg"
    again = import_submissions(store, export)  # a later export of the same submissions
    assert again.report.kinds["accident"].unchanged == 2 and again.attachments == 0
    assert len(_attachments(store)) == 1


def test_kobo_xlsx_hazard_survey_with_a_shape(tmp_path: Path, store: Store) -> None:
    result = import_submissions(store, kobo_hazard_xlsx(tmp_path / "hazard_survey.xlsx"))
    assert result.form == "hazard_survey" and result.report.kinds["hazard"].added == 1
    (hazard,) = _items(store, "hazard")
    assert hazard.geometry.geom_type in ("Polygon", "MultiPolygon")  # type: ignore[attr-defined]
    assert hazard.area_m2 > 5000  # type: ignore[attr-defined]  # computed from the shape
    assert hazard.contamination == {"ap_mine", "uxo"}  # type: ignore[attr-defined]
    assert hazard.blockages == {"agriculture", "grazing"}  # type: ignore[attr-defined]
    assert hazard.external_id == "7d9e1c40-2b6a-4c1f-8e3d-9a0b1c2d3e4f"  # type: ignore[attr-defined]
    # The shape as the GPS took it, each corner's accuracy with it.
    assert hazard.original_coordinates.startswith("6.1501 -75.2101 2100 3.5;")  # type: ignore[attr-defined]
    assert hazard.location_accuracy_m is None  # type: ignore[attr-defined]  # a shape's corners vary
    (photo,) = _attachments(store)
    assert (photo["record_id"], photo["file_name"]) == (str(hazard.id), "field-1.jpg")  # type: ignore[attr-defined]


def test_kobo_csv_completion_report_and_risk_education(tmp_path: Path, store: Store) -> None:
    result = import_submissions(store, kobo_completion_csvs(tmp_path))
    assert result.form == "completion_report"
    assert (result.report.kinds["activity"].added,
            result.report.kinds["released_part"].added) == (1, 2)
    (activity,) = _items(store, "activity")
    parts = _items(store, "released_part")
    assert {p.activity_id for p in parts} == {activity.id}  # type: ignore[attr-defined]
    assert sorted(p.method for p in parts) == ["cleared", "reduced"]  # type: ignore[attr-defined]
    assert all(p.area_m2 > 1000 for p in parts)  # type: ignore[attr-defined]
    # Kobo's repeat rows have no key: each is keyed by its place within its submission.
    assert sorted(p.external_id for p in parts) == [  # type: ignore[attr-defined]
        "a1b2c3d4-0000-4a4a-8b8b-123456789abc/released_parts[1]",
        "a1b2c3d4-0000-4a4a-8b8b-123456789abc/released_parts[2]"]
    assert any("released_part has no field for the GPS text" in n for n in result.notes)
    risk = import_submissions(store, kobo_risk_education_csv(tmp_path),
                              form_name="risk_education")
    assert risk.report.kinds["risk_education"].added == 1
    (session,) = _items(store, "risk_education")
    assert session.beneficiaries == 34  # type: ignore[attr-defined]
    assert round(session.geometry.y, 4) == 6.1456  # type: ignore[attr-defined]
    assert any("accuracy" in n for n in risk.notes)  # said, not silently dropped


def test_a_dry_run_writes_nothing(tmp_path: Path, store: Store) -> None:
    export = central_accident_zip(tmp_path / "mineaction_accident.zip")
    result = import_submissions(store, export, dry_run=True)
    assert result.report.kinds["victim"].added == 2 and not result.report.committed
    assert _items(store, "accident") == [] and _attachments(store) == []


def test_a_bad_export_names_file_row_and_field_and_writes_nothing(tmp_path: Path,
                                                                 store: Store) -> None:
    good = central_accident_zip(tmp_path / "good.zip")
    rows = []
    with zipfile.ZipFile(good) as z:
        rows = list(csv.reader(io.StringIO(z.read("mineaction_accident.csv").decode())))[1:]
    rows[0][3] = "abc"  # geometry-Latitude: not a number
    rows[1][12] = "landmine"  # device_category: not one of the codes
    victims = [
        ["injured", "male", "34", "civilian", "agriculture", "", "", "", ACCIDENT_KEY,
         f"{ACCIDENT_KEY}/victims[1]"],
        ["killed", "female", "15", "civilian", "agriculture", "", "", "",
         "uuid:missing-parent", "uuid:missing-parent/victims[1]"],
    ]
    bad = central_accident_zip(tmp_path / "mineaction_accident.zip", victims=victims,
                               main_rows=rows)
    with pytest.raises(SubmissionsRejected) as info:
        import_submissions(store, bad)
    lines = [str(e) for e in info.value.errors]
    main_csv = "mineaction_accident.zip:mineaction_accident.csv"
    victims_csv = "mineaction_accident.zip:mineaction_accident-victims.csv"
    assert any(line.startswith(f"{main_csv}, row 2, field geometry (column "
                               "'geometry-Latitude')") and "'abc" in line for line in lines)
    assert any(line.startswith(f"{main_csv}, row 3, field device_category (column "
                               "'device_category')") and "'landmine'" in line
               for line in lines), lines
    assert any(line.startswith(f"{victims_csv}, row 3, field accident_id (column "
                               "'PARENT_KEY')") and "uuid:missing-parent" in line
               for line in lines), lines
    assert "nothing was imported" in str(info.value)
    assert _items(store, "accident") == [] and _items(store, "victim") == []
    assert _attachments(store) == []


def test_a_photo_missing_from_the_export_is_an_error(tmp_path: Path, store: Store) -> None:
    export = kobo_hazard_xlsx(tmp_path / "hazard_survey.xlsx")
    (tmp_path / "media" / "field-1.jpg").unlink()
    with pytest.raises(SubmissionsRejected) as info:
        import_submissions(store, export)
    (error,) = info.value.errors
    assert (error.file, error.row, error.field, error.column) == (
        "hazard_survey.xlsx (sheet Hazard survey)", 2, "photo", "photo")
    assert _items(store, "hazard") == []


def test_kobo_xlsx_accident_with_victims_on_their_own_sheet(tmp_path: Path,
                                                            store: Store) -> None:
    """Kobo's workbook: the repeat on a sheet named after it, linked by _parent_index."""
    book = Workbook()
    main = book.active
    assert main is not None
    main.title = "Accident and its victims"
    main.append(["accident/accident_date", "accident/geometry", "_accident/geometry_latitude",
                 "_accident/geometry_longitude", "_accident/geometry_altitude",
                 "_accident/geometry_precision", "accident/accident_kind", "_uuid", "_index"])
    main.append(["2023-11-20", "6.2 -75.3 1800 12", "6.2", "-75.3", "1800", "12", "erw",
                 "kobo-uuid-1", 1])
    main.append(["2023-12-02", "", "", "", "", "", "mine", "kobo-uuid-2", 2])
    victims = book.create_sheet("victims")
    victims.append(["outcome", "sex", "age", "_index", "_parent_index",
                    "_parent_table_name"])
    victims.append(["injured", "female", 9, 1, 2, "Accident and its victims"])
    book.save(tmp_path / "accident.xlsx")
    result = import_submissions(store, tmp_path / "accident.xlsx")
    assert result.form == "accident"
    accidents = {a.external_id: a for a in _items(store, "accident")}  # type: ignore[attr-defined]
    (victim,) = _items(store, "victim")
    assert victim.accident_id == accidents["kobo-uuid-2"].id  # type: ignore[attr-defined]
    assert victim.age_band == "child"  # type: ignore[attr-defined]
    assert accidents["kobo-uuid-1"].original_coordinates == "6.2 -75.3 1800 12"
    # A victim whose accident is not in the workbook is an error naming its sheet and row.
    victims.append(["killed", "male", 30, 2, 7, "Accident and its victims"])
    book.save(tmp_path / "accident.xlsx")
    with pytest.raises(SubmissionsRejected) as info:
        import_submissions(store, tmp_path / "accident.xlsx")
    (error,) = info.value.errors
    assert (error.file, error.row, error.field, error.column) == (
        "accident.xlsx (sheet victims)", 3, "accident_id", "_parent_index")
