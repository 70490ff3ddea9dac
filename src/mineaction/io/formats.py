"""What we know about file formats, shared by readers and writers.

* the supported formats, one declaration each (:data:`FORMATS`), and their detection from a
  path (:func:`detect_format`). Every list of formats a user sees (the command line's help
  and choices, the API's parameter descriptions, the docs) is rendered from FORMATS by the
  helpers below, so a new format is declared once (issue 14);
* CSV dialect sniffing (encoding, delimiter) and HXL hashtag rows;
* the value-to-text rule: readers hand every attribute to the mapping layer as text and the
  CSV/XLSX/HXL writers write text, both through :func:`value_to_text`, so a value written by
  us reads back as the same string whatever the format (``3.0`` -> ``"3"``, ``True`` ->
  ``"true"``, ``date(2021, 6, 1)`` -> ``"2021-06-01"``);
* per-format quirks: Excel dates, GDAL typed fields, LIBKML's extra fields, DBF field names.
"""

from __future__ import annotations

import codecs
import csv
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
    suffix of another. ``read``/``write`` say which directions we support; ``geometry``
    whether the format carries geometries (CSV and XLSX carry points as longitude/latitude
    columns and other shapes as WKT instead). ``by_suffix`` is False for a format that
    cannot be told from its file name and is only ever chosen by name. ``description`` is
    the one line help texts and docs show about it.
    """

    name: str
    label: str
    driver: str
    geometry: bool
    suffixes: tuple[str, ...]
    read: bool = True
    write: bool = True
    by_suffix: bool = True
    description: str = ""

    @property
    def suffixes_text(self) -> str:
        """The file names it goes by: ".shp.zip, .shp, .zip"."""
        return ", ".join(self.suffixes)


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat("csv", "CSV", "CSV", False, (".csv",),
                   description="comma, semicolon or tab separated, encoding detected; "
                   "points as longitude and latitude columns, other shapes as WKT"),
        FileFormat("xlsx", "Excel workbook", "XLSX", False, (".xlsx",),
                   description="one sheet (the first, unless named); columns as in CSV"),
        FileFormat("geojson", "GeoJSON", "GeoJSON", True, (".geojson", ".json")),
        FileFormat("gpkg", "GeoPackage", "GPKG", True, (".gpkg",),
                   description="one layer (name it when the file has several)"),
        # A shapefile is several files; ".zip"/".shp.zip" is the one-file way to pass it on.
        FileFormat("shp", "Shapefile", "ESRI Shapefile", True, (".shp.zip", ".shp", ".zip"),
                   description="a .shp with its sidecar files, or a zip holding them; field "
                   "names at most 10 characters"),
        # LIBKML also reads and writes KMZ (zipped KML), which is what Google Earth shares.
        FileFormat("kml", "KML", "LIBKML", True, (".kml", ".kmz"),
                   description="KML or KMZ (zipped KML), as Google Earth shares them"),
        FileFormat("fgb", "FlatGeobuf", "FlatGeobuf", True, (".fgb",)),
        # HXL is a CSV with a hashtag row under the header; it cannot be told from a plain
        # CSV by its name, so it is only ever chosen explicitly, and only for export.
        FileFormat("hxl", "HXL-tagged CSV", "CSV", False, (".csv",), read=False,
                   by_suffix=False,
                   description="CSV with a row of HXL hashtags under the header, for HDX; "
                   "chosen by name only"),
    )
}


def readable() -> list[FileFormat]:
    """The formats files can be imported from, in declaration order."""
    return [f for f in FORMATS.values() if f.read]


def writable() -> list[FileFormat]:
    """The formats records can be exported to, in declaration order."""
    return [f for f in FORMATS.values() if f.write]


def _one_of(words: list[str]) -> str:
    """The words as "a, b or c"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def read_formats_text() -> str:
    """The importable formats with their file names, for help texts: "CSV (.csv), ...,
    Shapefile (.shp.zip, .shp, .zip), ... or FlatGeobuf (.fgb)"."""
    return _one_of([f"{f.label} ({f.suffixes_text})" for f in readable()])


def write_choices_text() -> str:
    """The names `--format`/`?format=` take for exports, for help texts: "csv, ... or hxl
    (HXL-tagged CSV)"; a name that is not the label's lower case gets its label."""
    return _one_of([f.name if f.label.lower() == f.name else f"{f.name} ({f.label})"
                    for f in writable()])


def formats_list(direction: str = "read") -> str:
    """One Markdown list item per format ("read" or "write"): label, file names, notes; for
    descriptions that have room (the API's, the docs')."""
    if direction not in ("read", "write"):
        raise ValueError("direction is 'read' or 'write'")
    chosen = readable() if direction == "read" else writable()
    return "\n".join(f"- {f.label} (`{f.name}`; {f.suffixes_text})"
                     + (f": {f.description}" if f.description else "") for f in chosen)


# Shapefile field names longer than 10 bytes are cut by the writer, which records the full
# names in this sidecar next to the .shp (field,column rows); the reader restores them.
SHP_NAMES_SUFFIX = ".fields.csv"
# Placemark properties LIBKML exposes as fields, with the value that means "not set".
KML_STANDARD_FIELDS = {
    "id": None, "Name": None, "description": None, "timestamp": None, "begin": None,
    "end": None, "altitudeMode": None, "tessellate": "-1", "extrude": "0",
    "visibility": "-1", "drawOrder": None, "icon": None, "snippet": None,
}  # fmt: skip
_SNIFF_BYTES = 16 * 1024
_CSV_DELIMITERS = ",;\t"
# One HXL hashtag with optional attributes, e.g. "#affected+killed" or "#adm1 +name".
HXL_TAG_RE = re.compile(r"^#[A-Za-z][A-Za-z0-9_]*(\s*\+[A-Za-z][A-Za-z0-9_]*)*$")


def hxl_tags_in(row: dict[str, str | None]) -> dict[str, str] | None:
    """The row's non-empty cells if they are all HXL hashtags (column -> tag), else None."""
    tags = {k: v.strip() for k, v in row.items() if v is not None}
    return tags if tags and all(HXL_TAG_RE.match(v) for v in tags.values()) else None


def supported_suffixes() -> list[str]:
    """Suffixes that :func:`detect_format` recognises, for messages and file dialogs."""
    seen: list[str] = []
    for fmt in FORMATS.values():
        if not fmt.by_suffix:
            continue
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
        if fmt.by_suffix
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


@dataclass(frozen=True)
class CsvDialect:
    encoding: str
    delimiter: str


def sniff_csv(path: str | os.PathLike[str], encoding: str | None = None) -> CsvDialect:
    """Detect encoding (unless given) and delimiter (``,`` ``;`` or tab) of a CSV file.

    Encoding: a BOM wins (UTF-8 or UTF-16, as Excel writes); otherwise UTF-8 if the whole
    file decodes as UTF-8; otherwise cp1252 (what Excel on Windows writes for "CSV"; it
    agrees with latin-1 on letters such as "ñ" but also has "€" and curly quotes), or latin-1
    if the file uses one of the 5 bytes cp1252 leaves undefined.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    if encoding is not None:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ReadError(path, f"unknown encoding {encoding!r}") from None
    else:
        encoding = _detect_encoding(path, head)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    if len(head) == _SNIFF_BYTES and "\n" in text:
        text = text[: text.rfind("\n")]  # the last line is probably cut short
    if not text.strip():
        raise ReadError(path, "file is empty")
    header = text.splitlines()[0]
    try:
        delimiter = csv.Sniffer().sniff(text, delimiters=_CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if not delimiter or delimiter not in header:
        # Sniffer gives up on one-column files and can be fooled by delimiters in the data;
        # the header line is the best witness then.
        delimiter = max(_CSV_DELIMITERS, key=header.count)
        delimiter = delimiter if header.count(delimiter) else ","
    return CsvDialect(encoding, delimiter)


def _detect_encoding(path: str, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        try:
            for block in iter(lambda: f.read(1 << 20), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
        f.seek(0)
        undefined = [bytes([b]) for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]
        for block in iter(lambda: f.read(1 << 20), b""):
            if any(b in block for b in undefined):
                return "latin-1"
    return "cp1252"


def cut_utf8(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes without splitting a character."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def shp_field_names(names: list[str]) -> list[str]:
    """DBF field names: at most 10 bytes, unique ignoring case; "_<n>" on collisions.
    Deterministic: depends only on the column order."""
    taken: set[str] = set()
    out = []
    for name in names:
        candidate, n = cut_utf8(name, 10), 0
        while candidate.lower() in taken:
            n += 1
            candidate = cut_utf8(name, 10 - len(f"_{n}")) + f"_{n}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


# --- reading typed values as text ---------------------------------------------------


def excel_cell_text(cell: object) -> str | None:
    """An openpyxl cell as text. Excel has no date type: a date is a number with a date
    format, read as a midnight datetime; it is a date unless the format shows a time."""
    value = getattr(cell, "value", None)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        # Drop locale tags ("[$-es-CO]") and quoted literals before looking for h or s.
        fmt = re.sub(r'\[[^\]]*\]|"[^"]*"', "", str(getattr(cell, "number_format", "")))
        if not re.search("[hHsS]", fmt):
            return value.date().isoformat()
    return value_to_text(value)


def gdal_field_text(values: np.ndarray, ogr_type: str, subtype: str) -> np.ndarray:
    """Typed GDAL values to text. pyogrio returns integer fields with nulls as float/NaN,
    so ints and booleans are formatted from the OGR type, not from the numpy dtype."""
    if ogr_type in ("OFTInteger", "OFTInteger64"):
        if subtype == "OFSTBoolean":
            out = [None if v != v else ("true" if v else "false") for v in values.tolist()]
        else:
            out = [None if v != v else str(int(v)) for v in values.tolist()]
    elif ogr_type == "OFTReal":
        out = [None if v != v else float_to_text(float(v)) for v in values.tolist()]
    else:
        # Strings (and dates, read as strings) pass as they are; lists, binary... as text.
        out = [v if v.__class__ is str else value_to_text(v) for v in values]
    text = np.array(out, dtype=object)
    text[text == ""] = None  # missing, as in CSV/XLSX and as shapefiles and KML store it
    return text


def tidy_kml_fields(columns: dict[str, np.ndarray], layer: str | None) -> dict[str, np.ndarray]:
    """Drop the placemark properties LIBKML always exposes when they carry nothing
    (unset, default, or GDAL's own "<layer>.<n>" ids), and call <name> "name"."""
    generated_id = re.compile(rf"^{re.escape(str(layer))}\.\d+$")
    tidy = {}
    for field, values in columns.items():
        if field in KML_STANDARD_FIELDS:
            default = KML_STANDARD_FIELDS[field]
            unset = all(v is None or v == default for v in values)
            if field == "id":
                unset = unset or all(v is None or generated_id.match(v) for v in values)
            if unset:
                continue
        if field == "Name" and "name" not in columns:
            field = "name"
        tidy[field] = values
    return tidy


# What makes a spreadsheet run a cell as a formula (OWASP: CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: object) -> str:
    """A value as a CSV cell. Text a spreadsheet would run as a formula (=, +, -, @, a tab
    or a return first) gets a leading apostrophe, which Excel, LibreOffice and Google
    Sheets show as text (issue 15, 14); so does text that already starts with apostrophes
    before such a character, so `csv_value` gives every text back exactly. Numbers stay
    numbers."""
    text = value_to_text(value) or ""
    if isinstance(value, str) and text.lstrip("'").startswith(FORMULA_START):
        return "'" + text
    return text


def csv_value(text: str) -> str:
    """A CSV cell's text as written by `csv_text`: its protective apostrophe removed."""
    if text.startswith("'") and text.lstrip("'").startswith(FORMULA_START):
        return text[1:]
    return text
