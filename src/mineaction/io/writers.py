"""Write a table (attributes + optional "geometry" column) to any supported format.

Geometry: the "geometry" column holds shapely geometries in EPSG:4326 lon/lat, or None.

* GIS formats (gpkg, geojson, fgb, kml, shp) store it natively. A layer whose geometries
  are all of one kind gets that type (promoted to Multi* if some are multi); points mixed
  with lines/polygons give a generic ("Unknown") layer -- except in shapefiles, which hold
  one kind only: there each kind goes to its own shapefile, ``<name>_points``,
  ``<name>_lines``, ``<name>_polygons`` (rows without geometry go to the first of these).
* Text formats (csv, hxl, xlsx): if every geometry is a point (or ``geometry_type="Point"``)
  the columns "longitude" and "latitude"; otherwise one "wkt" column. Coordinates are
  rounded to 7 decimals (about 1 cm), as in GeoJSON (RFC 7946).

Field types for GIS formats follow the values: int -> Integer64, float -> Real,
bool -> Boolean, date -> Date, datetime -> DateTime, anything else -> String (as text).
Format quirks handled here, not by GDAL (whose warnings would hide data changes):
shapefile field names are cut to 10 bytes, made unique as ``name_1``, ``name_2``... and the
full names recorded in ``<name>.fields.csv`` next to the .shp (the reader restores them);
shapefile texts are cut to 254 bytes; shapefile datetimes and KML dates are written as ISO
text. CSV/HXL are UTF-8 with a BOM so Excel shows accents correctly.

Every write is atomic: files are written in a temporary directory next to the target and
moved into place with ``os.replace``; a failed export leaves the old file (or none).
"""

from __future__ import annotations

import csv
import datetime as dt
import numbers
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import shapely
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from pyogrio import raw

from mineaction.io.errors import ReadError, WriteError
from mineaction.io.formats import (
    HXL_TAG_RE,
    SHP_NAMES_SUFFIX,
    csv_text,
    cut_utf8,
    detect_format,
    get_format,
    is_missing,
    shp_field_names,
    strip_suffix,
    value_to_text,
)
from mineaction.io.readers import GEOMETRY, ROW

_FAMILY = {
    "Point": "Point", "MultiPoint": "Point", "LineString": "LineString",
    "MultiLineString": "LineString", "LinearRing": "LineString", "Polygon": "Polygon",
    "MultiPolygon": "Polygon", "GeometryCollection": "GeometryCollection",
}  # fmt: skip
_SHP_PARTS = {"Point": "points", "LineString": "lines", "Polygon": "polygons"}
_SHP_EXTENSIONS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
_EXCEL_MAX_CELL = 32_767
_TEXT_GEOMETRY = ("longitude", "latitude", "wkt")


@dataclass
class _Column:
    name: str
    kind: str  # int | float | bool | date | datetime | str
    values: list[object]  # Python values, missing ones as None


def write_table(
    path: str | os.PathLike[str],
    table: pd.DataFrame,
    *,
    format: str | None = None,
    layer: str = "data",
    hxl_tags: dict[str, str] | None = None,
    geometry_type: str | None = None,
) -> None:
    """Write ``table`` to ``path`` in ``format`` (default: from the suffix; "hxl" is only
    ever explicit). ``layer`` names the GeoPackage/FlatGeobuf/GeoJSON layer, the KML
    document and the XLSX sheet (shapefiles are named after the file). ``hxl_tags`` maps
    column -> hashtag for "hxl". ``geometry_type`` forces the layer type ("Point",
    "MultiPolygon", ...) instead of inferring it. A "__row__" column (from the readers) is
    not written. Raises :class:`WriteError`; the target is then left untouched.
    """
    path = os.fspath(path)
    try:
        fmt = detect_format(path, format)
    except ReadError as exc:
        raise WriteError(path, exc.message) from None
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise WriteError(path, "the directory does not exist")
    if hxl_tags and fmt != "hxl":
        raise WriteError(path, f"hxl_tags only apply to format 'hxl', not {fmt!r}")
    table = table.drop(columns=[ROW], errors="ignore")
    names = [str(c) for c in table.columns]
    if len(set(names)) != len(names):
        raise WriteError(path, "column names are not unique")
    with tempfile.TemporaryDirectory(dir=parent, prefix=".export-") as staging:
        try:
            geometry = _geometry(table) if GEOMETRY in table.columns else None
            columns = [_classify(str(n), table[n]) for n in table.columns if n != GEOMETRY]
            staged = _WRITERS[fmt](
                os.path.join(staging, os.path.basename(path)), columns, geometry,
                layer=layer, hxl_tags=hxl_tags or {}, geometry_type=geometry_type,
            )  # fmt: skip
        except WriteError as exc:
            raise WriteError(path, exc.message) from exc.__cause__
        except (RuntimeError, OSError, ValueError, TypeError) as exc:
            # GDAL (pyogrio errors are RuntimeErrors), disk full, unconvertible values.
            label = get_format(fmt).label
            raise WriteError(path, f"could not write {label}: {exc}") from exc
        _publish(path, staged)


def _publish(path: str, staged: list[str]) -> None:
    """Move staged files next to ``path``. A shapefile is several files: each move is
    atomic; then the files of an older export of the same name that the new one does not
    have are removed (a stale .qix index, or x.shp when x is now split by geometry)."""
    parent = os.path.dirname(os.path.abspath(path))
    names = {os.path.basename(f) for f in staged}
    for staged_file in staged:
        os.replace(staged_file, os.path.join(parent, os.path.basename(staged_file)))
    stems = {n[: -len(".shp")] for n in names if n.endswith(".shp")}
    if stems and path.lower().endswith(".shp"):
        stems.add(os.path.basename(path)[: -len(".shp")])
    for stem in stems:
        for ext in (*_SHP_EXTENSIONS, SHP_NAMES_SUFFIX):
            old = os.path.join(parent, stem + ext)
            if stem + ext not in names and os.path.exists(old):
                os.remove(old)


# --- values and geometry ---------------------------------------------------------------


def _geometry(table: pd.DataFrame) -> np.ndarray:
    values = np.empty(len(table), dtype=object)
    for i, g in enumerate(table[GEOMETRY].tolist()):
        if is_missing(g):
            g = None
        elif not isinstance(g, shapely.Geometry):
            raise WriteError("", f"row {i + 1}: geometry is {type(g).__name__}, not shapely")
        values[i] = None if g is None or g.is_empty else g
    return values


def _classify(name: str, series: pd.Series) -> _Column:
    """Pick one type per column from its dtype, or for object columns from the values
    (all bools, all ints, all numbers, all dates, all naive datetimes, else text)."""
    values = [None if is_missing(v) else v for v in series.tolist()]
    present = [v for v in values if v is not None]
    dtype = series.dtype

    def every(test: Callable[[object], bool]) -> bool:
        return bool(present) and all(test(v) for v in present)

    def is_number(v: object) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)

    if pd.api.types.is_bool_dtype(dtype) or every(lambda v: isinstance(v, bool | np.bool_)):
        kind = "bool"
    elif pd.api.types.is_integer_dtype(dtype) or every(
        lambda v: is_number(v) and isinstance(v, numbers.Integral)
    ):
        # GDAL's Integer64 is int64; anything wider goes as text rather than overflow.
        kind = "int" if all(-(2**63) <= v < 2**63 for v in present) else "str"
    elif pd.api.types.is_float_dtype(dtype) or every(is_number):
        kind = "float"
    elif every(lambda v: isinstance(v, dt.datetime) and v.tzinfo is None):
        kind = "datetime"
    elif every(lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime)):
        kind = "date"
    else:
        kind = "str"  # includes tz-aware datetimes: GDAL's time-zone support varies
    if kind == "str":
        values = [value_to_text(v) for v in values]
    return _Column(name, kind, values)


def _gdal_arrays(column: _Column) -> tuple[np.ndarray, np.ndarray]:
    # _classify gave the column the kind all its values have: the isinstance tests only
    # tell missing values (None, masked) from present ones.
    mask = np.array([v is None for v in column.values], dtype=bool)
    if column.kind == "int":
        data = np.array([int(v) if isinstance(v, numbers.Integral) else 0
                         for v in column.values], dtype=np.int64)
    elif column.kind == "float":
        data = np.array([float(v) if isinstance(v, numbers.Real) else np.nan
                         for v in column.values])
    elif column.kind == "bool":
        data = np.array([bool(v) for v in column.values], dtype=bool)
    elif column.kind in ("date", "datetime"):
        unit: Literal["D", "ms"] = "D" if column.kind == "date" else "ms"
        data = np.array(
            [np.datetime64(v, unit) if isinstance(v, dt.date) else np.datetime64("NaT")
             for v in column.values],
            dtype=f"datetime64[{unit}]",
        )
    else:
        data = np.array(column.values, dtype=object)
    return data, mask


def _as_text(column: _Column) -> _Column:
    return _Column(column.name, "str", [value_to_text(v) for v in column.values])


def _layer_type(geometry: np.ndarray) -> str:
    types = {g.geom_type for g in geometry if g is not None}
    families = {_FAMILY[t] for t in types}
    if len(families) != 1:
        return "Unknown"
    family = families.pop()
    return f"Multi{family}" if any(t.startswith("Multi") for t in types) else family


# --- GIS formats -----------------------------------------------------------------------


def _write_gdal(
    target: str, driver: str, layer: str, columns: list[_Column],
    geometry: np.ndarray | None, geometry_type: str | None,
    dataset_options: dict[str, str] | None = None, **options: str,
) -> None:  # fmt: skip
    arrays = [_gdal_arrays(c) for c in columns]
    layer_type = geometry_type or (_layer_type(geometry) if geometry is not None else None)
    raw.write(
        target,
        geometry=None if geometry is None else shapely.to_wkb(geometry),
        field_data=[a[0] for a in arrays],
        fields=[c.name for c in columns],
        field_mask=[a[1] for a in arrays],
        layer=layer, driver=driver, geometry_type=layer_type,
        crs="EPSG:4326",  # also without geometry: GeoJSON warns if a layer has no CRS
        promote_to_multi=bool(layer_type and layer_type.startswith("Multi")),
        encoding="UTF-8" if driver == "ESRI Shapefile" else None,
        layer_options=options or None, dataset_options=dataset_options,
    )  # fmt: skip


def _write_gis(fmt: str) -> Callable[..., list[str]]:
    def write(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
              layer: str, geometry_type: str | None, **_: object) -> list[str]:
        options: dict[str, str] = {}
        driver = get_format(fmt).driver
        if geometry is None and fmt != "gpkg":
            # Only GeoPackage has attribute-only tables; elsewhere GDAL wants a geometry
            # column with a CRS (RFC 7946 GeoJSON warns without one), so write null shapes.
            geometry = np.full(len(columns[0].values) if columns else 0, None, dtype=object)
        if fmt == "geojson":
            options = {"RFC7946": "YES"}  # lon/lat, right-hand winding, 7 decimals
        elif fmt == "fgb" and (geometry is None or any(g is None for g in geometry)):
            options = {"SPATIAL_INDEX": "NO"}  # GDAL cannot index features without geometry
        if fmt in ("kml", "fgb"):
            # ISO text reads back as written: LIBKML writes dates as "2021/06/01", and
            # FlatGeobuf has no date type (a date would come back as a midnight datetime).
            kinds = ("date", "datetime") if fmt == "kml" else ("date",)
            columns = [_as_text(c) if c.kind in kinds else c for c in columns]
        if fmt == "kml":
            if driver not in pyogrio.list_drivers(write=True):
                driver = "KML"
        # GeoPackage 1.3, not GDAL >= 3.11's default 1.4, which GDAL 3.6's validator (Debian
        # 12, many QGIS installations) refuses.
        dataset = {"VERSION": "1.3"} if fmt == "gpkg" else None
        _write_gdal(target, driver, layer, columns, geometry, geometry_type, dataset, **options)
        return [target]

    return write


def _write_shp(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
               geometry_type: str | None, **_: object) -> list[str]:
    fmt = get_format("shp")
    zipped = target.lower().endswith(".zip")
    stem = strip_suffix(target, fmt) if zipped else os.path.splitext(os.path.basename(target))[0]
    work = os.path.join(os.path.dirname(target), "shp") if zipped else os.path.dirname(target)
    os.makedirs(work, exist_ok=True)
    columns = [_shp_column(c) for c in columns]
    fields = shp_field_names([c.name for c in columns])
    renamed = [_Column(f, c.kind, c.values) for f, c in zip(fields, columns, strict=True)]
    if geometry is None:
        geometry = np.full(len(columns[0].values) if columns else 0, None, dtype=object)
    parts = _shp_parts(geometry, geometry_type)
    written: list[str] = []
    for part, (rows, part_type) in parts.items():
        name = f"{stem}_{part}" if len(parts) > 1 else stem
        subset = [_Column(c.name, c.kind, [c.values[i] for i in rows]) for c in renamed]
        shp = os.path.join(work, name + ".shp")
        _write_gdal(shp, "ESRI Shapefile", name, subset, geometry[rows], part_type)
        if fields != [c.name for c in columns]:
            sidecar = os.path.join(work, name + SHP_NAMES_SUFFIX)
            with open(sidecar, "w", encoding="utf-8", newline="") as f:
                pairs = zip(fields, [c.name for c in columns], strict=True)
                csv.writer(f).writerows([("field", "column"), *pairs])
        written += [
            os.path.join(work, n) for n in sorted(os.listdir(work)) if n.startswith(name + ".")
        ]
    if not zipped:
        return written
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in written:
            archive.write(file, os.path.basename(file))
    return [target]


def _shp_parts(geometry: np.ndarray, geometry_type: str | None
               ) -> dict[str, tuple[np.ndarray, str]]:  # fmt: skip
    """Rows per shapefile: one per geometry kind, unless the caller forced a type."""
    if geometry_type:
        return {"all": (np.arange(len(geometry)), geometry_type)}
    kinds = np.array([None if g is None else _FAMILY[g.geom_type] for g in geometry])
    if "GeometryCollection" in set(kinds):
        raise WriteError("", "a shapefile cannot hold geometry collections")
    present = [k for k in _SHP_PARTS if k in set(kinds)] or ["Point"]
    parts: dict[str, tuple[np.ndarray, str]] = {}
    for i, kind in enumerate(present):
        rows = np.flatnonzero((kinds == kind) | ((kinds == None) & (i == 0)))  # noqa: E711
        layer_type = _layer_type(geometry[rows])
        parts[_SHP_PARTS[kind]] = (rows, kind if layer_type == "Unknown" else layer_type)
    return parts


def _shp_column(column: _Column) -> _Column:
    """DBF has no datetime type and 254-byte texts; convert and cut here rather than let
    GDAL do it with a warning per value."""
    if column.kind == "datetime" or (
        # GDAL reads DBF numbers of 19+ digits back as Real, losing digits: keep them text.
        column.kind == "int"
        and any(isinstance(v, numbers.Integral) and abs(int(v)) >= 10**18 for v in column.values)
    ):
        column = _as_text(column)
    if column.kind != "str":
        return column
    return _Column(column.name, "str",
                   [cut_utf8(v, 254) if isinstance(v, str) else v for v in column.values])


# --- text formats ----------------------------------------------------------------------


def _text_table(columns: list[_Column], geometry: np.ndarray | None, geometry_type: str | None
                ) -> list[_Column]:  # fmt: skip
    """Attributes plus the geometry as longitude/latitude or WKT columns."""
    if geometry is None:
        return columns
    clash = {c.name for c in columns} & set(_TEXT_GEOMETRY)
    if clash:
        raise WriteError("", f"column {sorted(clash)[0]!r} clashes with the geometry columns")
    present = [g for g in geometry if g is not None]
    if geometry_type == "Point" or (geometry_type is None and
                                    all(g.geom_type == "Point" for g in present)):  # fmt: skip
        if any(g.geom_type != "Point" for g in present):
            raise WriteError("", "geometry_type='Point' but some geometries are not points")
        lon = [None if g is None else round(g.x, 7) for g in geometry]
        lat = [None if g is None else round(g.y, 7) for g in geometry]
        return [*columns, _Column("longitude", "float", lon), _Column("latitude", "float", lat)]
    wkt = [None if g is None else shapely.to_wkt(g, rounding_precision=7) for g in geometry]
    return [*columns, _Column("wkt", "str", wkt)]


def _write_csv(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
               geometry_type: str | None, hxl_tags: dict[str, str] | None = None,
               **_: object) -> list[str]:  # fmt: skip
    columns = _text_table(columns, geometry, geometry_type)
    names = [c.name for c in columns]
    # Excel needs the BOM to read UTF-8; pandas, GDAL and QGIS skip it.
    with open(target, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(names)
        if hxl_tags is not None:
            writer.writerow(_hxl_row(names, hxl_tags))
        texts = [[csv_text(v) for v in c.values] for c in columns]
        writer.writerows(zip(*texts, strict=True))
    return [target]


def _write_plain_csv(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
                     geometry_type: str | None, **_: object) -> list[str]:  # fmt: skip
    return _write_csv(target, columns, geometry, geometry_type=geometry_type)


def _write_hxl(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
               geometry_type: str | None, hxl_tags: dict[str, str], **_: object
               ) -> list[str]:  # fmt: skip
    return _write_csv(target, columns, geometry, geometry_type=geometry_type, hxl_tags=hxl_tags)


def _hxl_row(names: list[str], tags: dict[str, str]) -> list[str]:
    unknown = sorted(set(tags) - set(names))
    if unknown:
        raise WriteError("", f"hxl_tags name columns not in the table: {', '.join(unknown)}")
    bad = sorted(t for t in tags.values() if not HXL_TAG_RE.match(t))
    if bad:
        raise WriteError("", f"not HXL hashtags (e.g. '#adm1+name'): {', '.join(bad)}")
    tags = {"longitude": "#geo+lon", "latitude": "#geo+lat", **tags}
    return [tags.get(name, "") for name in names]


def _write_xlsx(target: str, columns: list[_Column], geometry: np.ndarray | None, *,
                layer: str, geometry_type: str | None, **_: object) -> list[str]:
    columns = _text_table(columns, geometry, geometry_type)
    book = openpyxl.Workbook(write_only=True)  # streams rows to disk
    title = "".join(ch for ch in layer if ch not in "[]:*?/\\")[:31] or "data"
    sheet = book.create_sheet(title=title)
    sheet.append([_excel_cell(sheet, c.name) for c in columns])
    for row in zip(*[c.values for c in columns], strict=True):
        sheet.append([_excel_cell(sheet, v) for v in row])
    book.save(target)
    return [target]


def _excel_cell(sheet: object, value: object) -> object:
    """An Excel value: numbers/booleans/dates native, the rest text. Text is forced to
    text type so "=..." is never stored as a formula (spreadsheet injection)."""
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    if isinstance(value, numbers.Integral):
        # Excel numbers are doubles: larger ints would lose digits, so they go as text.
        return int(value) if abs(int(value)) <= 2**53 else _excel_cell(sheet, str(value))
    if isinstance(value, numbers.Real) and np.isfinite(float(value)):
        return float(value)
    if isinstance(value, dt.date) and getattr(value, "tzinfo", None) is None:
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value_to_text(value) or "")  # XML cannot hold them
    if len(text) > _EXCEL_MAX_CELL:
        raise WriteError("", f"a value has {len(text)} characters; Excel allows 32,767")
    cell = WriteOnlyCell(sheet, text)
    cell.data_type = "s"
    return cell


_WRITERS: dict[str, Callable[..., list[str]]] = {
    "csv": _write_plain_csv,
    "hxl": _write_hxl,
    "xlsx": _write_xlsx,
    "shp": _write_shp,
    **{fmt: _write_gis(fmt) for fmt in ("gpkg", "geojson", "fgb", "kml")},
}


def write_layers(path: str | os.PathLike[str], layers: dict[str, pd.DataFrame], *,
                 geometry_types: dict[str, str] | None = None,
                 field_kinds: dict[str, dict[str, str]] | None = None) -> None:
    """Write several tables as the layers of one GeoPackage (IMSMA Core's layout is a layer
    per item type, issue 23), atomically like `write_table`: the file appears complete or
    not at all. A table with a "geometry" column makes a feature layer, one without an
    attribute table. ``geometry_types`` forces a layer's type (needed for empty layers,
    whose type no geometry tells); ``field_kinds`` (layer -> column -> int, float, bool,
    date, datetime or str) the type of a column that has no value to tell it, so that a
    layer's fields have the same types whatever the data."""
    path = os.fspath(path)
    if not path.lower().endswith(".gpkg"):
        raise WriteError(path, "several layers go into a GeoPackage only: name it .gpkg")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise WriteError(path, "the directory does not exist")
    with tempfile.TemporaryDirectory(dir=parent, prefix=".export-") as staging:
        staged = os.path.join(staging, os.path.basename(path))
        try:
            for name, table in layers.items():
                table = table.drop(columns=[ROW], errors="ignore")
                geometry = _geometry(table) if GEOMETRY in table.columns else None
                kinds = (field_kinds or {}).get(name, {})
                columns = [_classify(str(n), table[n]) for n in table.columns if n != GEOMETRY]
                columns = [_Column(c.name, kinds[c.name], c.values)
                           if c.name in kinds and all(v is None for v in c.values) else c
                           for c in columns]
                forced = (geometry_types or {}).get(name)
                if geometry is not None and not len(geometry) and forced is None:
                    forced = "Unknown"
                _write_gdal(staged, "GPKG", name, columns, geometry, forced, {"VERSION": "1.3"})
        except WriteError as exc:
            raise WriteError(path, exc.message) from exc.__cause__
        except (RuntimeError, OSError, ValueError, TypeError) as exc:
            raise WriteError(path, f"could not write GeoPackage: {exc}") from exc
        _publish(path, [staged])
