"""Supported file formats, detection from a path, and the shared value-to-text rule.

Readers hand every attribute to the mapping layer as text, and the CSV/XLSX/HXL writers
write text; both use :func:`value_to_text` so that a value written by us reads back as the
same string whatever the format (e.g. ``3.0`` -> ``"3"``, ``True`` -> ``"true"``,
``date(2021, 6, 1)`` -> ``"2021-06-01"``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from mineaction.io.errors import ReadError


@dataclass(frozen=True)
class FileFormat:
    """One supported format.

    ``driver`` is the GDAL/OGR driver that reads/writes it (CSV and XLSX are read with
    pandas/openpyxl instead, so that GDAL does not guess column types; the driver name is
    still given for reference). ``suffixes`` are lower-case, longest first where one is a
    suffix of another. ``read``/``write`` say which directions we support.
    """

    name: str
    label: str
    driver: str
    geometry: bool
    suffixes: tuple[str, ...]
    read: bool = True
    write: bool = True


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat("csv", "CSV", "CSV", False, (".csv",)),
        FileFormat("xlsx", "Excel workbook", "XLSX", False, (".xlsx",)),
        FileFormat("geojson", "GeoJSON", "GeoJSON", True, (".geojson", ".json")),
        FileFormat("gpkg", "GeoPackage", "GPKG", True, (".gpkg",)),
        # A shapefile is several files; ".zip"/".shp.zip" is the one-file way to pass it on.
        FileFormat("shp", "Shapefile", "ESRI Shapefile", True, (".shp.zip", ".shp", ".zip")),
        # LIBKML also reads and writes KMZ (zipped KML), which is what Google Earth shares.
        FileFormat("kml", "KML", "LIBKML", True, (".kml", ".kmz")),
        FileFormat("fgb", "FlatGeobuf", "FlatGeobuf", True, (".fgb",)),
        # HXL is a CSV with a hashtag row under the header; it cannot be told from a plain
        # CSV by its name, so it is only ever chosen explicitly, and only for export.
        FileFormat("hxl", "HXL-tagged CSV", "CSV", False, (".csv",), read=False),
    )
}


# One HXL hashtag with optional attributes, e.g. "#affected+killed" or "#adm1 +name".
HXL_TAG_RE = re.compile(r"^#[A-Za-z][A-Za-z0-9_]*(\s*\+[A-Za-z][A-Za-z0-9_]*)*$")


def supported_suffixes() -> list[str]:
    """Suffixes that :func:`detect_format` recognises, for messages and file dialogs."""
    seen: list[str] = []
    for fmt in FORMATS.values():
        seen += [s for s in fmt.suffixes if s not in seen]
    return seen


def get_format(name: str) -> FileFormat:
    """The format called ``name`` (case-insensitive); ``KeyError`` if unknown."""
    return FORMATS[name.strip().lower()]


def detect_format(path: str | os.PathLike[str], explicit: str | None = None) -> str:
    """The format name for ``path``: ``explicit`` if given, else from the file suffix.

    The longest matching suffix wins (``x.shp.zip`` is a zipped shapefile). ``explicit``
    is how "hxl" is chosen, and lets a caller override a misleading suffix.
    Raises :class:`ReadError` naming the supported formats/suffixes otherwise.
    """
    if explicit is not None:
        try:
            return get_format(explicit).name
        except KeyError:
            names = ", ".join(FORMATS)
            raise ReadError(path, f"unknown format {explicit!r}; supported: {names}") from None
    lower = os.fspath(path).lower()
    matches = [
        (len(suffix), fmt.name)
        for fmt in FORMATS.values()
        if fmt.name != "hxl"
        for suffix in fmt.suffixes
        if lower.endswith(suffix)
    ]
    if not matches:
        suffixes = ", ".join(supported_suffixes())
        raise ReadError(path, f"unrecognised file type; supported suffixes: {suffixes}")
    return max(matches)[1]


def strip_suffix(path: str | os.PathLike[str], fmt: FileFormat) -> str:
    """File name of ``path`` without its format suffix (``a/b.shp.zip`` -> ``b``)."""
    name = os.path.basename(os.fspath(path))
    for suffix in sorted(fmt.suffixes, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return os.path.splitext(name)[0]


def is_missing(value: object) -> bool:
    """True for None and the pandas/numpy missing markers (NaN, NaT, pd.NA)."""
    if value is None:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    if isinstance(value, np.datetime64 | np.timedelta64):
        return bool(np.isnat(value))
    # pd.NA / pd.NaT without importing pandas here: both refuse bool() or compare oddly.
    return type(value).__name__ in {"NAType", "NaTType"}


def float_to_text(value: float) -> str:
    """Shortest round-trip text; whole numbers without ".0" as a spreadsheet shows them."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def value_to_text(value: object) -> str | None:
    """The text form of one attribute value, or None if it is missing.

    Rules (shared by readers and text writers): str unchanged; bool -> "true"/"false";
    int -> decimal; float -> shortest round-trip repr, whole numbers without ".0";
    date -> YYYY-MM-DD; datetime -> ISO 8601 (no microseconds if zero); lists/dicts
    (GeoJSON arrays/objects) -> JSON; bytes -> hex; anything else -> str().
    """
    if is_missing(value):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return float_to_text(float(value))
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, np.datetime64):
        # Day-or-coarser units are dates; finer ones are datetimes (pandas Timestamp is a
        # datetime subclass already and keeps its nanoseconds in isoformat()).
        unit = np.datetime_data(value.dtype)[0]
        coarse = unit in ("Y", "M", "W", "D")
        value = value.astype("datetime64[D]" if coarse else "datetime64[us]").item()
    if isinstance(value, dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)
