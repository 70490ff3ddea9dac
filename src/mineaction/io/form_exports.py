# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading ODK Central's and KoboToolbox's exports of field form submissions (issue 21,
item 6), for io/submissions.py: the tables of an export (submissions, one per repeat), the
files named in them, where each question of a form is among the columns whatever group
prefixes the export put before it, and GPS points and shapes from ODK's text.

- ODK Central's CSV zip: `<form>.csv`, one `<form>-<repeat>.csv` per repeat (rows linked by
  PARENT_KEY to the submission's KEY) and the photos in `media/`;
- KoboToolbox's XLSX export: the submissions on the first sheet, one sheet per repeat
  (linked by `_parent_index` to `_index`), and its CSV (`;` or `,` separated);
- GPS points as "lat lon alt accuracy" or split into -Latitude/-Longitude/-Altitude/
  -Accuracy (Central) or _field_latitude ... _field_precision (Kobo) columns, GPS shapes as
  "lat lon alt acc;lat lon alt acc;...".
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from mineaction.io.xlsform import FORMS, FormDef, Section

GEO_PARTS = ("latitude", "longitude", "altitude", "accuracy")
# Kobo names a split GPS point _<field>_latitude ... _<field>_precision.
_KOBO_PART = {"latitude": "latitude", "longitude": "longitude", "altitude": "altitude",
              "precision": "accuracy"}
KEY_COLUMNS = ("KEY", "meta/instanceID", "meta-instanceID", "instanceID", "_uuid")


class SubmissionsError(Exception):
    """The export cannot be read as submissions of a form (wrong file, unknown form)."""


@dataclass
class Table:
    """One sheet or CSV of an export: its name (for messages), headers and rows (with the
    spreadsheet row number each has: the header is row 1)."""

    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]


@dataclass
class Export:
    origin: str
    main: Table
    repeats: dict[str, Table]  # by repeat name (the table named after it)
    media: dict[str, Callable[[], bytes]]  # file name -> its bytes, read when needed


# -- reading the exports -------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def csv_table(name: str, text: str) -> Table:
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise SubmissionsError(f"{name}: the file is empty (no header row)")
    headers = [h.strip() for h in rows[0]]
    out = [(n, {h: _text(v) for h, v in zip(headers, row, strict=False)})
           for n, row in enumerate(rows[1:], start=2) if any(c.strip() for c in row)]
    return Table(name, headers, out)


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionsError(f"{name}: not UTF-8 text (ODK Central and KoboToolbox export "
                               "UTF-8)") from None


def xlsx_tables(path: Path) -> list[Table]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise SubmissionsError(f"{path.name}: not a readable XLSX file ({exc})") from None
    tables = []
    try:
        for sheet in book.worksheets:
            values = list(sheet.iter_rows(values_only=True))
            if not values:
                continue
            headers = [_text(h) for h in values[0]]
            rows = [(n, {h: _text(v) for h, v in zip(headers, row, strict=False) if h})
                    for n, row in enumerate(values[1:], start=2)
                    if any(_text(v) for v in row)]
            tables.append(Table(f"{path.name} (sheet {sheet.title})", headers, rows))
    finally:
        book.close()
    return tables


def _media_folder(path: Path, media_dir: Path | None) -> dict[str, Callable[[], bytes]]:
    folders = [media_dir] if media_dir else [
        path.parent / "media", path.parent / f"{path.stem}_media",
        path.parent / "attachments"]
    found: dict[str, Callable[[], bytes]] = {}
    for folder in folders:
        if folder is not None and folder.is_dir():
            for file in sorted(folder.rglob("*")):
                if file.is_file():
                    found.setdefault(file.name, file.read_bytes)
    return found


def _zip_member(archive: Path, member: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(archive) as z:
            return z.read(member)

    return read


def read_export(path: Path, form: FormDef, media_dir: Path | None = None) -> Export:
    """The submissions of `form` in an export file (see the module docstring)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return _read_central_zip(path, form, media_dir)
    if suffix == ".xlsx":
        tables = xlsx_tables(path)
        if not tables:
            raise SubmissionsError(f"{path.name}: the workbook has no rows")
        repeats = {}
        for table in tables[1:]:
            sheet = table.name.rsplit("(sheet ", 1)[-1].rstrip(")")
            for repeat in form.repeats:
                # Kobo cuts sheet names to Excel's 31 characters.
                if sheet == repeat.name[:31]:
                    repeats[repeat.name] = table
        return Export(path.name, tables[0], repeats, _media_folder(path, media_dir))
    if suffix in (".csv", ".txt"):
        table = csv_table(path.name, decode(path.read_bytes(), path.name))
        repeats = {}
        for repeat in form.repeats:  # repeat CSVs beside it, named as Central names them
            for candidate in (path.with_name(f"{path.stem}-{repeat.name}.csv"),):
                if candidate.is_file():
                    repeats[repeat.name] = csv_table(
                        candidate.name, decode(candidate.read_bytes(), candidate.name))
        return Export(path.name, table, repeats, _media_folder(path, media_dir))
    raise SubmissionsError(f"{path.name}: give an ODK Central CSV zip (.zip), or a "
                           "KoboToolbox XLSX or CSV export")


def _read_central_zip(path: Path, form: FormDef, media_dir: Path | None) -> Export:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise SubmissionsError(f"{path.name}: not a readable zip file") from None
    with archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        csvs = [n for n in names if n.lower().endswith(".csv")
                and not PurePosixPath(n).parts[0] == "media"]
        media: dict[str, Callable[[], bytes]] = {
            PurePosixPath(n).name: _zip_member(path, n) for n in names
            if "media" in PurePosixPath(n).parts[:-1]}
        repeats: dict[str, Table] = {}
        main: Table | None = None
        for name in sorted(csvs, key=len):
            stem = PurePosixPath(name).stem
            repeat = next((r for r in form.repeats if stem.endswith(f"-{r.name}")), None)
            table = csv_table(f"{path.name}:{name}", decode(archive.read(name), name))
            if repeat is not None:
                repeats[repeat.name] = table
            elif main is None:
                main = table
        if main is None:
            raise SubmissionsError(f"{path.name}: no CSV of submissions in the zip")
    media.update(_media_folder(path, media_dir) if media_dir else {})
    return Export(path.name, main, repeats, media)


# -- columns -> fields -----------------------------------------------------------------------

@dataclass
class Columns:
    """Where each field of a section is in a table: a column, or split GPS columns."""

    field_column: dict[str, str] = field(default_factory=dict)
    gps_parts: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> part -> col


_SPLIT = re.compile(r"^(?P<path>.+?)[-/_](?P<part>Latitude|Longitude|Altitude|Accuracy)$")
_KOBO_SPLIT = re.compile(r"^_(?P<path>.+)_(?P<part>latitude|longitude|altitude|precision)$")


def _segments(header: str) -> list[str]:
    return [s for s in re.split(r"[/-]", header) if s]


def locate(table: Table, section: Section, extra: Iterable[str] = ()) -> Columns:
    """Each question of `section` (and each name in `extra`: attachments) to its column,
    whatever group prefixes the export put before it."""
    wanted = {q.field for q in section.questions} | set(extra)
    multiple = {q.field for q in section.questions
                if section.spec(q).kind == "enum_set"}
    out = Columns()
    for header in table.headers:
        split = _SPLIT.match(header) or _KOBO_SPLIT.match(header)
        if split is not None:
            name = _segments(split["path"])[-1] if _segments(split["path"]) else ""
            if name in wanted:
                part = _KOBO_PART.get(split["part"].lower(), split["part"].lower())
                out.gps_parts.setdefault(name, {})[part] = header
                continue
        parts = _segments(header)
        if not parts or parts[-1] not in wanted:
            continue
        if len(parts) > 1 and parts[-2] in multiple:
            continue  # Kobo's one column per choice of a select_multiple ("contamination/ap_mine")
        out.field_column.setdefault(parts[-1], header)
    return out


def key_column(table: Table) -> str | None:
    for name in KEY_COLUMNS:
        if name in table.headers:
            return name
    return None


def guess_form(export_headers: list[str], file_name: str) -> FormDef:
    """The form an export is of: named in the file (mineaction_<form>), else the form whose
    questions most of the columns are."""
    for form in FORMS.values():
        if form.form_id in file_name or file_name.startswith(form.name):
            return form
    scores = {}
    for form in FORMS.values():
        table = Table(file_name, export_headers, [])
        found = locate(table, form.main, (a.name for a in form.attachments))
        scores[form.name] = len(found.field_column) + len(found.gps_parts)
    best = max(scores, key=lambda n: scores[n])
    if scores[best] == 0:
        raise SubmissionsError(f"{file_name}: its columns are none of a mineaction form's "
                               f"questions; give --form ({', '.join(FORMS)})")
    if sorted(scores.values())[-2:] == [scores[best]] * 2:
        raise SubmissionsError(f"{file_name}: its columns fit several forms; give --form "
                               f"({', '.join(FORMS)})")
    return FORMS[best]


# -- values ----------------------------------------------------------------------------------

def _gps_numbers(text: str) -> tuple[float, float, float | None, float | None] | None:
    parts = text.split()
    if not 2 <= len(parts) <= 4:
        return None
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    lat, lon = numbers[0], numbers[1]
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    alt = numbers[2] if len(numbers) > 2 else None
    acc = numbers[3] if len(numbers) > 3 else None
    return lat, lon, alt, acc


def parse_geopoint(text: str) -> str:
    """WKT of an ODK GPS point "lat lon [alt [accuracy]]"; ValueError if it is not one."""
    point = _gps_numbers(text)
    if point is None:
        raise ValueError(f"{text!r} is not a GPS point: expected 'latitude longitude "
                         "altitude accuracy' in decimal degrees, e.g. '6.25 -75.56 1500 4.5'")
    return f"POINT ({point[1]!r} {point[0]!r})"


def parse_geoshape(text: str) -> str:
    """WKT of an ODK GPS shape "lat lon alt acc;lat lon alt acc;...": a closed ring."""
    corners = [c.strip() for c in text.split(";") if c.strip()]
    coords = []
    for n, corner in enumerate(corners, start=1):
        point = _gps_numbers(corner)
        if point is None:
            raise ValueError(f"corner {n} ({corner!r}) is not a GPS point: a shape is "
                             "'lat lon alt acc;lat lon alt acc;...'")
        coords.append((point[1], point[0]))
    if len(coords) > 1 and coords[0] != coords[-1]:
        coords.append(coords[0])  # Kobo's web form leaves the ring open
    if len(coords) < 4:
        raise ValueError(f"{text!r} has {len(set(coords))} corners; a shape needs at least 3")
    ring = ", ".join(f"{x!r} {y!r}" for x, y in coords)
    return f"POLYGON (({ring}))"


def guess_export_form(path: Path) -> FormDef:
    """The form an export file is of (see guess_form)."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if n.lower().endswith(".csv")
                         and not n.startswith("media/")]
                main = min(names, key=len) if names else ""
                headers = csv_table(main, decode(z.read(main), main)).headers \
                    if main else []
        except zipfile.BadZipFile:
            raise SubmissionsError(f"{path.name}: not a readable zip file") from None
        return guess_form(headers, PurePosixPath(main).name or path.name)
    if path.suffix.lower() == ".xlsx":
        tables = xlsx_tables(path)
        return guess_form(tables[0].headers if tables else [], path.name)
    if path.suffix.lower() in (".csv", ".txt"):
        return guess_form(csv_table(path.name, decode(path.read_bytes(), path.name))
                          .headers, path.name)
    raise SubmissionsError(f"{path.name}: give an ODK Central CSV zip (.zip), or a "
                           "KoboToolbox XLSX or CSV export")
