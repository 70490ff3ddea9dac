"""Apply a mapping's field rules to a chunk of source rows and check the result.

Everything works on whole pandas columns. The output is store-ready: enum codes, ISO dates,
numbers, and geometries as shapely objects or, for points built from coordinate columns, as
longitude/latitude arrays that the store encodes in one vectorised step.

Checks come from the domain model's column specs (domain/columns.py): required fields,
enumeration codes, numeric bounds, text length; tests/io/test_transform.py holds them to the
pydantic models' verdicts, field by field. Geometries and the rules across fields are the
models' own functions (domain/rules.py), applied to each distinct combination of their
inputs (geometries row by row), so the two paths share one definition of them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely

from mineaction.domain.columns import ColumnSpec, columns
from mineaction.domain.columns import column as column_spec
from mineaction.domain.models import ENTITIES
from mineaction.domain.rules import KIND_RULES, Rule, RuleError, geometry_problem
from mineaction.geo import coordinates
from mineaction.io.mapping import FieldRule, MappingError

ROW = "__row__"


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str
    column: str | None = None
    value: Any = None
    rule: str | None = None  # the domain rule that failed ("geometry" for its checks)

    def describe(self, file_name: str) -> str:
        where = f"field {self.field}" + (f" (column {self.column!r})" if self.column else "")
        return f"{file_name}, row {self.row}, {where}: {self.message}"


@dataclass
class Points:
    """Point geometries as coordinate arrays (NaN where there is none)."""

    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return len(self.lon)

    def take(self, mask: np.ndarray) -> Points:
        return Points(self.lon[mask], self.lat[mask])

    def geometries(self) -> list[Any]:
        out = shapely.points(self.lon, self.lat)
        return [None if np.isnan(x) else g for g, x in zip(out, self.lon, strict=True)]


@dataclass
class Mapped:
    """One chunk mapped to one entity kind: a column per field, and what went wrong."""

    kind: str
    rows: np.ndarray  # source row numbers
    values: dict[str, Any] = field(default_factory=dict)  # Series, or Points for geometry
    errors: list[RowError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors}


_EMPTY = {"", "NA", "N/A", "NULL", "null", "None"}


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        present = [str(c) for c in df.columns if c != ROW]
        raise MappingError(f"column {name!r} is not in the file{did_you_mean(name, present)}; "
                           f"the file has: {', '.join(present)}")
    return df[name]


def did_you_mean(name: str, choices: list[str]) -> str:
    """" (did you mean 'X'?)" for the choice closest to a misspelt name, else ""."""
    folded = {c.casefold().strip(): c for c in choices}
    close = difflib.get_close_matches(name.casefold().strip(), list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""


# Whole numbers written with a thousands separator: "5,313", "2.006", "12 062", "1'250".
_GROUPED = re.compile(r"^\d{1,3}(?:([,.' \u00a0\u202f])\d{3})(?:\1\d{3})*$")


def ungroup_integers(s: pd.Series) -> pd.Series:
    """Whole numbers written with thousands separators, as digits ("5,313" -> "5313");
    other values unchanged. For codes and date parts, which are never fractions."""
    text = s.astype("string")
    grouped = text.str.match(_GROUPED).fillna(False).astype(bool)
    if not grouped.any():
        return s
    return s.mask(grouped, text.str.replace(r"\D", "", regex=True))


def _clean_text(s: pd.Series, null_values: list[str]) -> pd.Series:
    """Text with surrounding blanks trimmed and empty markers as missing. pandas' Arrow
    backed "str" dtype does the string work in C++, not a Python loop a cell."""
    if s.dtype == object and len(s) and not isinstance(s.iloc[0], str | type(None)):
        s = s.map(lambda v: None if v is None else str(v))
    s = s.astype("str").str.strip()
    return s.mask(s.isin(list(_EMPTY | set(null_values))))


def _parse_numbers(s: pd.Series, fmt: Any) -> pd.Series:
    text = s.astype("string")
    if fmt is not None and fmt.thousands:
        text = text.str.replace(fmt.thousands, "", regex=False)
    if fmt is not None and fmt.decimal != ".":
        text = text.str.replace(fmt.decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


# "(lat, lon)", "lat lon", and ODK/KoboToolbox geopoints "lat lon altitude accuracy".
_LATLON = re.compile(r"^\s*\(?\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)"
                     r"(?:\s+-?\d+(?:\.\d+)?){0,2}\s*\)?\s*$")


def _points(df: pd.DataFrame, rule: Any, out: Mapped, target: str) -> Points:
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if rule.lat and rule.lon:
        raw_lat = _clean_text(_column(df, rule.lat), [])
        raw_lon = _clean_text(_column(df, rule.lon), [])
        lat = _parse_numbers(raw_lat, rule.number).to_numpy(float, na_value=np.nan)
        lon = _parse_numbers(raw_lon, rule.number).to_numpy(float, na_value=np.nan)
        for raw, parsed, col in ((raw_lat, lat, rule.lat), (raw_lon, lon, rule.lon)):
            bad = raw.notna().to_numpy() & np.isnan(parsed)
            for r, v in zip(out.rows[bad], raw[bad], strict=True):
                out.errors.append(RowError(int(r), target, f"{v!r} is not a number", col, v))
        half = np.isnan(lat) != np.isnan(lon)
        for r in out.rows[half & ~np.isnan(lat) | half & ~np.isnan(lon)]:
            out.errors.append(RowError(int(r), target, "latitude and longitude go together"))
        lat[half] = lon[half] = np.nan
    elif rule.text:
        raw = _clean_text(_column(df, rule.text), [])
        parts = raw.astype("string").str.extract(_LATLON)
        lat = pd.to_numeric(parts[0], errors="coerce").to_numpy(float, na_value=np.nan)
        lon = pd.to_numeric(parts[1], errors="coerce").to_numpy(float, na_value=np.nan)
        bad = raw.notna().to_numpy() & np.isnan(lat)
        for r, v in zip(out.rows[bad], raw[bad], strict=True):
            out.errors.append(
                RowError(int(r), target, f"{v!r} is not a '(latitude, longitude)' pair",
                         rule.text, v)
            )
    else:
        raw = _clean_text(_column(df, rule.any), [])
        for i, v in enumerate(raw):
            if v is None:
                continue
            try:
                c = coordinates.parse_coordinate(str(v))
            except coordinates.CoordinateError as exc:
                out.errors.append(RowError(int(out.rows[i]), target, str(exc), rule.any, v))
                continue
            lat[i], lon[i] = c.lat, c.lon
    bad_range = (np.abs(lat) > 90) | (np.abs(lon) > 180)
    for r, y, x in zip(out.rows[bad_range], lat[bad_range], lon[bad_range], strict=True):
        out.errors.append(
            RowError(int(r), target, f"latitude {y} / longitude {x} is outside -90..90 / "
                     "-180..180")
        )
    lat[bad_range] = lon[bad_range] = np.nan
    return Points(lon, lat)


def _date_parts(df: pd.DataFrame, parts: Any, out: Mapped, target: str) -> tuple[pd.Series,
                                                                                  pd.Series]:
    columns = ", ".join(c for c in (parts.year, parts.month, parts.day) if c)
    read: dict[str, pd.Series] = {}
    unreadable = np.zeros(len(df), bool)
    for name in ("year", "month", "day"):
        col = getattr(parts, name)
        if not col:
            read[name] = pd.Series(np.nan, index=df.index)
            continue
        raw = ungroup_integers(_clean_text(_column(df, col), []))
        number = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & (number.isna() | (number % 1 != 0))).to_numpy()
        shown = _clean_text(_column(df, col), [])
        for r, v, x in zip(out.rows[bad], shown[bad], number[bad], strict=True):
            what = "a number" if x != x else "a whole number"
            out.errors.append(RowError(int(r), target, f"{name} {v!r} is not {what}", col, v))
        unreadable |= bad
        read[name] = number.where(~bad)
    year, month, day = read["year"], read["month"], read["day"]
    built = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month.fillna(1), "day": day.fillna(1)}),
        errors="coerce",
    )
    raw_year = _clean_text(_column(df, parts.year), [])
    bad = (built.isna() & raw_year.notna()).to_numpy() & ~unreadable
    for r, y, m, d in zip(out.rows[bad], year[bad], month[bad], day[bad], strict=True):
        given = [f"{name} {int(v) if v == v else 'missing'}" for name, v in
                 (("year", y), ("month", m), ("day", d))
                 if name == "year" or getattr(parts, name)]
        out.errors.append(RowError(int(r), target, "no such date: " + ", ".join(given),
                                   columns))
    built = built.where(~pd.Series(unreadable, index=built.index))
    iso = built.dt.strftime("%Y-%m-%d").astype(object).where(built.notna(), None)
    precision = np.where(day.notna(), "day", np.where(month.notna(), "month", "year"))
    precision = pd.Series(precision, index=df.index).where(built.notna(), None)
    return iso, precision


def apply_rule(df: pd.DataFrame, name: str, rule: FieldRule, spec: ColumnSpec,
               out: Mapped) -> Any:
    """One field's column from the source chunk, converted to the field's store type."""
    if rule.point is not None:
        return _points(df, rule.point, out, name)
    if rule.date_parts is not None:
        iso, precision = _date_parts(df, rule.date_parts, out, name)
        out.values.setdefault("__date_precision__", precision)
        return iso
    column = rule.source if isinstance(rule.source, str) else None
    if rule.constant is not None:
        s = pd.Series([str(rule.constant)] * len(df), index=df.index, dtype="str")
    elif isinstance(rule.source, list):
        # Missing parts are left out with their separator: "Vereda X, GRANADA" or "GRANADA".
        parts = [_clean_text(_column(df, c), rule.null_values).astype(object)
                 for c in rule.source]
        rows = zip(*[p.where(p.notna(), None).tolist() for p in parts], strict=True)
        s = pd.Series([rule.join.join(v for v in values if v) or None for values in rows],
                      index=df.index, dtype=object)
        s = _clean_text(s, [])
    elif rule.source is not None:
        s = _clean_text(_column(df, rule.source), rule.null_values)
    else:
        s = pd.Series([None] * len(df), index=df.index, dtype=object)
    if rule.pad:
        s = ungroup_integers(s)
        digits = s.str.isdigit().fillna(False).astype(bool)
        s = s.mask(digits, s.str.zfill(rule.pad))
    if rule.values is not None:
        keys = {str(k): v for k, v in rule.values.items()}
        known = s.isin(list(keys))
        mapped = s.map(keys).astype(object)
        unknown = s.notna() & ~known
        if rule.unmapped == "keep":
            mapped = mapped.where(~unknown, s)
        elif rule.unmapped == "default":
            mapped = mapped.where(~unknown, rule.default)
        elif rule.unmapped == "error":
            choices = ", ".join(list(keys)[:12]) + (" ..." if len(keys) > 12 else "")
            for r, v in zip(out.rows[unknown.to_numpy()], s[unknown], strict=True):
                out.errors.append(RowError(int(r), name, f"{v!r} is not one of the mapping's "
                                           f"values ({choices})", column, v))
        s = mapped.where(mapped.notna(), None)
    if rule.default is not None:
        s = s.where(s.notna(), str(rule.default))
    return _convert(s, rule, spec, out, name, column)


# Yes and no as field forms and registers write them, in the project's six languages.
BOOL_WORDS: dict[str, bool] = {
    **dict.fromkeys(("true", "yes", "y", "1", "t", "sí", "si", "s", "bəli", "да", "так",
                     "نعم"), True),
    **dict.fromkeys(("false", "no", "n", "0", "f", "xeyr", "нет", "ні", "لا"), False),
}


def _convert(s: pd.Series, rule: FieldRule | None, spec: ColumnSpec, out: Mapped, name: str,
             column: str | None) -> Any:
    if spec.kind in ("int", "float"):
        numbers = _parse_numbers(s, rule.number if rule else None)
        bad = (s.notna() & numbers.isna()).to_numpy()
        what = "a whole number" if spec.kind == "int" else "a number"
        for r, v in zip(out.rows[bad], s[bad], strict=True):
            out.errors.append(RowError(int(r), name, f"{v!r} is not {what}", column, v))
        if spec.kind == "int":
            frac = (numbers.notna() & (numbers % 1 != 0)).to_numpy()
            for r, v in zip(out.rows[frac], s[frac], strict=True):
                out.errors.append(RowError(int(r), name, f"{v!r} is not {what}", column, v))
            return numbers.astype("Int64")
        return numbers.astype(float)
    if spec.kind == "date":
        formats = rule.date_format if rule and rule.date_format else None
        parsed = _parse_dates(s, formats)
        bad = (s.notna() & parsed.isna()).to_numpy()
        hint = f" (expected {formats})" if formats else " (expected YYYY-MM-DD)"
        for r, v in zip(out.rows[bad], s[bad], strict=True):
            out.errors.append(RowError(int(r), name, f"{v!r} is not a date{hint}", column, v))
        return parsed.dt.strftime("%Y-%m-%d").astype(object).where(parsed.notna(), None)
    if spec.kind == "geometry":
        geoms = s.map(_geometry_or_none(out, name))
        if spec.geometry is not None and spec.geometry.store_type == "MULTIPOLYGON":
            # A MULTIPOLYGON column holds polygons as one-part multipolygons (GeoPackage
            # requires the declared type; QGIS then sees one layer type).
            geoms = geoms.map(lambda g: shapely.MultiPolygon([g]) if g is not None
                              and g.geom_type == "Polygon" else g)
        return geoms
    if spec.kind == "bool":
        words = s.astype("string").str.strip().str.casefold().map(
            lambda v: BOOL_WORDS.get(v, "?"), na_action="ignore")
        bad = (s.notna() & (words == "?")).to_numpy()
        for r, v in zip(out.rows[bad], s[bad], strict=True):
            out.errors.append(RowError(int(r), name, f"{v!r} is not yes or no (true/false, "
                                       "1/0, sí/no ...)", column, v))
        return words.where(~bad & words.notna(), None).astype(object)
    if spec.kind in ("enum_set", "list"):
        sep = "," if spec.kind == "enum_set" else "|"
        joined = s.map(lambda v: sep.join(sorted({p.strip() for p in re.split(r"[,;|]", v)
                                                  if p.strip()})) or None,
                       na_action="ignore")  # an empty cell is NaN, not the text "nan"
        return joined.astype(object).where(joined.notna(), None)
    return s.astype("str")


def _parse_dates(s: pd.Series, formats: str | list[str] | None) -> pd.Series:
    text = s.astype("string")
    if formats is None:
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    result = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in [formats] if isinstance(formats, str) else formats:
        missing = result.isna()
        result[missing] = pd.to_datetime(text[missing], errors="coerce", format=fmt)
    return result


def _geometry_or_none(out: Mapped, name: str) -> Any:
    def convert(v: Any) -> Any:
        if v is None or isinstance(v, shapely.Geometry):
            return v
        try:
            return shapely.from_wkt(str(v))
        except shapely.errors.GEOSException:
            return None

    return convert


def check(mapped: Mapped) -> None:
    """Column checks from the model's specs and geometry checks, then its rules across
    fields (domain/rules.py), in the order the model runs them."""
    model = ENTITIES[mapped.kind]
    for spec in columns(model):
        value = mapped.values.get(spec.name)
        if value is None:
            if spec.required and spec.name not in ("id",):
                for r in mapped.rows:
                    mapped.errors.append(RowError(int(r), spec.name, "is required"))
            continue
        if isinstance(value, Points):
            continue
        if not spec.nullable and spec.default is not None:
            # An empty cell gives no value: the field's default, as the model has it.
            value = mapped.values[spec.name] = value.fillna(spec.default)
        missing = value.isna().to_numpy() if hasattr(value, "isna") else None
        if spec.required and missing is not None and missing.any():
            for r in mapped.rows[missing]:
                mapped.errors.append(RowError(int(r), spec.name, "is required"))
        if spec.kind == "enum":
            bad = (value.notna() & ~value.isin(spec.enum_values)).to_numpy()
            for r, v in zip(mapped.rows[bad], value[bad], strict=True):
                mapped.errors.append(RowError(int(r), spec.name, f"{v!r} is not one of "
                                              f"{', '.join(spec.enum_values)}", value=v))
        elif spec.kind == "enum_set":
            allowed = set(spec.enum_values)
            for r, v in zip(mapped.rows, value, strict=True):
                extra = set(v.split(",")) - allowed if isinstance(v, str) and v else set()
                if extra:
                    mapped.errors.append(RowError(int(r), spec.name, f"{sorted(extra)} not in "
                                                  f"{', '.join(spec.enum_values)}", value=v))
        elif spec.kind in ("int", "float"):
            for bound, test, word in ((spec.ge, value.lt, "at least"),
                                      (spec.le, value.gt, "at most")):
                if bound is None:
                    continue
                bad = test(bound).fillna(False).to_numpy(bool)
                for r, v in zip(mapped.rows[bad], value[bad], strict=True):
                    mapped.errors.append(RowError(int(r), spec.name, f"{v} must be {word} "
                                                  f"{bound}", value=v))
        elif spec.kind in ("text", "uuid") and spec.max_length:
            bad = value.astype("str").str.len().gt(spec.max_length).fillna(False).to_numpy(bool)
            for r in mapped.rows[bad]:
                mapped.errors.append(RowError(int(r), spec.name, f"longer than "
                                              f"{spec.max_length} characters"))
        elif spec.kind == "geometry":
            _check_geometries(mapped, spec, value)
    for rule in KIND_RULES.get(mapped.kind, ()):
        _apply(rule, mapped)


def _check_geometries(mapped: Mapped, spec: ColumnSpec, value: pd.Series) -> None:
    assert spec.geometry is not None
    accepts = spec.geometry.accepts
    for r, g in zip(mapped.rows, value, strict=True):
        problem = geometry_problem(g, accepts)
        if problem is not None:
            mapped.errors.append(RowError(int(r), spec.name, problem, rule="geometry"))


def _distinct(mapped: Mapped, name: str) -> tuple[np.ndarray, list[Any]]:
    """A field's column as codes into its distinct values, those in the model's Python types
    (None where missing), which is what the rule functions take. A field the file does not
    give has its default, as the store writes it; each geometry counts as distinct."""
    spec = column_spec(ENTITIES[mapped.kind], name)
    value = mapped.values.get(name)
    n = len(mapped)
    if value is None:
        return np.zeros(n, np.int64), [spec.default]
    if isinstance(value, Points):
        return np.arange(n), value.geometries()
    if spec.kind == "geometry":
        return np.arange(n), value.astype(object).where(value.notna(), None).tolist()
    codes, uniques = pd.factorize(value, use_na_sentinel=True)  # a missing value: -1
    cells = [None if pd.isna(v) else v for v in uniques.tolist()]
    if spec.kind == "date":
        cells = [date.fromisoformat(v) for v in cells if v is not None]
    elif spec.kind == "int":
        cells = [int(v) for v in cells if v is not None]
    elif spec.kind == "float":
        cells = [float(v) for v in cells if v is not None]
    elif spec.kind in ("enum_set", "list"):
        sep = "," if spec.kind == "enum_set" else "|"
        cells = [frozenset(v.split(sep)) for v in cells if v is not None]
    else:
        cells = [v for v in cells if v is not None]
    missing: frozenset[str] | None = frozenset() if spec.kind in ("enum_set", "list") else None
    return codes.astype(np.int64) + 1, [missing, *cells]


def _stored(spec: ColumnSpec, value: Any) -> Any:
    """A rule's result as the importer's columns hold it."""
    if value is None:
        return np.nan if spec.kind == "float" else None
    if spec.kind == "date":
        return value.isoformat()
    if spec.kind in ("int", "float", "geometry"):
        return value
    return str(value)  # enumeration members as their codes (a StrEnum's str is its value)


def _apply(rule: Rule, mapped: Mapped) -> None:
    """One of the model's rules over the chunk, called once for each distinct combination
    of the values it reads (row by row for geometries), and not for rows with an error in
    one of those values already: the model never gets that far with them."""
    n = len(mapped)
    if n == 0:
        return
    parts = [_distinct(mapped, name) for name in rule.reads]
    combined = np.zeros(n, np.int64)
    for codes, uniques in parts:
        combined = combined * len(uniques) + codes
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    failed = [e.row for e in mapped.errors if e.field in rule.reads]
    todo = ~np.isin(mapped.rows.astype(np.int64), failed) if failed else np.ones(n, bool)
    needed = np.zeros(len(first), bool)
    needed[inverse[todo]] = True
    results = np.empty(len(first), dtype=object)
    broken = np.zeros(len(first), bool)
    for code, row in enumerate(first.tolist()):
        if not needed[code]:
            continue
        try:
            results[code] = rule.check(*(uniques[codes[row]] for codes, uniques in parts))
        except RuleError as exc:
            results[code] = exc
            broken[code] = True
    for i in np.flatnonzero(todo & broken[inverse]).tolist():
        error: RuleError = results[inverse[i]]
        mapped.errors.append(RowError(int(mapped.rows[i]), error.field, error.message,
                                      rule=rule.name))
    if rule.sets is None:
        return
    spec = column_spec(ENTITIES[mapped.kind], rule.sets)
    stored = np.empty(len(first), dtype=object)
    for code in np.flatnonzero(needed & ~broken).tolist():
        stored[code] = _stored(spec, results[code])
    index = next((v.index for v in mapped.values.values() if isinstance(v, pd.Series)),
                 pd.RangeIndex(n))
    derived = pd.Series(stored[inverse], index=index, dtype=object)
    before = mapped.values.get(rule.sets)
    if not isinstance(before, pd.Series):
        before = pd.Series([_stored(spec, spec.default)] * n, index=index, dtype=object)
    # Rows left out, or that broke the rule, keep what they had.
    keep = pd.Series(~todo | broken[inverse], index=index)
    column = derived.where(~keep, before.astype(object))
    if spec.kind == "float":
        column = column.astype(float)
    elif spec.kind == "int":
        column = column.astype("Int64")
    else:
        column = column.where(column.notna(), None)
    mapped.values[rule.sets] = column
