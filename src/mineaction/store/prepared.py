"""SQL compiled once per query *shape*, for the hot read path (`Store.query_rows`).

Building a SQLAlchemy statement, generating its cache key, looking it up in the compiled
cache, setting up an execution context and making Row objects cost ~1.5 ms of a
list-by-bbox that the driver runs in ~0.6 ms (issue 3's benchmark). Two queries of one
shape (the same kind and columns, the same filters present, the same IN-list lengths and
value types) differ only in their parameter values: so the SQL is compiled once per shape
and per store (paramstyle and SQL differ between SQLite and PostgreSQL), and each request
only reads its values from the `Query` and hands SQL and values to the driver.

Which Query value goes into which bound parameter is not written a second time here
(`Store._select` knows): the shape's statement is built by the normal path from a query
whose values are unique sentinels, and each bound parameter that holds a sentinel reads
the matching value of the real query. A sentinel found in no parameter (a value rendered
into the SQL text, or changed on its way into the statement) makes the shape
unsupported, and such queries keep the general path. So do values this module does not
flatten (distances, dates, sets, an offset): `flatten` walks the Query's fields by the
type of their values, so a field added to Query later is either a parameter or sends its
queries to the general path, never silently dropped from the cached SQL (issue 14).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import sqlalchemy as sa

from mineaction.store.query import AnyOf, Match, Query

# The value types a shape may hold (bool is an int, but SQL binds it differently).
_PLAIN = (str, int, float)
# Shapes kept per store: API lists come in a handful (kind x caller's columns x filters);
# the cap only stops a caller that varies IN-list lengths from growing it without end.
MAX_SHAPES = 512
Flat = tuple[Hashable, list[Any]]


class Unsupported(Exception):
    """A value the prepared path does not flatten: the query takes the general path."""


# Query fields read here rather than by the generic walk: the LIMIT is put on the
# statement by the caller (`build(query, limit)`), and an OFFSET is not paged by fid.
_LIMIT, _OFFSET = "limit", "offset"
# Dataclasses inside a Query whose fields are walked like the Query's own.
_WALKED = (Match, AnyOf)


def _walked_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """(name, whether it is part of the SQL text) of each field `flatten` walks, read from
    the dataclass once, not per query: `dataclasses.fields` alone cost 5 µs a call."""
    return tuple((f.name, bool(f.metadata.get("shape"))) for f in fields(cls)
                 if f.name not in (_LIMIT, _OFFSET))


_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {
    cls: _walked_fields(cls) for cls in (Query, *_WALKED)}
_PLAIN_TYPES = frozenset(_PLAIN)


def flatten(q: Query) -> Flat | None:
    """The query's shape and its parameter values in a fixed order, or None when the
    shape is one this module leaves to the general path.

    Generated from the Query itself, not from a list of its fields: every field is
    walked by the type of its value (tests/store/test_prepared.py sets each field in turn
    and compares with the general path). None and booleans decide the SQL's form, so
    they are the shape; texts and numbers are parameters; tuples, lists, dicts and the
    condition dataclasses are walked; a field marked `shape` (the kind, a column name) is
    part of the SQL text. Anything else (dates, distances, sets) is Unsupported."""
    if getattr(q, _OFFSET) or q.place_decimals is not None:
        # rounded places are decided in Python after the SQL (store/reading.py's
        # post-filter), which prepared statements do not run
        return None
    values: list[Any] = []
    try:
        shape = _walk(q, values)
    except Unsupported:
        return None
    limit = getattr(q, _LIMIT)
    if limit is not None:
        values.append(limit + 1)  # one row more than asked says there is a next page
    return (shape, limit is not None), values


def _walk(obj: Any, values: list[Any]) -> tuple[Hashable, ...]:
    """The shape of a Query (or a condition inside one), field by field in a fixed order;
    its parameter values appended to `values`. Written for the hot path (every API list
    and GET by id): a field's token is its value when it is part of the SQL text, None
    when absent, else what `_flatten` makes of it."""
    shape: list[Hashable] = []
    for name, structural in _FIELDS[type(obj)]:
        value = getattr(obj, name)
        if structural or value is None:
            shape.append(value)
        else:
            shape.append(_flatten(value, values))
    return tuple(shape)


def _flatten(value: Any, values: list[Any]) -> Hashable:
    kind = type(value)
    if value is None or kind is bool:
        return bool(value) if kind is bool else None  # IS NULL, or a flag: the SQL's form
    if kind in _PLAIN_TYPES:
        values.append(value)
        return kind.__name__  # str, int, float: each binds differently
    if kind is tuple or kind is list:
        return ("seq", tuple(_flatten(v, values) for v in value))
    if kind is dict:
        return ("map", tuple((k, _flatten(v, values)) for k, v in value.items()))
    if kind in _FIELDS:
        return (kind.__name__, _walk(value, values))
    raise Unsupported(kind.__name__)


def with_values(q: Query, values: Sequence[Any]) -> Query:
    """A query of q's shape holding `values` (in flatten's order) instead of its own."""
    rebuilt: Query = _rebuild(q, iter(values))
    return rebuilt


def _rebuild(value: Any, it: Iterator[Any]) -> Any:
    """`value` with each parameter value `_flatten` took from it replaced by the next
    of `it`, walked in the same order."""
    kind = type(value)
    if value is None or kind is bool:
        return value
    if kind in _PLAIN_TYPES:
        return next(it)
    if kind is tuple or kind is list:
        return kind(_rebuild(v, it) for v in value)
    if kind is dict:
        return {k: _rebuild(v, it) for k, v in value.items()}
    if kind in _FIELDS:
        return replace(value, **{name: getattr(value, name) if structural
                                 else _rebuild(getattr(value, name), it)
                                 for name, structural in _FIELDS[kind]})
    raise Unsupported(kind.__name__)


def sentinels(values: Sequence[Any]) -> list[Any]:
    """One value per position, of the same type, equal to nothing a statement holds on
    its own (a NUL starts the texts; the numbers are far outside any coordinate or id)."""
    out: list[Any] = []
    for i, v in enumerate(values):
        if isinstance(v, str):
            out.append(f"\x00mineaction-sentinel-{i}")
        elif isinstance(v, float):
            out.append(-987654321.25 - i)  # exact in a float
        else:
            out.append(-9_000_000_000_000_000 - i)
    return out


@dataclass(frozen=True)
class Prepared:
    """One shape's SQL and, per driver parameter, where its value comes from: the
    position of a query value (with the bind processor SQLAlchemy would apply), or a
    constant of the statement."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    sources: tuple[tuple[int, Callable[[Any], Any] | None, Any], ...]  # (index|-1, proc, const)

    def parameters(self, values: Sequence[Any]) -> Any:
        out = []
        for index, proc, const in self.sources:
            if index < 0:
                out.append(const)
            else:
                value = values[index]
                out.append(value if proc is None else proc(value))
        return tuple(out) if self.positional else dict(zip(self.names, out, strict=True))


def prepare(statement: sa.Select[Any], dialect: sa.Dialect, marks: Sequence[Any]
            ) -> Prepared | None:
    """Compile a statement built from sentinel values `marks`; None when some sentinel
    is not a bound parameter of its own."""
    compiled = statement.compile(dialect=dialect,
                                 compile_kwargs={"render_postcompile": True})
    where = {(type(m), m): i for i, m in enumerate(marks)}
    params = compiled.construct_params()
    # Private in SQLAlchemy 2.x, but what its own execution applies to each parameter;
    # tests/store/test_prepared.py compares every shape with the general path.
    processors = compiled._bind_processors
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(params)
    used: set[int] = set()
    sources: list[tuple[int, Callable[[Any], Any] | None, Any]] = []
    for name in names:
        value = params[name]
        proc = processors.get(name)
        if proc is not None and not callable(proc):
            return None  # a tuple type's processors, one per element: not in a shape
        index = where.get((type(value), value), -1) if isinstance(value, _PLAIN) else -1
        if index >= 0:
            used.add(index)
            sources.append((index, proc, None))
        else:
            sources.append((-1, None, value if proc is None else proc(value)))
    sql = compiled.string
    if len(used) != len(marks) or any(isinstance(m, str) and m in sql for m in marks):
        return None
    if set(processors) - set(names):
        # An IN list whose values SQLAlchemy processes: after render_postcompile its
        # processor is keyed by the list's name, not by each value's; not worth mapping.
        return None
    return Prepared(sql=sql, positional=bool(compiled.positional), names=names,
                    sources=tuple(sources))


class PreparedCache:
    """Prepared SQL per (shape, row plan) for one store. `None` marks a shape found
    unsupported, so it is not compiled again."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self.dialect = dialect
        self._shapes: dict[Hashable, Prepared | None] = {}
        self._lock = threading.Lock()

    def lookup(self, q: Query, plan: Hashable,
               build: Callable[[Query, int | None], sa.Select[Any]]
               ) -> tuple[Prepared, list[Any]] | None:
        """The prepared SQL for q and its driver parameters' values, or None (general
        path). `build(query, limit)` makes the statement the general path would run;
        limit is the LIMIT to put on it (q.limit + 1: one more row says there is more)."""
        flat = flatten(q)
        if flat is None:
            return None
        shape, values = flat
        key = (shape, plan)
        try:
            prepared = self._shapes[key]
        except KeyError:
            prepared = self._compile(q, values, build)
            with self._lock:
                if len(self._shapes) >= MAX_SHAPES:
                    self._shapes.clear()
                self._shapes[key] = prepared
        if prepared is None:
            return None
        return prepared, values

    def _compile(self, q: Query, values: list[Any],
                 build: Callable[[Query, int | None], sa.Select[Any]]) -> Prepared | None:
        marks = sentinels(values)
        limit = marks[-1] if q.limit is not None else None
        fake = with_values(q, marks[:-1] if q.limit is not None else marks)
        return prepare(build(fake, limit), self.dialect, marks)
