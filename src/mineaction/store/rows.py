"""Records as JSON-ready dicts straight from SQL rows, without a pydantic record per row.

`Store.query` validates every row into a record (~0.2 ms each: 20 ms for a page of 100),
which suits code that works with records. A list answered as JSON needs none of that:
rows were validated when written, so `Store.query_rows` reads the columns raw (no
SQLAlchemy type processing), converts the few kinds JSON shows differently from how they
are stored (dates and times, booleans, sets and lists, geometry as GeoJSON) with a plan
made once per entity and field selection, and skips the fields the caller will not show.
The dicts equal `Record.model_dump(mode="json")` restricted to the selected fields
(tests/store/test_query_rows.py checks it on both stores, for every kind of column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from mineaction.domain.codes import PREFIXES, record_code
from mineaction.domain.columns import ColumnSpec
from mineaction.domain.models import ENTITIES
from mineaction.store import codec

Convert = Callable[[Any], Any]


def _datetime(value: Any) -> str:
    # SQLite holds ISO text ending in Z, PostgreSQL gives its ISO text (e.g.
    # "2026-11-26 15:39:49.654+00", Store._timestamp_text); datetimes are taken too.
    # pydantic's JSON form of an aware UTC datetime ends in Z and keeps
    # microseconds when there are any. Records written together (an import, a bulk
    # load) share their timestamps, and formatting one costs ten times a lookup: each
    # distinct value is formatted once. Datetimes are keyed with the zone, since equal
    # instants in two zones are equal datetimes; row builders look texts up themselves
    # (`_builder`).
    key = value if isinstance(value, str) else (value, getattr(value, "tzinfo", None))
    text = _FORMATTED.get(key)
    if text is None:
        if len(_FORMATTED) >= _FORMATTED_MAX:
            _FORMATTED.clear()
        text = _FORMATTED[key] = _format_datetime(value)
    return text


def _format_datetime(value: Any) -> str:
    if isinstance(value, str) and len(value) == 24 and value[19] == "." and value[23] == "Z":
        # What the store writes (YYYY-MM-DDTHH:MM:SS.mmmZ): padded to microseconds
        # without parsing.
        if value[10] == "T" and value[20:23].isdigit() and value[20:23] != "000":
            return value[:23] + "000Z"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.isoformat().replace("+00:00", "Z")


_FORMATTED: dict[Any, str] = {}
_FORMATTED_MAX = 4096


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _splitter(separator: str) -> Convert:
    def split(value: Any) -> list[str]:
        return [v for v in str(value).split(separator) if v]

    return split


def _converter(spec: ColumnSpec, geometry: Convert) -> Convert | None:
    """How a non-NULL cell becomes its JSON value; None when it already is."""
    converters: dict[str, Convert] = {
        "float": float,
        "bool": bool,
        "date": _date,
        "datetime": _datetime,
        "enum_set": _splitter(","),
        "list": _splitter("|"),
        "geometry": geometry,
    }
    return converters.get(spec.kind)


@dataclass(frozen=True)
class RowPlan:
    """What to select for one entity and field selection, and how to convert it."""

    names: tuple[str, ...]  # selected fields, in column order
    convert: tuple[Convert | None, ...]  # per field
    listed: tuple[bool, ...]  # per field: a set or list (NULL shows as [], else null)
    geometry: str | None  # name of the geometry field, if selected
    sources: bool  # whether source_ids is selected
    kind: str = ""  # the entity: its rows carry their code (domain/codes.py) if it has one


@cache
def row_plan(kind: str, omit: frozenset[str], geometry: Convert) -> RowPlan:
    specs = [s for s in codec.stored_columns(ENTITIES[kind]) if s.name not in omit]
    geom = next((s.name for s in specs if s.kind == "geometry"), None)
    return RowPlan(
        names=tuple(s.name for s in specs),
        convert=tuple(_converter(s, geometry) for s in specs),
        listed=tuple(s.kind in ("enum_set", "list") for s in specs),
        geometry=geom,
        sources="source_ids" not in omit,
        kind=kind,
    )


def to_dicts(plan: RowPlan, rows: Any, sources: dict[str, list[str]] | None, *,
             start: int = 0, country: str | None = None) -> list[dict[str, Any]]:
    """Raw rows (the plan's columns, in order, from column `start`) as JSON-ready dicts.
    Rows read with their fid first (`start` 1) carry their record code too, with
    `country` for P-codes that do not name theirs (domain/codes.py)."""
    out = _builder(plan, start, country)(rows)
    if sources is not None:
        for data in out:
            data["source_ids"] = sources.get(data["id"], [])
    return out


@cache
def _builder(plan: RowPlan, start: int, country: str | None
             ) -> Callable[[Any], list[dict[str, Any]]]:
    """A function written for the plan that turns a list of rows into dicts: one dict
    display per row, each cell read by its index and converted inline.

    A page of 100 is the API's hot path (issue 3). Zipping names with cells and then
    visiting the cells to convert cost a third more per row than this generated
    comprehension, as dataclasses and attrs generate their __init__ for the same
    reason. Only our own field names (a repr each) and converters (by reference) go in."""
    env: dict[str, Any] = {}
    cells = []
    for i, (name, convert, listed) in enumerate(
            zip(plan.names, plan.convert, plan.listed, strict=True)):
        cell = f"r[{start + i}]"
        if convert is _datetime:  # a formatted text found costs a dict lookup, no call
            env["recall"], env["convert_datetime"] = _FORMATTED.get, _datetime
            cells.append(f"{name!r}: None if {cell} is None else "
                         f"(recall({cell}) or convert_datetime({cell}))")
        elif convert is not None:
            env[f"convert_{i}"] = convert
            empty = "[]" if listed else "None"
            cells.append(f"{name!r}: {empty} if {cell} is None else convert_{i}({cell})")
        elif listed:
            cells.append(f"{name!r}: [] if {cell} is None else {cell}")
        else:
            cells.append(f"{name!r}: {cell}")
    if start >= 1 and plan.kind in PREFIXES:  # the fid is r[0]
        pcode = (f"r[{start + plan.names.index('admin_area_pcode')}]"
                 if "admin_area_pcode" in plan.names else "None")
        env["code"], env["kind"], env["country"] = record_code, plan.kind, country
        cells.append(f"'code': code(kind, r[0], {pcode}, country)")
    source = ("def build(rows):\n    return [{" + ", ".join(cells) + "} for r in rows]\n")
    exec(compile(source, f"<row builder {plan.names[:1]}>", "exec"), env)  # noqa: S102
    return env["build"]  # type: ignore[no-any-return]
