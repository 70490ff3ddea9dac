"""Read any supported file into a table of text, for the mapping layer.

Contract of every returned DataFrame:

* one column per source attribute, object dtype, each value a ``str`` or ``None`` (empty
  text is None). Nothing is type-guessed: the mapping layer parses numbers ("2,006") and
  dates itself, and codes keep their leading zeros. Typed GIS/Excel values are turned into
  text by :mod:`mineaction.io.formats` (``3.0`` -> ``"3"``, booleans -> "true"/"false",
  dates -> ISO 8601). XLSX: the first non-empty row of the sheet is the header; formulas
  give their cached value (none if the file was never saved by a spreadsheet program).
* GIS formats add ``"geometry"``: shapely geometries (or None) in EPSG:4326 lon/lat, 2D
  (elevations are dropped), reprojected if the source CRS differs. A source without a CRS
  is assumed to be lon/lat already (a shapefile without .prj, usually a GPS export).
* KML files and zips holding several shapefiles are read whole, with a ``"layer"`` column
  naming the folder/shapefile when there is more than one. A GeoPackage with several layers
  needs ``layer=``. KML <name> is the column "name"; LIBKML trims spaces around values.
* ``"__row__"`` (int): the row number to quote in error messages, as a spreadsheet shows
  it. CSV: the header is row 1, so the first data row is 2; a quoted value spanning lines
  is one row; blank rows are skipped but counted. XLSX: the sheet's own row number. GIS
  formats: the 1-based feature index within its layer.
* ``attrs`` holds what was detected: "format", "encoding"/"delimiter" (CSV), "crs" (source
  CRS of GIS data), "hxl_tags" (when row 2 holds HXL hashtags; that row is not data).
"""

from __future__ import annotations

import csv
import os
import sqlite3
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import closing
from typing import Any, NamedTuple

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
import shapely
from openpyxl.utils import get_column_letter
from pyogrio import raw

from mineaction.io.errors import ReadError
from mineaction.io.formats import (
    SHP_NAMES_SUFFIX,
    csv_value,
    excel_cell_text,
    gdal_field_text,
    get_format,
    hxl_tags_in,
    sniff_csv,
    tidy_kml_fields,
)
from mineaction.io.formats import detect_format as _detect

ROW = "__row__"
GEOMETRY = "geometry"
LAYER = "layer"

# What GDAL/GEOS/PROJ raise for bad files (pyogrio's errors are RuntimeErrors); programming
# errors (AttributeError, TypeError...) are left alone so they are not mistaken for bad data.
_GDAL_ERRORS = (
    RuntimeError, OSError, ValueError, shapely.errors.GEOSException, pyproj.exceptions.CRSError
)
# GDAL drivers where skip_features is cheap, so chunks can be read without loading all.
_STREAMABLE = {"gpkg", "fgb", "shp"}


class _Source(NamedTuple):
    """One GDAL layer to read: dataset path, layer name, and the zip holding it, if any."""

    dataset: str
    layer: str | None
    zip_member: str | None = None


def read_table(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read the whole file; see the module docstring for the shape of the result.

    ``layer`` picks a GeoPackage layer, a KML folder or a shapefile in a zip; ``sheet`` an
    XLSX sheet (default: the first); ``encoding`` overrides detection for CSV and for
    shapefiles without a .cpg. Raises :class:`ReadError` for any failure.
    """
    path, fmt = _check(path)
    if fmt == "csv":
        return _concat(list(_csv_chunks(path, encoding, chunksize=100_000)))
    if fmt == "xlsx":
        return _read_xlsx(path, sheet)
    return _read_gis(path, fmt, layer, encoding)


def iter_table_chunks(
    path: str | os.PathLike[str],
    *,
    chunksize: int = 100_000,
    layer: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield the table in chunks of at most ``chunksize`` rows, same columns as read_table.

    Streams in constant memory for CSV, XLSX and for single-layer GeoPackage, FlatGeobuf
    and shapefiles; other formats are read whole and then sliced. At least one (possibly empty)
    chunk is yielded; the index continues across chunks so ``pd.concat`` equals read_table.
    """
    if chunksize < 1:
        raise ValueError("chunksize must be at least 1")
    path, fmt = _check(path)
    if fmt == "csv":
        yield from _csv_chunks(path, encoding, chunksize)
        return
    if fmt == "xlsx":
        yield from _xlsx_chunks(path, sheet, chunksize)
        return
    if fmt in _STREAMABLE:
        sources = _gis_sources(path, fmt, layer)
        if len(sources) == 1:
            yield from _gis_layer_chunks(path, fmt, sources[0], encoding, chunksize)
            return
    table = read_table(path, layer=layer, sheet=sheet, encoding=encoding)
    for start in range(0, max(len(table), 1), chunksize):
        yield table.iloc[start : start + chunksize]


def _check(path: str | os.PathLike[str]) -> tuple[str, str]:
    path = os.fspath(path)
    fmt = _detect(path)
    if not os.path.exists(path):
        raise ReadError(path, "file not found")
    if os.path.isdir(path):
        raise ReadError(path, "is a directory, not a file")
    if os.path.getsize(path) == 0:
        raise ReadError(path, "file is empty")
    return path, fmt


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = frames[0] if len(frames) == 1 else pd.concat(frames)
    table.attrs = dict(frames[0].attrs)
    return table


def _text_frame(path: str, columns: dict[str, np.ndarray], rows: np.ndarray) -> pd.DataFrame:
    """Build the result frame; dtype=object stops pandas 3 inferring its "str" dtype."""
    if ROW in columns:
        raise ReadError(path, f"column name {ROW!r} is reserved for row numbers")
    frame = pd.DataFrame(columns, dtype=object, index=pd.RangeIndex(len(rows)))
    frame[ROW] = np.asarray(rows, dtype=np.int64)
    return frame


def _object_column(frame: pd.DataFrame, values: object) -> pd.Series:
    """A column to add to ``frame``, kept as object (pandas 3 would infer "str")."""
    return pd.Series(values, index=frame.index, dtype=object)


def _take_hxl_row(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str] | None]:
    """If the first data row is HXL hashtags, drop it and return them (column -> tag)."""
    tags = hxl_tags_in(frame.iloc[0].drop(ROW).to_dict()) if len(frame) else None
    return (frame.iloc[1:], tags) if tags else (frame, None)


def _drop_empty_rows(frame: pd.DataFrame) -> pd.DataFrame:
    values = frame.drop(columns=[ROW]).to_numpy(dtype=object)
    if values.size == 0:
        return frame
    keep = ~(values == None).all(axis=1)  # noqa: E711 -- elementwise, not identity
    return frame if keep.all() else frame[keep]


# --- CSV -------------------------------------------------------------------------------


def _unprotect_formulas(values: np.ndarray) -> None:
    """Cells our CSV writer protected from spreadsheets ('=...) read back as written."""
    for i in np.flatnonzero([isinstance(v, str) and v[:1] == "'" for v in values]):
        values[i] = csv_value(values[i])


def _csv_chunks(path: str, encoding: str | None, chunksize: int) -> Iterator[pd.DataFrame]:
    dialect = sniff_csv(path, encoding)
    attrs: dict[str, object] = {
        "format": "csv", "encoding": dialect.encoding, "delimiter": dialect.delimiter,
    }  # fmt: skip
    try:
        # dtype=object + na_filter=False: every cell stays the exact text (no "NA" -> NaN,
        # no "007" -> 7); blank lines are kept so the record count matches spreadsheet rows.
        reader = pd.read_csv(
            path, sep=dialect.delimiter, encoding=dialect.encoding, dtype=object,
            na_filter=False, keep_default_na=False, skip_blank_lines=False,
            chunksize=chunksize, engine="c",
        )  # fmt: skip
        with reader:
            records = 0
            yielded = 0
            for chunk in reader:
                if not isinstance(chunk.index, pd.RangeIndex):
                    # pandas' "implicit index": the first data row had more fields than the
                    # header and its first value(s) would silently become the index.
                    raise ReadError(path, f"row {records + 2} has more fields than the header"
                                    " (check the delimiter and quoting)")  # fmt: skip
                columns = {}
                for name in chunk.columns:
                    values = chunk[name].to_numpy(dtype=object, copy=True)
                    values[(values == "") | pd.isna(values)] = None
                    _unprotect_formulas(values)
                    columns[str(name).strip()] = values  # headers as typed: ' fecha ' is 'fecha'
                rows = np.arange(records + 2, records + 2 + len(chunk))
                frame = _text_frame(path, columns, rows)
                records += len(chunk)
                if records == len(chunk):
                    frame, tags = _take_hxl_row(frame)
                    if tags:
                        attrs["hxl_tags"] = tags
                frame = _drop_empty_rows(frame)
                frame.index = pd.RangeIndex(yielded, yielded + len(frame))
                yielded += len(frame)
                frame.attrs = dict(attrs)
                yield frame
    except ReadError:
        raise
    except pd.errors.EmptyDataError:
        raise ReadError(path, "file is empty (no header row)") from None
    except (pd.errors.ParserError, UnicodeError, ValueError) as exc:
        raise ReadError(path, f"not a valid CSV file: {exc}") from exc


# --- XLSX ------------------------------------------------------------------------------


def _read_xlsx(path: str, sheet: str | None) -> pd.DataFrame:
    frames = list(_xlsx_chunks(path, sheet, chunksize=100_000))
    # A column with no header appears in the chunk where its first value is: the last
    # chunk has them all, in sheet order; earlier chunks lack it (None there).
    columns = list(frames[-1].columns)
    table = pd.concat([f.reindex(columns=columns, fill_value=None) for f in frames],
                      ignore_index=True) if len(frames) > 1 else frames[0]
    table.attrs = dict(frames[0].attrs)
    return table


def _open_sheet(path: str, sheet: str | None) -> tuple[Any, Any]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about Excel features it drops (data validation, slicers...);
            # they do not affect cell values.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # BadZipFile, InvalidFileException, KeyError on missing parts
        raise ReadError(path, f"not a valid Excel .xlsx workbook ({exc})") from exc
    try:
        if sheet is None:
            if not book.worksheets:
                raise ReadError(path, "workbook has no worksheet")
            return book, book.worksheets[0]
        if sheet in book.sheetnames:
            return book, book[sheet]
        raise ReadError(path, f"no sheet {sheet!r}; sheets: {', '.join(book.sheetnames)}")
    except BaseException:
        book.close()
        raise


def _xlsx_chunks(path: str, sheet: str | None, chunksize: int) -> Iterator[pd.DataFrame]:
    """The sheet in chunks of at most ``chunksize`` rows, read row by row (openpyxl's
    read-only mode): memory holds one chunk, not the workbook (issue 15: 0.43 KB a row
    held whole before)."""
    book, ws = _open_sheet(path, sheet)
    header: list[str | None] | None = None
    names: dict[int, str] = {}  # sheet column index -> column name, in the frames
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    yielded = 0
    attrs: dict[str, object] = {"format": "xlsx", "sheet": ws.title}

    def frame_of(first: bool) -> pd.DataFrame:
        nonlocal yielded
        assert header is not None
        width = max([len(header)] + [len(r) for r in rows])
        for i in range(width):
            if i in names:
                continue
            name = header[i] if i < len(header) else None
            if name is None:
                if all(i >= len(r) or r[i] is None for r in rows):
                    continue  # formatting-only column (so far)
                name = f"column_{get_column_letter(i + 1)}"
            names[i] = _unique(name, {n: None for n in names.values()})
        columns = {names[i]: np.array([r[i] if i < len(r) else None for r in rows],
                                      dtype=object) for i in sorted(names)}
        frame = _text_frame(path, columns, np.array(numbers, dtype=np.int64))
        if first:
            frame, tags = _take_hxl_row(frame)
            if tags:
                attrs["hxl_tags"] = tags
        frame.index = pd.RangeIndex(yielded, yielded + len(frame))
        yielded += len(frame)
        frame.attrs = dict(attrs)
        rows.clear()
        numbers.clear()
        return frame

    first = True
    try:
        for number, cells in enumerate(ws.iter_rows(min_row=1, min_col=1), start=1):
            values = [excel_cell_text(c) for c in cells]
            if header is None:
                if any(v is not None for v in values):  # title-less: first non-empty row
                    header = values
                continue
            if any(v is not None for v in values):
                rows.append(values)
                numbers.append(number)
                if len(rows) >= chunksize:
                    yield frame_of(first)
                    first = False
        if header is None:
            raise ReadError(path, f"sheet {ws.title!r} is empty")
        if rows or first:
            yield frame_of(first)
    except ReadError:
        raise
    except GeneratorExit:
        raise
    except Exception as exc:
        raise ReadError(path, f"could not read the workbook: {exc}") from exc
    finally:
        book.close()


def _unique(name: str, taken: dict[str, object]) -> str:
    candidate, n = name, 0
    while candidate in taken:
        n += 1
        candidate = f"{name}.{n}"  # pandas' convention for duplicate headers
    return candidate


# --- GIS formats via GDAL --------------------------------------------------------------


def _vsizip(path: str) -> str:
    return "/vsizip/" + os.path.abspath(path).replace(os.sep, "/")


def _gis_sources(path: str, fmt: str, layer: str | None) -> list[_Source]:
    """The layers to read; KML folders and zipped shapefiles may give several."""
    if fmt == "shp" and path.lower().endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise ReadError(path, f"not a valid zip file ({exc})") from exc
        sources = [
            _Source(f"{_vsizip(path)}/{m}", os.path.splitext(os.path.basename(m))[0], m)
            for m in sorted(members)
            if m.lower().endswith(".shp") and not m.startswith("__MACOSX/")
        ]
        if not sources:
            raise ReadError(path, "zip file contains no shapefile (.shp)")
        if layer is None:
            return sources
        chosen = [s for s in sources if s.layer == layer]
        if not chosen:
            found = ", ".join(str(s.layer) for s in sources)
            raise ReadError(path, f"no shapefile {layer!r} in the zip; found: {found}")
        return chosen
    if fmt == "shp" or (fmt in ("geojson", "fgb") and layer is None):
        return [_Source(path, None)]  # one layer per file: no need to open it twice
    if fmt == "gpkg":
        # Before GDAL opens it: listing the layers reads a view whole.
        _refuse_computed_layers(path, layer)
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except _GDAL_ERRORS as exc:
        raise ReadError(path, f"not a valid {get_format(fmt).label} file ({exc})") from exc
    names = [n for n in names if n != "layer_styles"]  # QGIS stores styles in a GeoPackage
    if layer is not None:
        if layer not in names:
            raise ReadError(path, f"no layer {layer!r}; layers: {', '.join(names)}")
        return [_Source(path, layer)]
    if not names:
        raise ReadError(path, "file has no layers")
    if fmt == "kml" or len(names) == 1:
        return [_Source(path, n) for n in names]
    # Unlike KML folders, GeoPackage layers are usually different datasets: don't guess.
    raise ReadError(path, f"file has {len(names)} layers ({', '.join(names)}); choose one")


def _refuse_computed_layers(path: str, layer: str | None) -> None:
    """A GeoPackage layer that is a view, or a table with computed (virtual generated)
    columns, runs the uploader's SQL on every read (and GDAL reads a view whole just to
    list it): a 72 KB file made an import read for ever (issue 15). Only stored rows are
    imported: such layers are refused before GDAL opens the file."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            kinds = dict(db.execute("SELECT name, type FROM sqlite_master "
                                    "WHERE type IN ('table', 'view')").fetchall())
            if "gpkg_contents" not in kinds:
                return  # GDAL will say what is wrong with the file
            layers = [str(n) for (n,) in db.execute("SELECT table_name FROM gpkg_contents")]
            for name in [layer] if layer is not None else layers:
                if kinds.get(name) == "view":
                    raise ReadError(path, f"layer {name!r} is a view, not a table: only "
                                    "stored rows can be imported (save it as a table)")
                if kinds.get(name) == "table":
                    quoted = '"' + name.replace('"', '""') + '"'
                    hidden = [str(r[1]) for r in db.execute(f"PRAGMA table_xinfo({quoted})")
                              if r[6] == 2]
                    if hidden:
                        raise ReadError(path, f"layer {name!r} has computed columns "
                                        f"({', '.join(hidden)}): only stored values can be "
                                        "imported (save it as a plain table)")
    except sqlite3.Error as exc:
        raise ReadError(path, f"not a valid GeoPackage file ({exc})") from exc


def _read_gis(path: str, fmt: str, layer: str | None, encoding: str | None) -> pd.DataFrame:
    sources = _gis_sources(path, fmt, layer)
    frames = [_read_gis_layer(path, fmt, source, encoding) for source in sources]
    if len(frames) == 1:
        return frames[0]
    columns: list[str] = []
    for frame, source in zip(frames, sources, strict=True):
        if LAYER in frame.columns:
            raise ReadError(path, f"field name {LAYER!r} clashes with the layer column")
        frame.insert(len(frame.columns) - 2, LAYER, _object_column(frame, source.layer))
        columns += [c for c in frame.columns if c not in columns]
    for frame in frames:
        for c in columns:
            if c not in frame.columns:
                frame[c] = _object_column(frame, None)
    table = pd.concat([f[columns] for f in frames], ignore_index=True)
    table.attrs = frames[0].attrs
    return table


def _gis_layer_chunks(
    path: str, fmt: str, source: _Source, encoding: str | None, chunksize: int
) -> Iterator[pd.DataFrame]:
    skip = 0
    while True:
        frame = _read_gis_layer(path, fmt, source, encoding, skip, chunksize)
        frame.index = pd.RangeIndex(skip, skip + len(frame))
        if len(frame) or not skip:
            yield frame
        if len(frame) < chunksize:
            return
        skip += chunksize


def _read_gis_layer(
    path: str, fmt: str, source: _Source, encoding: str | None,
    skip: int = 0, limit: int | None = None,
) -> pd.DataFrame:  # fmt: skip
    label = get_format(fmt).label
    try:
        meta, _, wkb, fields = raw.read(
            source.dataset, layer=source.layer, encoding=encoding if fmt == "shp" else None,
            force_2d=True, datetime_as_string=True, skip_features=skip, max_features=limit,
            # GeoJSON would otherwise turn date-like strings into (reformatted) dates.
            **({"DATE_AS_STRING": "YES"} if fmt == "geojson" else {}),
        )  # fmt: skip
        count = len(wkb) if wkb is not None else len(fields[0]) if fields else 0
        # on_invalid="fix": GEOS refuses e.g. rings of < 4 points that GDAL passes on;
        # repairing (or None) lets validation report the row instead of failing the file.
        geometry = (
            shapely.from_wkb(wkb, on_invalid="fix")
            if wkb is not None
            else np.full(count, None, dtype=object)
        )
        geometry = _to_lonlat(geometry, meta["crs"])
    except _GDAL_ERRORS as exc:
        raise ReadError(path, f"not a valid {label} file ({exc})") from exc
    columns = {
        field: gdal_field_text(values, ogr_type, subtype)
        for field, ogr_type, subtype, values in zip(
            meta["fields"], meta["ogr_types"], meta["ogr_subtypes"], fields, strict=True
        )
    }
    if fmt == "kml":
        columns = tidy_kml_fields(columns, source.layer)
    elif fmt == "shp":
        columns = _restore_shp_names(columns, path, source)
    if GEOMETRY in columns:
        raise ReadError(path, f"field name {GEOMETRY!r} clashes with the geometry column")
    frame = _text_frame(path, columns, np.arange(skip + 1, skip + 1 + count))
    frame.insert(len(frame.columns) - 1, GEOMETRY, _object_column(frame, geometry))
    frame.attrs = {"format": fmt, "crs": meta["crs"]}
    return frame


_WGS84 = pyproj.CRS.from_epsg(4326)


def _to_lonlat(geometry: np.ndarray, crs: str | None) -> np.ndarray:
    if crs is None:
        return geometry
    source = pyproj.CRS.from_user_input(crs)
    if source.equals(_WGS84, ignore_axis_order=True):
        return geometry
    # always_xy: files store x=easting/longitude first, whatever the CRS's axis order says.
    transformer = pyproj.Transformer.from_crs(source, _WGS84, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geometry, project)


def _restore_shp_names(
    columns: dict[str, np.ndarray], path: str, source: _Source
) -> dict[str, np.ndarray]:
    """Undo the writer's 10-byte field-name truncation using its sidecar, if present."""
    try:
        if source.zip_member is not None:
            member = os.path.splitext(source.zip_member)[0] + SHP_NAMES_SUFFIX
            with zipfile.ZipFile(path) as archive:
                text = archive.read(member).decode("utf-8")
        else:
            with open(os.path.splitext(path)[0] + SHP_NAMES_SUFFIX, encoding="utf-8") as f:
                text = f.read()
        names = {row["field"]: row["column"] for row in csv.DictReader(text.splitlines())}
    except (OSError, KeyError, UnicodeError, zipfile.BadZipFile, csv.Error):
        return columns
    restored = {names.get(k, k): v for k, v in columns.items()}
    return restored if len(restored) == len(columns) else columns
