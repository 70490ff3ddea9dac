"""Declarative mapping files: how a source table's columns become our records.

A mapping is YAML (see docs/mappings.md and io/mappings/*.yaml). It names one or more
targets, each an entity kind with a rule per field: take a column (or several), map its
values, pad codes, parse locale numbers ("2,006") and dates, build points from coordinate
columns or a "(lat, lon)" text, or set constants. A target may group several rows into one
parent record (victims sharing place, month and event type -> one accident).

Rules run on whole columns (pandas), not row by row: the import target is 50,000 rows/s.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped,unused-ignore]  # untyped or not, by mypy cache
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import BY_COLLECTION

MAPPINGS_DIR = Path(__file__).parent / "mappings"


def entity_kind(name: str) -> str:
    """The entity kind a name stands for: a collection name ("released-parts") or the kind
    itself ("released_part", "released-part")."""
    kind = BY_COLLECTION.get(name, name.replace("-", "_"))
    if kind not in ENTITIES:
        raise MappingError(
            f"unknown kind {name!r}; choose one of {', '.join(sorted(BY_COLLECTION))}"
        )
    return kind


class MappingError(Exception):
    """The mapping file itself is wrong, or does not fit the file being imported."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberFormat(_Strict):
    decimal: str = "."
    thousands: str | None = None


class DateParts(_Strict):
    """A date from separate columns; a missing day or month lowers the date's precision."""

    year: str
    month: str | None = None
    day: str | None = None


class PointRule(_Strict):
    """A point from latitude/longitude columns, a "(lat, lon)" text column, or a column in
    any format geo.parse_coordinate reads (DD, DMS, UTM, MGRS; slower, row by row)."""

    lat: str | None = None
    lon: str | None = None
    text: str | None = None
    any: str | None = None
    number: NumberFormat = NumberFormat()

    @model_validator(mode="after")
    def _one_way(self) -> PointRule:
        ways = [bool(self.lat and self.lon), bool(self.text), bool(self.any)]
        if sum(ways) != 1:
            raise ValueError("give either lat and lon, or text, or any")
        return self


class FieldRule(_Strict):
    source: str | list[str] | None = Field(default=None, alias="from")
    join: str = " "
    constant: Any = None
    values: dict[str, Any] | None = None
    unmapped: Literal["error", "keep", "null", "default"] = "error"
    default: Any = None
    null_values: list[str] = Field(default_factory=list)
    pad: int | None = None
    number: NumberFormat | None = None
    date_format: str | list[str] | None = None
    date_parts: DateParts | None = None
    point: PointRule | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `outcome: estado` is short for `outcome: {from: estado}`.
        return {"from": data} if isinstance(data, str | list) else data

    @model_validator(mode="after")
    def _has_input(self) -> FieldRule:
        given = [
            self.source is not None,
            self.constant is not None,
            self.date_parts is not None,
            self.point is not None,
        ]
        if sum(given) != 1 and not (sum(given) == 0 and self.default is not None):
            raise ValueError("give exactly one of from, constant, date_parts or point")
        return self

    def source_columns(self) -> list[str]:
        cols: list[str] = []
        if isinstance(self.source, str):
            cols.append(self.source)
        elif isinstance(self.source, list):
            cols.extend(self.source)
        if self.date_parts:
            cols.extend(c for c in (self.date_parts.year, self.date_parts.month,
                                    self.date_parts.day) if c)
        if self.point:
            cols.extend(c for c in (self.point.lat, self.point.lon, self.point.text,
                                    self.point.any) if c)
        return cols


class Group(_Strict):
    """Rows with equal values in `key` become one parent record of `kind`, which each row's
    record points to through `link` (e.g. victim.accident_id)."""

    kind: str
    key: list[str]
    link: str
    fields: dict[str, FieldRule]


class Target(_Strict):
    kind: str
    when: dict[str, list[str]] = Field(default_factory=dict)
    external_id: FieldRule | None = None
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    group: Group | None = None


class SourceInfo(_Strict):
    title: str
    kind: str = "official"
    reference: str | None = None
    url: str | None = None
    reliability: str | None = None
    credibility: int | None = None


class Mapping(_Strict):
    name: str
    description: str = ""
    dataset: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-3: flag points outside it
    source: SourceInfo | None = None
    targets: list[Target]
    path: str | None = None

    def targets_for(self, kind: str | None) -> list[Target]:
        if kind is None:
            return list(self.targets)
        chosen = [t for t in self.targets if t.kind == kind]
        if not chosen:
            kinds = ", ".join(sorted({t.kind for t in self.targets}))
            raise MappingError(f"mapping {self.name} has no target of kind {kind}; it maps {kinds}")
        return chosen


def _check_fields(where: str, kind: str, fields: dict[str, FieldRule]) -> None:
    model = ENTITIES[kind]
    for name in fields:
        if name not in model.model_fields or name in ("id", "version", "source_ids"):
            known = ", ".join(n for n in model.model_fields if n not in ("id", "version"))
            raise MappingError(f"{where}: {kind} has no field {name!r}; it has {known}")


Lines = dict[tuple[str | int, ...], int]


def _options() -> set[str]:
    names: set[str] = set()
    for model in (NumberFormat, DateParts, PointRule, FieldRule, Group, Target, SourceInfo,
                  Mapping):
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    return names - {"path"}


def _line(lines: Lines, loc: tuple[str | int, ...], shorthand: bool) -> int | None:
    """The line of the longest part of ``loc`` the file has (1-based), if known."""
    candidates = [loc]
    if shorthand and loc[:2] == ("targets", 0):
        candidates.insert(0, loc[2:])  # the one-target shorthand has no `targets:`
    for path in candidates:
        for n in range(len(path), 0, -1):
            if path[:n] in lines:
                return lines[path[:n]]
    return None


def _where(origin: str, lines: Lines, loc: tuple[str | int, ...], shorthand: bool) -> str:
    line = _line(lines, loc, shorthand)
    return f"{origin}, line {line}" if line is not None else origin


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# Why an option given in a rule does nothing there (checked once the field's type is known).
def _not_applying(rule: FieldRule, field_kind: str) -> list[tuple[str, str]]:
    given = rule.model_fields_set
    out: list[tuple[str, str]] = []
    builds = "date_parts" if rule.date_parts is not None else (
        "point" if rule.point is not None else None)
    if rule.number is not None:
        if builds == "date_parts":
            out.append(("number", "it does not apply beside date_parts, whose parts are read "
                        "as whole numbers (thousands separators included)"))
        elif builds == "point":
            out.append(("number", "it does not apply beside point: put it inside point"))
        elif field_kind not in ("int", "float"):
            out.append(("number", f"it applies to number fields only, and this is a "
                        f"{field_kind} field"))
    if rule.date_format is not None:
        if builds == "date_parts":
            out.append(("date_format", "it does not apply beside date_parts"))
        elif field_kind != "date":
            out.append(("date_format", f"it applies to date fields only, and this is a "
                        f"{field_kind} field"))
    if rule.date_parts is not None and field_kind != "date":
        out.append(("date_parts", f"it applies to date fields only, and this is a "
                    f"{field_kind} field"))
    if rule.point is not None and field_kind != "geometry":
        out.append(("point", f"it applies to geometry only, and this is a {field_kind} field"))
    if builds is not None:
        for option in ("values", "pad", "null_values"):
            if option in given:
                out.append((option, f"it does not apply beside {builds}"))
    if "unmapped" in given and rule.values is None:
        out.append(("unmapped", "it applies only with values"))
    if "join" in given and not isinstance(rule.source, list):
        out.append(("join", "it applies only when from lists several columns"))
    if "null_values" in given and rule.constant is not None:
        out.append(("null_values", "it does not apply beside constant"))
    return out


def _check_rules(origin: str, lines: Lines, shorthand: bool, base: tuple[str | int, ...],
                 kind: str, fields: dict[str, FieldRule]) -> None:
    from mineaction.domain.columns import columns

    kinds = {spec.name: spec.kind for spec in columns(ENTITIES[kind])}
    for name, rule in fields.items():
        for option, why in _not_applying(rule, kinds.get(name, "text")):
            loc = (*base, name, option)
            raise MappingError(f"{_where(origin, lines, loc, shorthand)}: {_dotted(loc)}: "
                               f"option {option!r} does not apply here: {why}")


def parse_mapping(data: Any, *, origin: str, lines: Lines | None = None) -> Mapping:
    """A mapping from YAML data; ``lines`` (from load_mapping) puts line numbers in its
    errors. Unknown options, and options that do nothing where they stand, are errors."""
    lines = lines or {}
    if not isinstance(data, dict):
        raise MappingError(f"{origin}: a mapping file holds a YAML mapping (key: value)")
    shorthand = "targets" not in data and "kind" in data
    if shorthand:
        # One-target shorthand: kind/fields/group at the top level.
        only = {k: data.pop(k) for k in ("kind", "when", "external_id", "fields", "group")
                if k in data}
        data["targets"] = [only]
    data.setdefault("name", Path(origin).stem)
    try:
        for raw in data.get("targets") or []:
            if isinstance(raw, dict) and "kind" in raw:
                raw["kind"] = entity_kind(str(raw["kind"]))
                if isinstance(raw.get("group"), dict) and "kind" in raw["group"]:
                    raw["group"]["kind"] = entity_kind(str(raw["group"]["kind"]))
        mapping = Mapping.model_validate({**data, "path": origin})
    except ValidationError as exc:
        problems = []
        options = _options()
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (
                p in ("str", "list[str]", "dict[str,any]") or p.startswith("function-"))))
            where = _where(origin, lines, loc, shorthand)
            if e["type"] == "extra_forbidden":
                option = str(loc[-1])
                close = difflib.get_close_matches(option, sorted(options), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(f"{where}: {_dotted(loc)}: unknown option {option!r}{hint}")
            else:
                problems.append(f"{where}: {_dotted(loc)}: {e['msg']}")
        raise MappingError("; ".join(problems)) from None
    for i, target in enumerate(mapping.targets):
        _check_fields(f"{origin}: targets[{i}].fields", target.kind, target.fields)
        _check_rules(origin, lines, shorthand, ("targets", i, "fields"), target.kind,
                     target.fields)
        if target.external_id is not None:
            _check_rules(origin, lines, shorthand, ("targets", i), target.kind,
                         {"external_id": target.external_id})
        if target.group:
            _check_fields(f"{origin}: targets[{i}].group.fields", target.group.kind,
                          target.group.fields)
            _check_rules(origin, lines, shorthand, ("targets", i, "group", "fields"),
                         target.group.kind, target.group.fields)
            if target.group.link not in ENTITIES[target.kind].model_fields:
                raise MappingError(
                    f"{origin}: targets[{i}].group.link: {target.kind} has no field "
                    f"{target.group.link!r}"
                )
    return mapping


def _lines(node: Any, path: tuple[str | int, ...] = (), out: Lines | None = None) -> Lines:
    """Where each key and item of a composed YAML document starts (1-based lines)."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            out[here] = key.start_mark.line + 1
            _lines(value, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _lines(item, (*path, i), out)
    return out


class YamlLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML 1.1 reads yes/no/on/off as booleans, which would turn a source value "No" into
    False (or a bearing's "N" into True); in the files people write for mineaction
    (mappings, minefield records) only true and false are booleans."""


YamlLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"))


def shipped_mappings() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.yaml"))}


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A shipped mapping by name (see `mineaction mappings`) or a YAML file by path."""
    path = Path(name_or_path)
    if not path.exists():
        shipped = shipped_mappings()
        if str(name_or_path) not in shipped:
            raise MappingError(
                f"no mapping file {name_or_path!r} and no shipped mapping of that name; "
                f"shipped: {', '.join(shipped) or 'none'}"
            )
        path = shipped[str(name_or_path)]
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.load(text, Loader=YamlLoader)
        lines = _lines(yaml.compose(text, Loader=YamlLoader))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read: {exc}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{path}: not valid YAML: {exc}") from None
    return parse_mapping(data, origin=str(path), lines=lines)


def identity_mapping(kind: str) -> Mapping:
    """For files whose columns already carry our field names (e.g. our own exports)."""
    return Mapping(name=f"{kind}-fields", targets=[Target(kind=kind)])
