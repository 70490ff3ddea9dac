"""File-format layer: detection, readers, writers, and what GDAL (as QGIS) sees.

Round trips write one small mixed table (points, polygons, a row without geometry, nulls,
non-ASCII text, a would-be formula) to every format, read it back with ``read_table`` and
with pyogrio directly, and compare values as text and geometries within 1e-7 degrees.
"""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from pyogrio import raw

from mineaction.io import formats, writers
from mineaction.io.errors import ReadError, WriteError
from mineaction.io.formats import FORMATS, detect_format, sniff_csv, value_to_text
from mineaction.io.readers import iter_table_chunks, read_table
from mineaction.io.writers import write_table

POLYGON = shapely.Polygon([(-75.0, 6.0), (-74.9, 6.0), (-74.9, 6.1), (-75.0, 6.1), (-75.0, 6.0)])
TRIANGLE = shapely.Polygon([(-76.0, 5.0), (-75.5, 5.0), (-75.5, 5.5), (-76.0, 5.0)])
GEOMETRIES = [shapely.Point(-74.0721, 4.711), POLYGON, None, shapely.Point(-73.1234567, 7.1),
              TRIANGLE]  # fmt: skip


@pytest.fixture
def table() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "code": ["001", "002", "003", "010", "011"],
            "name": ["Bogotá, D.C.", "Ñame Ñ", "=1+1", None, 'Say "hi"; ok'],
            "area": [12.5, None, 3.0, 1e-5, 250000.75],
            "date": [dt.date(2021, 6, 1), None, dt.date(1990, 1, 31), dt.date(2014, 12, 31),
                     dt.date(2000, 2, 29)],  # fmt: skip
            "when": [dt.datetime(2021, 6, 1, 10, 30), None, dt.datetime(2020, 1, 31),
                     dt.datetime(2021, 6, 1, 0, 0, 1), dt.datetime(1999, 12, 31, 23, 59, 59)],
            "verified": [True, False, None, True, False],
            "affected_killed_total": [1, 2, 3, 4, 5],
            "affected_killed_children": ["a\nb", "x", None, "y", None],
            "geometry": GEOMETRIES,
        },
        dtype=object,
    )
    frame.insert(2, "killed", pd.array([1, None, 3, 0, 12], dtype="Int64"))
    return frame


def expected_text(table: pd.DataFrame) -> dict[str, list[str | None]]:
    return {
        c: [value_to_text(v) for v in table[c].tolist()] for c in table.columns if c != "geometry"
    }


def assert_same_geometries(actual: list, expected: list) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        if e is None:
            assert a is None
        else:
            # normalize: writers may reverse ring orientation (RFC 7946, shapefile).
            assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(e), 1e-7), (a, e)


def assert_attributes(read: pd.DataFrame, table: pd.DataFrame) -> None:
    expected = expected_text(table)
    for column, values in expected.items():
        assert read[column].tolist() == values, column
    assert all(read[c].dtype == object for c in expected)


# --- formats -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.csv", "csv"), ("a.XLSX", "xlsx"), ("a.geojson", "geojson"), ("a.json", "geojson"),
     ("a.gpkg", "gpkg"), ("a.shp", "shp"), ("a.zip", "shp"), ("a.shp.zip", "shp"),
     ("a.kml", "kml"), ("a.kmz", "kml"), ("a.fgb", "fgb")],
)  # fmt: skip
def test_detect_format_from_suffix(name: str, fmt: str) -> None:
    assert detect_format(name) == fmt
    assert FORMATS[fmt].driver


def test_detect_format_explicit_and_unknown() -> None:
    assert detect_format("open-data.csv", "HXL") == "hxl"
    with pytest.raises(ReadError, match=r"\.gpkg") as info:
        detect_format("victims.xls")
    assert str(info.value).startswith("victims.xls: ")
    with pytest.raises(ReadError, match="unknown format"):
        detect_format("a.csv", "dbf")


def test_the_format_declarations_are_what_readers_and_writers_do() -> None:
    """FORMATS (io/formats.py) is the one list of formats: every format declared writable has
    a writer and no other has; every file name a format declares is detected as it, unless
    the format is chosen by name only."""
    assert set(writers._WRITERS) == {f.name for f in formats.writable()}
    for fmt in FORMATS.values():
        for suffix in fmt.suffixes:
            assert (detect_format(f"a{suffix}") == fmt.name) is fmt.by_suffix, (fmt, suffix)
        assert detect_format("a.bin", fmt.name.upper()) == fmt.name
        assert fmt.by_suffix or not fmt.read  # what cannot be detected cannot be imported
    assert set(formats.supported_suffixes()) == {
        s for f in FORMATS.values() if f.by_suffix for s in f.suffixes}


# --- round trips ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".fgb", ".kml", ".kmz"])
def test_gis_round_trip(tmp_path: Path, table: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"hazards{suffix}"
    write_table(path, table)
    read = read_table(path)
    assert len(read) == 5 and read["__row__"].tolist() == [1, 2, 3, 4, 5]
    assert_attributes(read, table)
    assert_same_geometries(read["geometry"].tolist(), GEOMETRIES)
    assert set(read.columns) == set(table.columns) | {"__row__"}  # no KML clutter columns
    assert_gdal_sees(path, table)


def assert_gdal_sees(path: Path, table: pd.DataFrame) -> None:
    """What QGIS would show: same features, values and geometries straight from GDAL."""
    meta, _, wkb, fields = raw.read(path, force_2d=True, datetime_as_string=True)
    assert meta["crs"] == "EPSG:4326"
    names = ["name" if n == "Name" else n for n in meta["fields"]]  # KML <name>
    got = dict(zip(names, zip(fields, meta["ogr_subtypes"], strict=True), strict=True))
    for column, values in expected_text(table).items():
        ogr, subtype = got[column]
        assert [gdal_text(v, subtype) for v in ogr] == values, column
    assert_same_geometries([shapely.from_wkb(g) if g else None for g in wkb], GEOMETRIES)


def gdal_text(value: object, subtype: str) -> str | None:
    """Independent of the reader: GDAL's typed value as the text we expect."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if subtype == "OFSTBoolean":
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value.item() if isinstance(value, np.generic) else value)


def test_shapefile_zip_round_trip(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "hazards.zip"
    write_table(path, table)
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
    # Points and polygons cannot share a shapefile: one each, rows without geometry go
    # with the first. Long names are cut to 10 bytes and listed in a sidecar.
    assert "hazards_points.shp" in names and "hazards_polygons.shp" in names
    assert "hazards_points.fields.csv" in names
    read = read_table(path).sort_values("code", ignore_index=True)
    assert read["layer"].tolist() == ["hazards_points", "hazards_polygons", "hazards_points",
                                      "hazards_points", "hazards_polygons"]  # fmt: skip
    assert_attributes(read, table)
    assert_same_geometries(read["geometry"].tolist(), GEOMETRIES)
    # GDAL sees the truncated, unique names, and the same values.
    vsi = f"/vsizip/{path}/hazards_polygons.shp"
    meta, _, wkb, fields = raw.read(vsi, datetime_as_string=True)
    assert list(meta["fields"]) == ["code", "name", "killed", "area", "date", "when",
                                    "verified", "affected_k", "affected_1"]  # fmt: skip
    assert list(fields[0]) == ["002", "011"] and list(fields[1]) == ["Ñame Ñ", 'Say "hi"; ok']
    assert list(fields[5]) == [None, "1999-12-31T23:59:59"]  # DBF has no datetime: ISO text
    assert_same_geometries([shapely.from_wkb(g) for g in wkb], [POLYGON, TRIANGLE])


def test_shapefile_plain_points(tmp_path: Path, table: pd.DataFrame) -> None:
    points = table.iloc[[0, 2, 3]].reset_index(drop=True)
    path = tmp_path / "points.shp"
    write_table(path, points)
    assert {"points.shp", "points.dbf", "points.prj", "points.cpg"} <= set(os.listdir(tmp_path))
    read = read_table(path)
    assert_attributes(read, points)
    assert pyogrio.read_info(path)["geometry_type"] == "Point"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    write_table(path, points.drop(columns=["affected_killed_total", "affected_killed_children"]))
    assert not (tmp_path / "points.fields.csv").exists()  # stale sidecar removed


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_text_round_trip(tmp_path: Path, table: pd.DataFrame, suffix: str) -> None:
    path = tmp_path / f"victims{suffix}"
    write_table(path, table)
    read = read_table(path)
    assert read["__row__"].tolist() == [2, 3, 4, 5, 6]  # header is spreadsheet row 1
    assert_attributes(read, table)
    wkt = [None if w is None else shapely.from_wkt(w) for w in read["wkt"]]
    assert_same_geometries(wkt, GEOMETRIES)
    # GDAL's own CSV/XLSX drivers (QGIS) see the same rows; text cells stay text.
    meta, _, _, fields = raw.read(path)
    got = dict(zip(meta["fields"], fields, strict=True))
    assert list(got["code"]) == ["001", "002", "003", "010", "011"]
    # A CSV protects a formula-like text from spreadsheets with an apostrophe (issue 15,
    # 14), which our reader removes; an XLSX types the cell as text instead.
    formula = "'=1+1" if suffix == ".csv" else "=1+1"
    assert list(got["name"])[:3] == ["Bogotá, D.C.", "Ñame Ñ", formula]


def test_points_only_text_gets_longitude_latitude(tmp_path: Path, table: pd.DataFrame) -> None:
    points = table.iloc[[0, 3]].reset_index(drop=True)
    write_table(tmp_path / "p.csv", points)
    read = read_table(tmp_path / "p.csv")
    assert read["longitude"].tolist() == ["-74.0721", "-73.1234567"]
    assert read["latitude"].tolist() == ["4.711", "7.1"]
    assert "wkt" not in read.columns


def test_hxl_second_line_holds_hashtags(tmp_path: Path, table: pd.DataFrame) -> None:
    points = table.iloc[[0, 3]].reset_index(drop=True)
    path = tmp_path / "open-data.csv"
    tags = {"name": "#adm1+name", "killed": "#affected+killed", "date": "#date"}
    write_table(path, points, format="hxl", hxl_tags=tags)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["code", "name", "killed"]
    assert lines[1] == ",#adm1+name,#affected+killed,,#date,,,,,#geo+lon,#geo+lat"
    read = read_table(path)  # the hashtag row is recognised, not taken as data
    assert read.attrs["hxl_tags"]["killed"] == "#affected+killed"
    assert read["__row__"].tolist() == [3, 4] and read["code"].tolist() == ["001", "010"]
    with pytest.raises(WriteError, match="not HXL hashtags"):
        write_table(path, points, format="hxl", hxl_tags={"name": "adm1 name"})
    with pytest.raises(WriteError, match="not in the table"):
        write_table(path, points, format="hxl", hxl_tags={"nom": "#adm1+name"})


# --- real data -----------------------------------------------------------------------


def test_victims_register_csv(shared_data: Path) -> None:
    path = shared_data / "colombia" / "aicma_victims_register_2021-06.csv"
    read = read_table(path)
    assert len(read) == 12_062
    assert read.attrs["encoding"] == "utf-8" and read.attrs["delimiter"] == ","
    assert "Ubicación" in read.columns
    assert {str(d) for d in read.drop(columns="__row__").dtypes} == {"object"}
    first = read.iloc[0].to_dict()
    assert first == {
        "departamento": "ANTIOQUIA", "codigodanedepartamento": "5", "municipio": "GRANADA",
        "codigodanemunicipio": "5313", "tipoarea": "Rural", "sitio": "Sin información",
        "ano": "2006", "mes": "1", "rangoedad": "Menor de 18 años", "grupoetnico": "No",
        "condicion": "Civil", "estado": "Herido", "genero": "Masculino",
        "latitudcabecera": "6.143703", "longitudcabecera": "-75.185183",
        "tipoevento": "Accidente por MAP", "Ubicación": "(6.143703, -75.185183)",
        "Actividad": "Pasando, estando cerca", "__row__": 2,
    }  # fmt: skip
    # Codes are text as written, never numbers; coordinates keep all their digits.
    assert {type(v) for v in read["codigodanemunicipio"]} == {str}
    assert read.iloc[1]["latitudcabecera"] == "1.494944213"
    assert read["__row__"].iloc[-1] == 12_063
    chunks = list(iter_table_chunks(path, chunksize=5_000))
    assert [len(c) for c in chunks] == [5_000, 5_000, 2_062]
    pd.testing.assert_frame_equal(pd.concat(chunks), read)


def test_events_geojson(shared_data: Path) -> None:
    path = shared_data / "colombia" / "aicma_events_1990-2014.geojson"
    read = read_table(path)
    assert len(read) == 30_866
    assert read.iloc[0].drop("geometry").to_dict() == {
        "TIPO_EVENTO": "1", "DEPARTAMENTO": "ANTIOQUIA", "TIPO_AREA": "Rural", "AÑO": "1990",
        "MUNICIPIO": "NECHÍ", "__row__": 1,
    }  # fmt: skip
    assert read.iloc[0]["geometry"].equals(shapely.Point(-74.776599, 8.095854))
    assert set(read["AÑO"]) == {str(y) for y in range(1990, 2015)}
    # The known sign error in Bogotá (kept in the data on purpose) comes through as is.
    assert (shapely.get_x(read["geometry"].to_numpy()) > 0).sum() == 1
    chunks = list(iter_table_chunks(path, chunksize=10_000))
    assert [len(c) for c in chunks] == [10_000, 10_000, 10_000, 866]
    pd.testing.assert_frame_equal(pd.concat(chunks), read)


def test_gpkg_chunks_stream(tmp_path: Path, table: pd.DataFrame) -> None:
    path = tmp_path / "h.gpkg"
    write_table(path, table)
    chunks = list(iter_table_chunks(path, chunksize=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    whole = read_table(path)
    merged = pd.concat(chunks)
    assert merged.drop(columns="geometry").equals(whole.drop(columns="geometry"))
    assert_same_geometries(merged["geometry"].tolist(), whole["geometry"].tolist())


def test_reprojects_to_lonlat(tmp_path: Path) -> None:
    lonlat = [shapely.Point(-75.56, 6.25), shapely.Point(-74.08, 4.61)]
    utm = pyproj.Transformer.from_crs(4326, 32618, always_xy=True)
    projected = shapely.transform(np.array(lonlat), lambda c: np.column_stack(
        utm.transform(c[:, 0], c[:, 1])))  # fmt: skip
    path = tmp_path / "utm.gpkg"
    raw.write(path, shapely.to_wkb(projected), [np.array(["a", "b"], dtype=object)], ["id"],
              driver="GPKG", geometry_type="Point", crs="EPSG:32618")  # fmt: skip
    read = read_table(path)
    assert read.attrs["crs"] == "EPSG:32618"
    assert_same_geometries(read["geometry"].tolist(), lonlat)


def test_kml_folders_become_a_layer_column(tmp_path: Path) -> None:
    path = tmp_path / "survey.kml"
    placemark = ('<Placemark><name>{}</name><description>{}</description><ExtendedData>'
                 '<Data name="tipo"><value>{}</value></Data></ExtendedData>'
                 '<Point><coordinates>{},0</coordinates></Point></Placemark>')  # fmt: skip
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><Folder><name>Campo minado</name>"
        + placemark.format("CM-01", "Sospechoso", "MAP", "-75.1,6.2")
        + "</Folder><Folder><name>Accidentes</name>"
        + placemark.format("AC-07", "Vereda Ñ", "MUSE", "-74.5,5.5")
        + "</Folder></Document></kml>",
        encoding="utf-8",
    )
    read = read_table(path)
    assert read["layer"].tolist() == ["Campo minado", "Accidentes"]
    assert read["name"].tolist() == ["CM-01", "AC-07"]
    assert read["description"].tolist() == ["Sospechoso", "Vereda Ñ"]
    assert read["tipo"].tolist() == ["MAP", "MUSE"]
    assert read["__row__"].tolist() == [1, 1]
    assert read_table(path, layer="Accidentes")["name"].tolist() == ["AC-07"]


def test_xlsx_header_row_dates_and_stray_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B3"], sheet["C3"], sheet["E3"] = "Municipio", "Fecha", "Código"
    sheet["B4"], sheet["C4"], sheet["E4"] = "Bogotá", dt.datetime(2021, 6, 1), "007"
    sheet["C4"].number_format = "[$-es-CO]dd/mm/yyyy"  # a Spanish-locale date format
    sheet["B6"], sheet["E6"], sheet["F6"] = "Ñ", 5, "nota suelta"
    book.create_sheet("Otra")["A1"] = "x"
    book.save(tmp_path / "book.xlsx")
    read = read_table(tmp_path / "book.xlsx")
    # The first non-empty row is the header; __row__ is the sheet's own row number.
    assert read.to_dict("list") == {
        "Municipio": ["Bogotá", "Ñ"], "Fecha": ["2021-06-01", None], "Código": ["007", "5"],
        "column_F": [None, "nota suelta"], "__row__": [4, 6],
    }  # fmt: skip
    assert read_table(tmp_path / "book.xlsx", sheet="Otra")["x"].tolist() == []


def test_csv_encodings_and_delimiters(tmp_path: Path) -> None:
    latin = tmp_path / "excel.csv"
    latin.write_bytes("municipio;código;nota\r\nBogotá;007;“sí”\r\n".encode("cp1252"))
    assert sniff_csv(latin) == sniff_csv(latin, "cp1252")
    read = read_table(latin)
    assert read.attrs["encoding"] == "cp1252" and read.attrs["delimiter"] == ";"
    assert read.iloc[0].to_dict() == {"municipio": "Bogotá", "código": "007",
                                      "nota": "“sí”", "__row__": 2}  # fmt: skip
    tabbed = tmp_path / "bom.csv"
    tabbed.write_bytes(b"\xef\xbb\xbfname\tvalue\r\n\r\nA\t\r\n")
    read = read_table(tabbed)
    assert list(read.columns) == ["name", "value", "__row__"]
    assert read.iloc[0].to_dict() == {"name": "A", "value": None, "__row__": 3}  # blank row 2


# --- errors --------------------------------------------------------------------------


def test_read_errors(tmp_path: Path, table: pd.DataFrame) -> None:
    cases = {"missing.csv": None, "garbage.gpkg": os.urandom(4096), "empty.csv": b"",
             "blank.csv": b"\r\n\r\n", "extra.csv": b"a,b\n1,2,3\n",
             "late.csv": b"a,b\n1,2\n3,4,5\n", "bad.xlsx": b"PK\x03\x04 not really"}  # fmt: skip
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ReadError) as info:
            read_table(tmp_path / name)
        assert info.value.path == str(tmp_path / name)
        assert str(info.value).startswith(f"{tmp_path / name}: ")
    write_table(tmp_path / "ok.zip", table)
    data = (tmp_path / "ok.zip").read_bytes()
    (tmp_path / "truncated.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReadError, match="not a valid zip"):
        read_table(tmp_path / "truncated.zip")
    with pytest.raises(ReadError, match="empty"):
        list(iter_table_chunks(tmp_path / "empty.csv"))
    write_table(tmp_path / "ok.gpkg", table)
    with pytest.raises(ReadError, match="no layer 'nope'; layers: data"):
        read_table(tmp_path / "ok.gpkg", layer="nope")
    raw.write(tmp_path / "ok.gpkg", None, [np.array(["a"], dtype=object)], ["x"], layer="more")
    with pytest.raises(ReadError, match=r"2 layers \(data, more\); choose one"):
        read_table(tmp_path / "ok.gpkg")
    write_table(tmp_path / "ok.xlsx", table)
    with pytest.raises(ReadError, match="no sheet 'nope'"):
        read_table(tmp_path / "ok.xlsx", sheet="nope")


def test_failed_write_leaves_nothing(tmp_path: Path, table: pd.DataFrame, monkeypatch) -> None:
    def half_write(path: str, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"half a GeoPackage")
        raise pyogrio.errors.DataSourceError("disk full")

    monkeypatch.setattr(writers.raw, "write", half_write)
    with pytest.raises(WriteError, match="disk full"):
        write_table(tmp_path / "new.gpkg", table)
    assert list(tmp_path.iterdir()) == []
    old = tmp_path / "old.geojson"
    old.write_text("{}")
    with pytest.raises(WriteError):
        write_table(old, table)
    assert old.read_text() == "{}" and list(tmp_path.iterdir()) == [old]


def test_write_rejects_bad_input(tmp_path: Path, table: pd.DataFrame) -> None:
    bad = table.assign(geometry=["POINT (1 2)"] * 5)
    with pytest.raises(WriteError, match="row 1: geometry is str"):
        write_table(tmp_path / "x.gpkg", bad)
    with pytest.raises(WriteError, match="directory does not exist"):
        write_table(tmp_path / "nowhere" / "x.csv", table)
    with pytest.raises(WriteError, match="unrecognised"):
        write_table(tmp_path / "x.dbf", table)
    assert list(tmp_path.iterdir()) == []
