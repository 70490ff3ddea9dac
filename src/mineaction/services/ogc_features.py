# SPDX-License-Identifier: GPL-3.0-or-later
"""OGC API Features (Part 1 Core, Part 3 queryables and CQL2-text filters) over the
records a principal may see (issue 23): plain Python that the router (api/routers/ogc.py)
calls, testable without HTTP.

Nothing here decides who sees what. A collection's items are read exactly as the
records API reads a list (services/records.py `Records.list`): `Access.rows` as the
query's `visible`, `Access.hidden` left unread, `present_rows` generalising the public's
points, personal data logged as read. A filter may only name fields `Access.filterable`
allows: a filter on a field the asker cannot see would answer from it (a yes/no per
record is a leak), so it is refused, never silently run.

CQL2 text is parsed into pygeofilter's AST (services/cql2_text.py), translated here
into one SQLAlchemy condition on the kind's table (`Query.condition`), so filters,
paging and counts run in the database on both stores. S_INTERSECTS is decided exactly
with shapely on the candidates inside the literal's envelope, which the store's R-tree
finds; at most `MAX_SPATIAL_CANDIDATES` of them, or the filter is refused as too broad.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import shapely
import shapely.geometry
import sqlalchemy as sa
from pygeofilter import ast, values

from mineaction.access.visibility import Access
from mineaction.domain.columns import ColumnSpec, columns, geometry_column
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import BY_COLLECTION, REGISTRY
from mineaction.services.cql2_text import parse as parse_cql2_text
from mineaction.services.errors import FieldError, Forbidden, NotFoundError, ServiceError
from mineaction.services.records import Records, log_personal_read
from mineaction.store.query import Bbox, Query
from mineaction.store.schema import entity_table

# Column kinds a filter may compare (lists and sets of codes are not single values).
QUERYABLE_KINDS = frozenset({"uuid", "text", "int", "float", "bool", "date", "datetime",
                             "enum", "geometry"})
# Records an S_INTERSECTS may test one by one (inside the literal's envelope).
MAX_SPATIAL_CANDIDATES = 50_000
# The longest filter accepted, and its deepest nesting (a chain of ANDs nests one level a
# term): a filter is a few conditions, not a program, and each level is a Python and a
# SQLAlchemy stack frame.
MAX_FILTER_CHARS = 4_000
MAX_FILTER_DEPTH = 100
_JSON_TYPES = {"uuid": ("string", "uuid"), "text": ("string", None),
               "enum": ("string", None), "int": ("integer", None),
               "float": ("number", None), "bool": ("boolean", None),
               "date": ("string", "date"), "datetime": ("string", "date-time")}


class BadRequest(ServiceError):
    """A request OGC API Features answers with 400 (a bad bbox, datetime or filter)."""

    status = 400


@dataclass(frozen=True)
class ItemsRequest:
    bbox: Bbox | None = None
    date_from: date | None = None
    date_to: date | None = None
    filter: str | None = None
    limit: int = 10
    after_fid: int | None = None


@dataclass(frozen=True)
class ItemsPage:
    items: list[dict[str, Any]]  # records as the principal may see them
    number_matched: int
    next_fid: int | None  # the fid to page after, None on the last page


@dataclass(frozen=True)
class Collection:
    id: str  # the records API's collection name (hazards, accidents, ...)
    kind: str
    title: str
    has_geometry: bool
    spatial: bool  # whether `bbox` can select its features (by theirs, or their accident's)
    temporal: str | None  # the field `datetime` filters on, if any


def collection_of(kind: str) -> Collection:
    info = REGISTRY[kind]
    # Victims are placed and dated by their accident (store/reading.py), as /api/v1
    # filters them.
    temporal = info.primary_date or ("accident.accident_date" if kind == "victim" else None)
    has_geometry = geometry_column(ENTITIES[kind]) is not None
    return Collection(id=info.collection, kind=kind,
                      title=info.collection.replace("-", " ").capitalize(),
                      has_geometry=has_geometry, spatial=has_geometry or kind == "victim",
                      temporal=temporal)


class OgcFeatures:
    """The OGC API Features core of the server: collections, queryables, items."""

    def __init__(self, records: Records, *, nonspatial: bool = True) -> None:
        self.records = records
        self.store = records.store
        # Whether kinds without a geometry are collections too (settings
        # `ogc_nonspatial_collections`).
        self.nonspatial = nonspatial

    def offered(self, kind: str) -> bool:
        """Whether `kind` is a collection of this API, for anyone."""
        return self.nonspatial or collection_of(kind).has_geometry

    def collections(self, access: Access) -> list[Collection]:
        """The collections the principal sees record by record, in registry order."""
        return [collection_of(kind) for kind in REGISTRY
                if self.offered(kind) and access.may_list(kind)]

    def collection(self, access: Access, collection_id: str) -> Collection:
        kind = BY_COLLECTION.get(collection_id)
        if kind is None or not self.offered(kind):
            raise NotFoundError(f"no collection {collection_id!r}: see /collections")
        if not access.may_list(kind):
            # As the records API answers it (services/records.py).
            raise Forbidden(f"the public sees {collection_id} only as aggregates: see the "
                            "statistics")
        return collection_of(kind)

    def queryables(self, access: Access, kind: str) -> dict[str, dict[str, Any]]:
        """JSON Schema of each property the principal may filter on (Part 3)."""
        out: dict[str, dict[str, Any]] = {}
        for spec in _queryable_columns(kind):
            if not access.filterable(kind, spec.name):
                continue
            if spec.kind == "geometry":
                accepts = spec.geometry.accepts if spec.geometry else ()
                fmt = f"geometry-{accepts[0].lower()}" if len(accepts) == 1 else "geometry-any"
                out[spec.name] = {"title": spec.name, "format": fmt,
                                  "x-ogc-role": "primary-geometry"}
                continue
            json_type, fmt_or_none = _JSON_TYPES[spec.kind]
            schema: dict[str, Any] = {"title": spec.name, "type": json_type}
            if fmt_or_none:
                schema["format"] = fmt_or_none
            if spec.enum_values:
                schema["enum"] = list(spec.enum_values)
            if spec.name == "id":
                schema["x-ogc-role"] = "id"
            out[spec.name] = schema
        return out

    def items(self, access: Access, kind: str, req: ItemsRequest) -> ItemsPage:
        """A page of the collection's features, as `Records.list` reads a list page,
        with how many match in all."""
        condition = None
        if req.filter is not None:
            condition = self.filter_condition(access, kind, req.filter)
        bbox = req.bbox
        if bbox is not None and not collection_of(kind).spatial:
            # No geometry to intersect the box (organisations, sources, activities).
            bbox, condition = None, sa.false()
        date_from, date_to = access.date_bounds(kind, req.date_from, req.date_to)
        q = Query(kind=kind, bbox=access.select_box(kind, bbox), date_from=date_from,
                  date_to=date_to, condition=condition, limit=req.limit,
                  after_fid=req.after_fid, visible=access.rows(kind))
        # Hidden fields are not even read; present_rows then generalises what needs it.
        rows, next_fid = self.store.query_rows(q, omit=access.hidden(kind))
        log_personal_read(self.store, access, kind, rows)
        matched = self.store.count(replace(q, limit=None, after_fid=None))
        return ItemsPage(access.present_rows(kind, rows), matched, next_fid)

    def item(self, access: Access, kind: str, feature_id: str) -> dict[str, Any]:
        """One record as the principal may see it: the records API's GET by id."""
        try:
            record_id = uuid.UUID(feature_id)
        except ValueError:
            raise NotFoundError(f"no {kind} with id {feature_id!r}") from None
        data, _ = self.records.get(access.principal, kind, record_id)
        return data

    # -- filters ------------------------------------------------------------------------
    def filter_condition(self, access: Access, kind: str, text: str) -> Any:
        """A CQL2-text filter as one SQL condition on `kind`'s table."""
        if len(text) > MAX_FILTER_CHARS:
            raise _bad(f"the filter is longer than {MAX_FILTER_CHARS} characters")
        try:
            node = parse_cql2_text(text)
        except Exception as exc:  # noqa: BLE001 - lark raises many kinds, all a bad filter
            raise _bad(f"the filter is not CQL2 text: {_first_line(exc)}") from None
        allowed = {s.name: s for s in _queryable_columns(kind)
                   if access.filterable(kind, s.name)}
        return _Translator(self, access, kind, allowed).condition(node)

    def spatial_ids(self, access: Access, kind: str, geometry_name: str,
                    shape: Any) -> list[str]:
        """Ids of the visible records whose geometry intersects `shape` (shapely)."""
        minx, miny, maxx, maxy = shape.bounds
        q = Query(kind=kind, bbox=(minx, miny, maxx, maxy), limit=MAX_SPATIAL_CANDIDATES + 1,
                  visible=access.rows(kind))
        rows = self.store.read_dicts(q, columns=["id", geometry_name])
        if len(rows) > MAX_SPATIAL_CANDIDATES:
            raise _bad(f"S_INTERSECTS: more than {MAX_SPATIAL_CANDIDATES} records lie in "
                       "the geometry's envelope; narrow it, or add a bbox")
        shapely.prepare(shape)  # one literal against many records
        return [str(r["id"]) for r in rows
                if r[geometry_name] is not None and shape.intersects(r[geometry_name])]


def _queryable_columns(kind: str) -> list[ColumnSpec]:
    table = entity_table(kind)
    return [c for c in columns(ENTITIES[kind])
            if c.kind in QUERYABLE_KINDS and c.name in table.c]


def _bad(message: str, field: str = "filter") -> BadRequest:
    return BadRequest(message, field_errors=[FieldError(field=field, message=message)])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


_COMPARISONS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Equal: lambda c, v: c == v, ast.NotEqual: lambda c, v: c != v,
    ast.LessThan: lambda c, v: c < v, ast.LessEqual: lambda c, v: c <= v,
    ast.GreaterThan: lambda c, v: c > v, ast.GreaterEqual: lambda c, v: c >= v,
}
# The same comparison read with its operands swapped (5 < age is age > 5).
_SWAPPED: dict[type, type] = {
    ast.Equal: ast.Equal, ast.NotEqual: ast.NotEqual, ast.LessThan: ast.GreaterThan,
    ast.LessEqual: ast.GreaterEqual, ast.GreaterThan: ast.LessThan,
    ast.GreaterEqual: ast.LessEqual,
}


class _Translator:
    """One filter's AST to SQL, checking each property against what the principal may
    filter on and each literal against its property's type."""

    def __init__(self, features: OgcFeatures, access: Access, kind: str,
                 allowed: dict[str, ColumnSpec]) -> None:
        self.features, self.access, self.kind = features, access, kind
        self.allowed = allowed
        self.table = entity_table(kind)

    def condition(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_FILTER_DEPTH:
            raise _bad(f"the filter nests more than {MAX_FILTER_DEPTH} conditions deep "
                       "(use IN for a list of values)")
        if isinstance(node, ast.And):
            return sa.and_(self.condition(node.lhs, depth + 1),
                           self.condition(node.rhs, depth + 1))
        if isinstance(node, ast.Or):
            return sa.or_(self.condition(node.lhs, depth + 1),
                          self.condition(node.rhs, depth + 1))
        if isinstance(node, ast.Not):
            return sa.not_(self.condition(node.sub_node, depth + 1))
        if type(node) in _COMPARISONS:
            return self._comparison(node)
        if isinstance(node, ast.Between):
            spec = self._property(node.lhs)
            cond = self._column(spec).between(self._value(spec, node.low),
                                              self._value(spec, node.high))
            return sa.not_(cond) if node.not_ else cond
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            spec = self._property(node.lhs)
            if not node.sub_nodes:
                raise _bad(f"{spec.name} IN (): name at least one value")
            col = self._column(spec)
            listed = [self._value(spec, v) for v in node.sub_nodes]
            return col.not_in(listed) if node.not_ else col.in_(listed)
        if isinstance(node, ast.IsNull):
            col = self._column(self._property(node.lhs))
            return col.is_not(None) if node.not_ else col.is_(None)
        if isinstance(node, ast.GeometryIntersects):
            return self._intersects(node)
        if isinstance(node, bool):  # a bare TRUE or FALSE
            return sa.true() if node else sa.false()
        raise _bad(f"the filter uses {_name_of(node)}, which this server does not "
                   "support: use comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL "
                   "and S_INTERSECTS")

    def _property(self, node: Any) -> ColumnSpec:
        if not isinstance(node, ast.Attribute):
            raise _bad(f"expected a property name, found {_name_of(node)}")
        spec = self.allowed.get(node.name)
        if spec is None:
            # The same answer for a field that does not exist and one the asker may not
            # see: the refusal must not tell them apart.
            raise _bad(f"{node.name!r} is not a queryable of this collection (see its "
                       "/queryables)")
        return spec

    def _column(self, spec: ColumnSpec) -> Any:
        if spec.kind == "geometry":
            raise _bad(f"{spec.name} is a geometry: filter it with S_INTERSECTS")
        return self.table.c[spec.name]

    def _comparison(self, node: Any) -> Any:
        op, lhs, rhs = type(node), node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            op, lhs, rhs = _SWAPPED[op], rhs, lhs
        spec = self._property(lhs)
        if isinstance(rhs, ast.Attribute):  # two properties of the same record
            return _COMPARISONS[op](self._column(spec), self._column(self._property(rhs)))
        return _COMPARISONS[op](self._column(spec), self._value(spec, rhs))

    def _like(self, node: Any) -> Any:
        spec = self._property(node.lhs)
        if spec.kind not in ("text", "enum", "uuid"):
            raise _bad(f"LIKE compares text; {spec.name} is not text")
        if not isinstance(node.pattern, str):
            raise _bad("LIKE needs a text pattern")
        col = self._column(spec)
        if self.features.store.dialect == "gpkg":
            # SQLite's LIKE ignores ASCII case; CQL2's LIKE does not, nor GLOB.
            cond = col.op("GLOB")(_glob(node.pattern))
        else:  # CQL2's wildcards are SQL's (% and _, escaped by a backslash)
            cond = col.like(node.pattern, escape="\\")
        return sa.not_(cond) if node.not_ else cond

    def _intersects(self, node: Any) -> Any:
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        spec = self._property(lhs)
        if spec.kind != "geometry":
            raise _bad(f"S_INTERSECTS needs a geometry property; {spec.name} is not one")
        shape = _literal_geometry(rhs)
        ids = self.features.spatial_ids(self.access, self.kind, spec.name, shape)
        return self.table.c.id.in_(ids) if ids else sa.false()

    def _value(self, spec: ColumnSpec, node: Any) -> Any:
        """A literal as the column holds it, or a 400 naming the property."""
        value = node
        kind = spec.kind
        wrong = _bad(f"{spec.name} is {_JSON_TYPES.get(kind, (kind,))[0]}: "
                     f"{_name_of(node)} does not compare with it")
        if isinstance(value, ast.Attribute):
            raise _bad(f"compare {spec.name} with a value, not with another property")
        if kind in ("text", "enum", "uuid"):
            if not isinstance(value, str):
                raise wrong
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise wrong
            return value
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise wrong
            return value
        if kind == "date":
            return _as_date(value, wrong)
        if kind == "datetime":
            return _as_datetime(value, wrong)
        raise wrong


def _glob(pattern: str) -> str:
    """A CQL2 LIKE pattern (% any text, _ one character, backslash escapes) as a
    SQLite GLOB pattern (*, ?, and [c] for a literal *, ? or [)."""
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(_glob_literal(next(chars, "")))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_glob_literal(ch))
    return "".join(out)


def _glob_literal(ch: str) -> str:
    return f"[{ch}]" if ch in ("*", "?", "[") else ch


def _as_date(value: Any, wrong: BadRequest) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise wrong from None
    raise wrong


def _as_datetime(value: Any, wrong: BadRequest) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise wrong from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise wrong


def _literal_geometry(node: Any) -> Any:
    """A BBOX(...) or a WKT geometry literal as a shapely geometry in lon/lat."""
    if isinstance(node, ast.Function) and node.name.lower() == "bbox":
        args = node.arguments
        if len(args) == 6:  # 3D: minx, miny, minz, maxx, maxy, maxz
            args = [args[0], args[1], args[3], args[4]]
        if len(args) != 4 or not all(isinstance(a, int | float) and not isinstance(a, bool)
                                     for a in args):
            raise _bad("BBOX takes four numbers: minx, miny, maxx, maxy")
        minx, miny, maxx, maxy = (float(a) for a in args)
        if minx > maxx or miny > maxy:
            raise _bad("BBOX: the minimum is greater than the maximum")
        return shapely.box(minx, miny, maxx, maxy)
    if isinstance(node, values.Geometry):
        try:
            shape = shapely.geometry.shape(node.geometry)
        except Exception as exc:  # noqa: BLE001 - shapely raises several kinds
            raise _bad(f"S_INTERSECTS: an invalid geometry ({_first_line(exc)})") from None
        if shape.is_empty or not all(map(_finite, shape.bounds)):
            raise _bad("S_INTERSECTS: an empty or infinite geometry")
        return shape
    raise _bad("S_INTERSECTS compares with a BBOX(...) or a POINT/POLYGON/... literal")


def _finite(x: float) -> bool:
    return x == x and abs(x) != float("inf")


def _name_of(node: Any) -> str:
    if isinstance(node, ast.Attribute):
        return f"property {node.name!r}"
    if isinstance(node, str | int | float | bool | date):
        return f"{type(node).__name__} {node!r}"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__).lower()
