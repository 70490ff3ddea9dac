# SPDX-License-Identifier: GPL-3.0-or-later
"""What a victim or an accident is compared on, and the normalisers that make two reports of
the same thing comparable: a date with its precision becomes a day range, an age in years
becomes the Monitor's band, a place name becomes a DANE code through a gazetteer, free text
loses case, accents and punctuation.

Input frames hold normalised domain values (mineaction.domain field names); `prepare` adds the
derived columns the comparisons read (date_start, date_end, department, text_norm)."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Values that say "not known": compared as missing, never as an agreement.
UNKNOWN_VALUES = frozenset({"", "unknown", "nan", "none", "null"})

CATEGORICAL_VICTIM = ("sex", "outcome", "role", "activity")
CATEGORICAL_ACCIDENT = ("accident_kind", "device_category")


@dataclass(frozen=True)
class FieldSet:
    """The fields of one kind of record that linkage compares.

    `exact` fields must agree for two records to be the same (the fast path's key); the
    categorical ones are compared by equality, `text` by string similarity."""

    kind: str
    categorical: tuple[str, ...]
    has_age: bool
    text: tuple[str, ...]

    @property
    def exact(self) -> tuple[str, ...]:
        """The fields an unchanged record repeats exactly: the compared fields as given."""
        age = ("age", "age_band") if self.has_age else ()
        return ("accident_date", "date_precision", "admin_area_pcode", *age,
                *self.categorical, *self.text)


FIELDS: dict[str, FieldSet] = {
    "victim": FieldSet("victim", (*CATEGORICAL_VICTIM, *CATEGORICAL_ACCIDENT), True,
                       ("place_name", "narrative")),
    "accident": FieldSet("accident", CATEGORICAL_ACCIDENT, False, ("place_name", "narrative")),
}


def field_set(kind: str) -> FieldSet:
    try:
        return FIELDS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}: one of {sorted(FIELDS)}") from None


# -- normalisers ----------------------------------------------------------------------------
def by_distinct(values: pd.Series, normalise: Callable[[object], object]) -> pd.Series:
    """`normalise` applied once per distinct value, the results shared: a million rows of a
    dozen categories cost a dozen strings, not a million (memory at the 1M-row scale)."""
    distinct = pd.unique(values.to_numpy(dtype=object))
    mapping = {v: normalise(v) for v in distinct if not _missing(v)}
    return pd.Series([mapping.get(v) if not _missing(v) else None for v in values],
                     index=values.index, dtype=object)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _category(value: object) -> str | None:
    text = str(value).strip().lower()
    return None if text in UNKNOWN_VALUES else text


def clean_category(values: pd.Series) -> pd.Series:
    """Lower-case trimmed text; 'unknown' and blanks become missing (None)."""
    return by_distinct(values, _category)


def age_to_band(age: pd.Series) -> pd.Series:
    """The Monitor's bands: under 18 a child, else an adult; no age, no band."""
    years = pd.to_numeric(age, errors="coerce").astype(float).to_numpy()
    band = np.full(len(years), None, dtype=object)
    band[years < 18] = "child"
    band[years >= 18] = "adult"
    return pd.Series(band, index=age.index, dtype=object)


def date_range(dates: pd.Series, precision: pd.Series | None) -> tuple[pd.Series, pd.Series]:
    """A date known to the day, month or year becomes the range of days it may mean: a
    register that gives only the month says 'some day in March', which agrees with any
    March day another source gives."""
    day = pd.to_datetime(dates, errors="coerce")
    prec = (clean_category(precision) if precision is not None
            else pd.Series("day", index=dates.index, dtype=object)).fillna("day")
    start = day.copy()
    end = day.copy()
    month = prec == "month"
    year = prec == "year"
    start[month] = day[month].dt.to_period("M").dt.start_time
    end[month] = day[month].dt.to_period("M").dt.end_time.dt.normalize()
    start[year] = day[year].dt.to_period("Y").dt.start_time
    end[year] = day[year].dt.to_period("Y").dt.end_time.dt.normalize()
    return start.dt.normalize(), end.dt.normalize()


_PUNCTUATION = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def normalise_text(value: object) -> str | None:
    """Case, accents and punctuation dropped, so 'Vereda El Páramo.' equals 'vereda el paramo'."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = unicodedata.normalize("NFKD", str(value))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()
    return text if text and text not in UNKNOWN_VALUES and text != "sin informacion" else None


_PCODE = re.compile(r"\d{4,5}")


def _pcode(value: object) -> str | None:
    text = str(value).strip().removesuffix(".0")
    return text.zfill(5) if _PCODE.fullmatch(text) else None


def pad_pcode(values: pd.Series) -> pd.Series:
    """DANE municipality codes as 5-character text (a register's 5313 is 05313)."""
    return by_distinct(values, _pcode)


def pcode_from_names(names: pd.Series, gazetteer: pd.DataFrame,
                     departments: pd.Series | None = None, *, cutoff: float = 0.85
                     ) -> pd.Series:
    """Municipality names to DANE codes through a gazetteer frame (columns `name`, `pcode`,
    optionally `department`). Names are compared without case, accents or punctuation; a
    misspelt name takes the closest gazetteer name (similarity >= `cutoff`) within its
    department when the department is given. A name shared by several municipalities is
    resolved only with its department; otherwise it stays unknown rather than guessed."""
    gaz = pd.DataFrame({"key": gazetteer["name"].map(normalise_text),
                        "pcode": pad_pcode(gazetteer["pcode"])})
    gaz["dept"] = (gazetteer["department"].map(normalise_text)
                   if "department" in gazetteer.columns else None)
    by_name = gaz.groupby("key")["pcode"].agg(lambda p: p.iloc[0] if p.nunique() == 1 else None)
    by_both = gaz.drop_duplicates(["dept", "key"]).set_index(["dept", "key"])["pcode"]
    in_dept = {d: list(g["key"]) for d, g in gaz.groupby("dept")}
    depts = (departments.map(normalise_text) if departments is not None
             else pd.Series(None, index=names.index, dtype=object))
    cache: dict[tuple[object, object], str | None] = {}

    def lookup(name: str | None, dept: str | None) -> str | None:
        if name is None:
            return None
        if dept is not None and dept not in in_dept:
            close_dept = difflib.get_close_matches(dept, list(in_dept), n=1, cutoff=cutoff)
            dept = close_dept[0] if close_dept else None
        if dept is not None and (dept, name) in by_both.index:
            return str(by_both[(dept, name)])
        if dept is None or dept not in in_dept:
            found = by_name.get(name)
            return None if found is None or pd.isna(found) else str(found)
        close = difflib.get_close_matches(name, in_dept[dept], n=1, cutoff=cutoff)
        if close:
            return str(by_both[(dept, close[0])])
        # A short form of an official name ("Tumaco" for "San Andrés de Tumaco", "Piendamó"
        # for "Piendamó - Tunía", "El Carmen" for "El Carmen de Chucurí"): the name's words,
        # possibly misspelt, as consecutive words of exactly one name of the department.
        partial = _partial_name_matches(name, in_dept[dept], cutoff)
        return str(by_both[(dept, partial[0])]) if len(partial) == 1 else None

    result = []
    for raw_name, raw_dept in zip(names.map(normalise_text), depts, strict=True):
        # pandas may hand a missing value back as NaN: only text is a name.
        name = raw_name if isinstance(raw_name, str) else None
        dept = raw_dept if isinstance(raw_dept, str) else None
        key = (name, dept)
        if key not in cache:
            cache[key] = lookup(name, dept)
        result.append(cache[key])
    return pd.Series(result, index=names.index, dtype=object)


def _partial_name_matches(name: str, candidates: list[str], cutoff: float) -> list[str]:
    """The candidates of which some run of consecutive words is `name` (similarity >=
    `cutoff`, so a dropped or doubled letter still matches); only the best-scoring ones."""
    words = name.split()
    best: list[str] = []
    best_score = cutoff
    for candidate in candidates:
        parts = candidate.split()
        if len(parts) <= len(words):
            continue
        score = max(difflib.SequenceMatcher(None, name, " ".join(parts[i:i + len(words)])
                                            ).ratio()
                    for i in range(len(parts) - len(words) + 1))
        if score > best_score + 1e-9:
            best, best_score = [candidate], score
        elif abs(score - best_score) <= 1e-9:
            best.append(candidate)
    return best


def _with_coordinates(frame: pd.DataFrame) -> pd.DataFrame:
    """longitude/latitude from a `geometry` column of points when they are not given."""
    if "longitude" in frame.columns or "geometry" not in frame.columns:
        return frame
    geoms = frame["geometry"]
    return frame.assign(longitude=[getattr(g, "x", None) for g in geoms],
                        latitude=[getattr(g, "y", None) for g in geoms])


def prepare(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A copy with every compared field present and normalised, plus the derived columns the
    comparisons read. Missing columns are added empty: a source that never gives a field
    neither agrees nor disagrees on it."""
    fs = field_set(kind)
    out = pd.DataFrame(index=frame.index)
    for name in fs.exact:
        out[name] = frame[name] if name in frame.columns else None
    for name in fs.categorical:
        out[name] = clean_category(out[name])
    out["date_precision"] = clean_category(out["date_precision"])
    out["admin_area_pcode"] = pad_pcode(out["admin_area_pcode"])
    start, end = date_range(out["accident_date"], out["date_precision"])
    # The date itself is compared as its range: reformatting never changes it.
    out["accident_date"] = start.dt.strftime("%Y-%m-%d").astype(object).where(start.notna(), None)
    out["date_start"] = start
    out["date_end"] = end
    out["department"] = out["admin_area_pcode"].str[:2]
    frame = _with_coordinates(frame)
    for coord in ("longitude", "latitude"):
        # Nullable floats: DuckDB reads pd.NA as NULL, where a NaN would be a number.
        out[coord] = (pd.to_numeric(frame[coord], errors="coerce").astype("Float64")
                      if coord in frame.columns else pd.Series(pd.NA, index=frame.index,
                                                               dtype="Float64"))
    if fs.has_age:
        out["age"] = pd.to_numeric(out["age"], errors="coerce").astype("Float64")
        band = clean_category(out["age_band"])
        out["age_band"] = band.where(band.notna(), age_to_band(out["age"]))
    for name in fs.text:
        out[name] = by_distinct(out[name], normalise_text)
    return out
