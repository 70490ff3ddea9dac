# SPDX-License-Identifier: GPL-3.0-or-later
"""Minefield record files (issue 18, item 6): a paper record as on the CCW Amended Protocol
II form, typed into YAML (legs and rows may also be CSV files the YAML names), read into a
*plan*: the MinefieldRecord with its perimeter, its MinefieldPoints (as entered, and where
that puts them) and MineRows, the sources and the attachments, nothing written yet.

docs/minefield-records.md ("Recording a minefield") documents the format;
docs/examples/minefield/minefield-record.yaml is the worked example. Validation is strict
(unknown keys are errors) and every error names the file, its line and the field, as
io/mapping.py does for mapping files: a record is typed from paper, and "line 23:
legs[2].bearing" is what lets someone find the typo on the form.

Writing the plan (one transaction) and who may do it is services/minefields.py.
"""

from __future__ import annotations

import csv
import mimetypes
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from shapely.geometry import LineString, Point, Polygon

from mineaction.domain.enums import (
    AngleUnit,
    BearingReference,
    DeviceCategory,
    DistanceUnit,
    PointRole,
    Reliability,
    RowPattern,
    SourceKind,
)
from mineaction.domain.models import MinefieldPoint, MinefieldRecord, MineRow, Source
from mineaction.geo.coordinates import CoordinateError, parse_coordinate, parse_lat_lon_pair
from mineaction.geo.traverse import Leg, TraverseError, TraverseResult, compute_traverse
from mineaction.io.mapping import YamlLoader

# An attachment is a scan or a photo of the paper record; larger files belong elsewhere.
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# Where each key or item of the file starts: (file, 1-based line), by its path of keys.
Where = tuple[str, int]
Locations = dict[tuple[str | int, ...], Where]


@dataclass(frozen=True)
class Problem:
    origin: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        at = f"{self.origin}, line {self.line}" if self.line is not None else self.origin
        return f"{at}: {self.field}: {self.message}" if self.field else f"{at}: {self.message}"


class MinefieldFileError(ValueError):
    """The record file is wrong; `problems` names file, line and field of each fault."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# -- the file's shape ---------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _reference(value: Any) -> Any:
    # YAML reads a bare `true` as a boolean: `bearing_reference: true` means true north.
    return "true" if value is True else value


class PointIn(_Strict):
    """A point fixed by coordinates: the benchmark, reference points, landmarks."""

    name: str = Field(min_length=1, max_length=100)
    role: PointRole = PointRole.reference
    coordinates: str | None = None  # any notation geo.parse_coordinate reads
    lat: float | str | None = None
    lon: float | str | None = None
    description: str | None = None


class LegIn(_Strict):
    """A leg as written on the form: from a point, a bearing and a distance, to a point."""

    to: str = Field(min_length=1, max_length=100)
    from_: str | None = Field(default=None, alias="from", max_length=100)
    bearing: float
    distance: float = Field(ge=0)
    bearing_reference: BearingReference | None = None
    bearing_unit: AngleUnit | None = None
    distance_unit: DistanceUnit | None = None
    pace_factor: float | None = Field(default=None, gt=0)
    role: PointRole = PointRole.turning
    description: str | None = None

    _ref = field_validator("bearing_reference", mode="before")(_reference)


class RowIn(_Strict):
    label: str = Field(min_length=1, max_length=100)
    start: str = Field(min_length=1)
    end: str = Field(min_length=1)
    mines: int | None = Field(default=None, ge=1)
    spacing: float | None = Field(default=None, gt=0)  # metres between mines on a line
    pattern: RowPattern = RowPattern.single
    offset: float | None = Field(default=None, ge=0)  # metres between a double row's lines
    device_category: DeviceCategory = DeviceCategory.unknown
    device_model: str | None = None
    fuze: str | None = None
    anti_handling: bool | None = None
    date_laid: date | None = None


class SourceIn(_Strict):
    """Who laid the field or handed the record over, and how far they are to be believed
    (the admiralty code of the Source entity)."""

    role: Literal["laid_by", "handed_over_by", "other"] = "other"
    title: str | None = None
    source_kind: SourceKind = SourceKind.official
    reference: str | None = None
    url: str | None = None
    source_date: date | None = None
    reliability: Reliability | None = None
    credibility: int | None = Field(default=None, ge=1, le=6)


class AttachmentIn(_Strict):
    file: str = Field(min_length=1)  # relative to the record file
    caption: str | None = None
    media_type: str | None = None


class RecordFile(_Strict):
    name: str = Field(min_length=1, max_length=200)
    hazard: str | None = None  # the hazard's external id
    hazard_id: uuid.UUID | None = None
    dataset: str | None = None
    external_id: str | None = None
    date_laid: date | None = None
    date_recorded: date | None = None
    laid_by: str | None = None
    handed_over_by: str | None = None
    date_handed_over: date | None = None
    organisation_id: uuid.UUID | None = None
    admin_area_pcode: str | None = None
    notes: str | None = None
    # Defaults of every leg, as the form states them once.
    bearing_reference: BearingReference = BearingReference.true
    bearing_unit: AngleUnit = AngleUnit.degrees
    distance_unit: DistanceUnit = DistanceUnit.metres
    pace_factor: float | None = Field(default=None, gt=0)
    declination: float | None = Field(default=None, ge=-180, le=180)  # as printed, east +
    utm_zone: int | None = Field(default=None, ge=1, le=60)
    adjust: bool = False  # compass-rule adjustment of the closure error
    points: list[PointIn] = Field(min_length=1)
    legs: list[LegIn] = Field(min_length=1)
    rows: list[RowIn] = []
    sources: list[SourceIn] = []
    attachments: list[AttachmentIn] = []

    _ref = field_validator("bearing_reference", mode="before")(_reference)


# -- the plan -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SourcePlan:
    role: str
    source: Source


@dataclass(frozen=True)
class AttachmentPlan:
    file_name: str
    media_type: str
    content: bytes
    caption: str | None = None


@dataclass(frozen=True)
class MinefieldPlan:
    """What a record file says, computed, before anything is written. `hazard_ref` is the
    hazard's external id when the file names it so (the service looks it up)."""

    origin: str
    record: MinefieldRecord
    points: tuple[MinefieldPoint, ...]
    rows: tuple[MineRow, ...]
    sources: tuple[SourcePlan, ...]
    attachments: tuple[AttachmentPlan, ...]
    traverse: TraverseResult
    benchmark: str
    hazard_ref: str | None = None
    warnings: tuple[str, ...] = field(default=())


# -- reading ------------------------------------------------------------------------------
# Only true and false are booleans: "N" (north) or "no" stay text (io/mapping.py).
_Loader = YamlLoader


def _locations(node: Any, origin: str, path: tuple[str | int, ...] = (),
               out: Locations | None = None) -> Locations:
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            out[here] = (origin, key.start_mark.line + 1)
            _locations(value, origin, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = (origin, item.start_mark.line + 1)
            _locations(item, origin, (*path, i), out)
    return out


def _dotted(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Context:
    """Where things are, and the problems found so far."""

    def __init__(self, origin: str, locations: Locations) -> None:
        self.origin = origin
        self.locations = locations
        self.problems: list[Problem] = []

    def where(self, loc: tuple[str | int, ...]) -> tuple[str, int | None]:
        for n in range(len(loc), 0, -1):
            if loc[:n] in self.locations:
                return self.locations[loc[:n]]
        return self.origin, None

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        origin, line = self.where(loc)
        self.problems.append(Problem(origin, line, _dotted(loc), message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise MinefieldFileError(self.problems)


def load_minefield_file(path: str | Path) -> MinefieldPlan:
    """The plan of a record file on disk; attachments and CSV files are read relative to it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MinefieldFileError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    return parse_minefield_text(text, origin=str(path), base_dir=path.parent)


def parse_minefield_text(text: str, *, origin: str, base_dir: Path | None = None,
                         files: Mapping[str, bytes] | None = None) -> MinefieldPlan:
    """The plan of a record file's text. Files it names (attachments, CSV legs or rows) are
    taken from `files` (by name, as uploaded) or else read under `base_dir`."""
    try:
        data = yaml.load(text, Loader=_Loader)
        locations = _locations(yaml.compose(text, Loader=_Loader), origin)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise MinefieldFileError([Problem(origin, line, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise MinefieldFileError([Problem(origin, 1, "", "a record file holds a YAML mapping "
                                          "(key: value), see docs/minefield-records.md")])
    ctx = _Context(origin, locations)
    reader = _Files(base_dir, files or {})
    for key in ("legs", "rows"):
        if isinstance(data.get(key), str):
            data[key] = _read_csv(ctx, reader, key, data[key])
    ctx.raise_if_any()
    try:
        parsed = RecordFile.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and (
                p.startswith("function-") or p in ("float", "str", "list[LegIn]",
                                                   "list[RowIn]"))))
            if e["type"] == "extra_forbidden":
                ctx.add(loc, f"unknown key {str(loc[-1])!r}")
            else:
                ctx.add(loc, e["msg"])
        ctx.raise_if_any()
        raise AssertionError("unreachable") from None  # pragma: no cover
    return _plan(ctx, parsed, reader)


class _Files:
    def __init__(self, base_dir: Path | None, files: Mapping[str, bytes]) -> None:
        self.base_dir, self.files = base_dir, files

    def read(self, name: str) -> bytes:
        """A named file's bytes; OSError with a reason when it cannot be had."""
        if name in self.files:
            return self.files[name]
        if Path(name).name in self.files:
            return self.files[Path(name).name]
        if self.base_dir is None:
            raise OSError("not among the uploaded files")
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            # A record file names its own scans; it may not reach elsewhere on the server.
            raise OSError("give a path relative to the record file, without '..'")
        full = self.base_dir / path
        if full.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise OSError(f"larger than {MAX_ATTACHMENT_BYTES // 2**20} MB")
        return full.read_bytes()


def _read_csv(ctx: _Context, reader: _Files, key: str, name: str) -> list[dict[str, Any]]:
    """Legs or rows from a CSV file (a header of the YAML keys, one leg or row a line);
    the CSV's own lines then locate the errors."""
    try:
        text = reader.read(name).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.add((key,), f"cannot read {name}: {exc}")
        return []
    csv_origin = str((reader.base_dir / name) if reader.base_dir else name)
    out: list[dict[str, Any]] = []
    rows = csv.DictReader(text.splitlines())
    for i, row in enumerate(rows):
        ctx.locations[(key, i)] = (csv_origin, rows.line_num)
        for column in row:
            ctx.locations[(key, i, str(column))] = (csv_origin, rows.line_num)
        # An empty cell is a value not given, as a key left out of the YAML.
        out.append({str(k): v.strip() for k, v in row.items()
                    if k is not None and v is not None and v.strip() != ""})
    return out


def _position(ctx: _Context, i: int, point: PointIn) -> tuple[float, float, str] | None:
    loc: tuple[str | int, ...] = ("points", i)
    try:
        if point.coordinates is not None:
            if point.lat is not None or point.lon is not None:
                ctx.add(loc, "give coordinates or lat and lon, not both")
                return None
            parsed = parse_coordinate(point.coordinates)
        elif point.lat is not None and point.lon is not None:
            parsed = parse_lat_lon_pair(point.lat, point.lon)
        else:
            ctx.add(loc, "a point needs coordinates (or lat and lon)")
            return None
    except CoordinateError as exc:
        ctx.add((*loc, "coordinates" if point.coordinates is not None else "lat"), str(exc))
        return None
    return parsed.lat, parsed.lon, parsed.original


def _plan(ctx: _Context, f: RecordFile, reader: _Files) -> MinefieldPlan:
    fixed: dict[str, tuple[float, float, str]] = {}
    benchmarks = [i for i, p in enumerate(f.points) if p.role == PointRole.benchmark]
    if len(benchmarks) != 1:
        ctx.add(("points",), f"exactly one point must have role benchmark (the traverse "
                f"starts from it), not {len(benchmarks)}")
    for i, point in enumerate(f.points):
        if point.name in fixed:
            ctx.add(("points", i, "name"), f"point {point.name!r} is named twice")
            continue
        position = _position(ctx, i, point)
        if position is not None:
            fixed[point.name] = position
    ctx.raise_if_any()
    bm = f.points[benchmarks[0]].name
    legs = _legs(ctx, f, set(fixed), bm)
    ctx.raise_if_any()
    record_date = f.date_laid or f.date_recorded
    lat0, lon0, _ = fixed[bm]
    try:
        result = compute_traverse(bm, lat0, lon0, [leg for _, leg in legs],
                                  record_date=record_date, declination=f.declination,
                                  utm_zone=f.utm_zone, adjust=f.adjust)
    except TraverseError as exc:
        # The engine counts legs in the order it was given them (the closing leg last);
        # its "leg N" is mapped back to the file's own leg.
        match = re.search(r"\bleg (\d+)", str(exc))
        index = legs[int(match.group(1)) - 1][0] if match else None
        ctx.add(("legs", index) if index is not None else ("legs",), str(exc))
        ctx.raise_if_any()
        raise  # pragma: no cover
    warnings = []
    for w in sorted(result.warnings, key=lambda w: -1 if w.leg_index is None
                    else legs[w.leg_index][0]):
        if w.leg_index is None:
            warnings.append(w.message)
            continue
        # The engine numbers legs in its own order: say the file's leg, and where it is.
        i = legs[w.leg_index][0]
        origin, line = ctx.where(("legs", i))
        message = re.sub(r"\bleg \d+", f"leg {i + 1}", w.message, count=1)
        warnings.append(str(Problem(origin, line, f"legs[{i}]", message)))
    references = [p for p in f.points if p.role in (PointRole.reference, PointRole.landmark)]
    if len(references) < 2:
        warnings.append(f"{len(references)} reference point(s) or landmark(s): the Protocol's "
                        "Technical Annex asks for at least two, so the field can be found "
                        "again if one is lost")
    computed = _computed(result)
    positions = {**{n: (lat, lon) for n, (lat, lon, _) in fixed.items()}, **computed}
    for i, row in enumerate(f.rows):
        for end in ("start", "end"):
            name = getattr(row, end)
            if name not in positions:
                ctx.add(("rows", i, end), f"no point {name!r}: a row runs between named "
                        "points (a leg to each, or a point with coordinates)")
    labels = [r.label for r in f.rows]
    for i, label in enumerate(labels):
        if labels.index(label) != i:
            ctx.add(("rows", i, "label"), f"row {label!r} is listed twice")
    attachments = _attachments(ctx, f, reader)
    sources = _sources(f)
    perimeter = _perimeter(ctx, result, positions)
    if perimeter is None and result.closure is None:
        warnings.append(f"the traverse does not return to {bm}: the record gets no perimeter")
    ctx.raise_if_any()
    try:
        return _build(ctx, f, fixed, legs, result, positions, perimeter, sources,
                      attachments, bm, warnings)
    except ValueError as exc:  # a domain rule the file's values break
        ctx.add((), str(exc))
        ctx.raise_if_any()
        raise  # pragma: no cover


def _child_key(f: RecordFile, part: str) -> dict[str, Any]:
    """Points, rows and sources of a keyed record are keyed under it ("MF-7/TP1"): a
    dataset goes with an external id, and re-importing the file then meets the same keys."""
    if f.dataset is None or f.external_id is None:
        return {}
    return {"dataset": f.dataset, "external_id": f"{f.external_id}/{part}"}


def _build(ctx: _Context, f: RecordFile, fixed: dict[str, tuple[float, float, str]],
           legs: list[tuple[int, Leg]], result: TraverseResult,
           positions: dict[str, tuple[float, float]], perimeter: Polygon | None,
           sources: list[SourcePlan],
           attachments: list[AttachmentPlan], bm: str, warnings: list[str]) -> MinefieldPlan:
    record = MinefieldRecord(
        name=f.name, hazard_id=f.hazard_id, dataset=f.dataset, external_id=f.external_id,
        date_laid=f.date_laid, date_recorded=f.date_recorded, laid_by=f.laid_by,
        handed_over_by=f.handed_over_by, date_handed_over=f.date_handed_over,
        organisation_id=f.organisation_id, admin_area_pcode=f.admin_area_pcode,
        notes=f.notes, geometry=perimeter,
        area_m2=_area(result), closure_error_m=(
            round(result.closure.error_m, 4) if result.closure is not None else None),
        adjusted=bool(result.closure is not None and result.closure.adjusted),
        source_ids=[s.source.id for s in sources])
    points = _points(f, record.id, fixed, legs, result)
    rows = tuple(MineRow(
        record_id=record.id, label=r.label, start_point=r.start, end_point=r.end,
        geometry=LineString([positions[r.start][::-1], positions[r.end][::-1]]),
        mines=r.mines, spacing_m=r.spacing, pattern=r.pattern, row_offset_m=r.offset,
        device_category=r.device_category, device_model=r.device_model, fuze=r.fuze,
        anti_handling=r.anti_handling, date_laid=r.date_laid or f.date_laid,
        **_child_key(f, f"row {r.label}")) for r in f.rows)
    return MinefieldPlan(origin=ctx.origin, record=record, points=points, rows=rows,
                         sources=tuple(sources), attachments=tuple(attachments),
                         traverse=result, benchmark=bm, hazard_ref=f.hazard,
                         warnings=tuple(warnings))


def _legs(ctx: _Context, f: RecordFile, fixed: set[str], bm: str) -> list[tuple[int, Leg]]:
    """The legs for the engine, each with its index in the file. Side shots (to row ends,
    marker posts) are often written after the leg that closes the loop; the engine wants
    the closing leg last, so it is moved there (nothing hangs from the closing point: a
    leg "from BM" starts at the benchmark itself)."""
    reached = {bm}
    out: list[tuple[int, Leg]] = []
    closing: tuple[int, Leg] | None = None
    previous = bm
    for i, leg in enumerate(f.legs):
        origin = leg.from_ if leg.from_ is not None else previous
        previous = leg.to
        if origin not in reached:
            why = ("a point with coordinates; legs run from the benchmark and the points "
                   "legs reach" if origin in fixed else "no earlier leg reaches it")
            ctx.add(("legs", i, "from"), f"leg starts from {origin!r}: {why}")
            continue
        if leg.to == bm:
            if closing is not None:
                ctx.add(("legs", i, "to"), f"a second leg back to {bm}")
            closing = (i, _leg(f, leg, origin))
            continue
        if leg.to in reached or leg.to in fixed:
            ctx.add(("legs", i, "to"), f"point {leg.to!r} is already a point of the record")
            continue
        reached.add(leg.to)
        out.append((i, _leg(f, leg, origin)))
    if closing is not None:
        out.append(closing)
    return out


def _leg(f: RecordFile, leg: LegIn, origin: str) -> Leg:
    return Leg(to_point=leg.to, bearing=leg.bearing, distance=leg.distance, from_point=origin,
               bearing_reference=(leg.bearing_reference or f.bearing_reference).value,
               bearing_unit=(leg.bearing_unit or f.bearing_unit).value,
               distance_unit=(leg.distance_unit or f.distance_unit).value,
               pace_factor=leg.pace_factor if leg.pace_factor is not None else f.pace_factor)


def _used(p: Any) -> tuple[float, float]:
    """A computed point's position: adjusted when the adjustment was made."""
    if p.adjusted_lat is not None and p.adjusted_lon is not None:
        return float(p.adjusted_lat), float(p.adjusted_lon)
    return float(p.lat), float(p.lon)


def _computed(result: TraverseResult) -> dict[str, tuple[float, float]]:
    # The first point is the benchmark and the closing point bears its name: both skipped.
    start = result.points[0].name
    return {p.name: _used(p) for p in result.points[1:] if p.name != start}


def _perimeter(ctx: _Context, result: TraverseResult,
               positions: dict[str, tuple[float, float]]) -> Polygon | None:
    if result.closure is None:
        return None
    ring = [positions[name] for name in result.closure.loop[:-1]]
    if len(ring) < 3:
        ctx.add(("legs",), f"the loop {' - '.join(result.closure.loop)} has fewer than 3 "
                "corners: no perimeter")
        return None
    polygon = Polygon([(lon, lat) for lat, lon in ring])
    if not polygon.is_valid:
        ctx.add(("legs",), f"the perimeter {' - '.join(result.closure.loop)} crosses itself: "
                "check the bearings against the form")
        return None
    return polygon


def _area(result: TraverseResult) -> float | None:
    c = result.closure
    if c is None:
        return None
    area = c.adjusted_area_m2 if c.adjusted and c.adjusted_area_m2 is not None else c.area_m2
    return round(area, 2)


def _points(f: RecordFile, record_id: uuid.UUID, fixed: dict[str, tuple[float, float, str]],
            legs: list[tuple[int, Leg]], result: TraverseResult
            ) -> tuple[MinefieldPoint, ...]:
    bm = result.points[0].name
    out: list[MinefieldPoint] = []
    for point in f.points:
        lat, lon, original = fixed[point.name]
        out.append(MinefieldPoint(
            record_id=record_id, name=point.name, role=point.role, sequence=len(out),
            original_coordinates=original, description=point.description,
            geometry=Point(lon, lat), **_child_key(f, point.name)))
    computed = {id(p.leg): p for p in result.points[1:]}
    for index, leg in sorted(legs, key=lambda item: item[0]):
        entry = f.legs[index]
        lat, lon = _used(computed[id(leg)])
        out.append(MinefieldPoint(
            record_id=record_id, name=leg.to_point,
            # The leg back to the benchmark fixes no new point: it is the end of the loop.
            role=entry.role if leg.to_point != result.points[0].name else PointRole.end,
            sequence=len(out), from_point=leg.from_point, bearing=leg.bearing,
            bearing_reference=BearingReference(leg.bearing_reference),
            bearing_unit=AngleUnit(leg.bearing_unit), distance=leg.distance,
            distance_unit=DistanceUnit(leg.distance_unit), pace_factor=leg.pace_factor,
            description=entry.description, geometry=Point(lon, lat),
            # The closing leg's end bears the benchmark's name: keyed apart from it.
            **_child_key(f, leg.to_point if leg.to_point != bm else f"{bm} (closing)")))
    return tuple(out)


def _sources(f: RecordFile) -> list[SourcePlan]:
    out: list[SourcePlan] = []
    for s in f.sources:
        who = {"laid_by": f.laid_by, "handed_over_by": f.handed_over_by}.get(s.role)
        label = {"laid_by": "Laid by", "handed_over_by": "Handed over by"}.get(s.role, "Source")
        title = s.title or f"{label} {who or 'unknown'} (minefield record {f.name})"
        out.append(SourcePlan(s.role, Source(
            source_kind=s.source_kind, title=title, reference=s.reference, url=s.url,
            source_date=s.source_date, reliability=s.reliability, credibility=s.credibility,
            **_child_key(f, f"source {len(out) + 1}"))))
    return out


def _attachments(ctx: _Context, f: RecordFile, reader: _Files) -> list[AttachmentPlan]:
    out = []
    for i, a in enumerate(f.attachments):
        try:
            content = reader.read(a.file)
        except OSError as exc:
            ctx.add(("attachments", i, "file"), f"cannot read {a.file}: "
                    f"{exc.strerror or exc}")
            continue
        if len(content) > MAX_ATTACHMENT_BYTES:
            ctx.add(("attachments", i, "file"), f"{a.file} is larger than "
                    f"{MAX_ATTACHMENT_BYTES // 2**20} MB")
            continue
        media = a.media_type or mimetypes.guess_type(a.file)[0] or "application/octet-stream"
        out.append(AttachmentPlan(Path(a.file).name, media, content, a.caption))
    return out


# -- JSON ---------------------------------------------------------------------------------
def precision_text(ratio: float | None) -> str | None:
    """"1:85,600" (three significant figures), as surveyors write a traverse's precision."""
    if ratio is None:
        return None
    rounded = float(f"{ratio:.3g}")
    return f"1:{rounded:,.0f}"


def traverse_json(result: TraverseResult, roles: Mapping[str, str] | None = None
                  ) -> dict[str, Any]:
    """A traverse as JSON: each point a GeoJSON Feature (the entry as typed beside the
    computed and, when adjusted, adjusted position), the perimeter a Feature (None when
    the traverse does not close), closure and warnings. The web form draws this as the
    user types (POST /minefield-records/compute): keep its shape."""
    roles = roles or {}
    start = result.points[0].name
    features: list[dict[str, Any]] = []
    positions: dict[str, list[float]] = {}
    for i, p in enumerate(result.points):
        lat, lon = _used(p)
        leg = p.leg
        closing = i > 0 and p.name == start
        props: dict[str, Any] = {
            "name": p.name,
            "role": "benchmark" if i == 0 else ("end" if closing else roles.get(p.name)),
            "closing": closing,
            "from": p.from_point,
            "entered": None if leg is None else {
                "bearing": leg.bearing, "bearing_reference": leg.bearing_reference,
                "bearing_unit": leg.bearing_unit, "distance": leg.distance,
                "distance_unit": leg.distance_unit, "pace_factor": leg.pace_factor},
            "true_bearing_deg": p.true_bearing_deg, "distance_m": p.distance_m,
            "correction_deg": p.correction_deg, "lat": p.lat, "lon": p.lon,
            "adjusted_lat": p.adjusted_lat, "adjusted_lon": p.adjusted_lon,
        }
        features.append({"type": "Feature", "geometry": {"type": "Point",
                                                         "coordinates": [lon, lat]},
                         "properties": props})
        if not closing:
            positions[p.name] = [lon, lat]
    closure = result.closure
    perimeter = None
    closure_json = None
    if closure is not None:
        ring = [positions[n] for n in closure.loop[:-1]]
        perimeter = {"type": "Feature", "geometry": {
            "type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"area_m2": _area(result), "loop": list(closure.loop),
                           "adjusted": closure.adjusted}}
        closure_json = {
            "error_m": closure.error_m, "bearing_deg": closure.bearing_deg,
            "length_m": closure.length_m, "precision_ratio": closure.precision_ratio,
            "precision": precision_text(closure.precision_ratio),
            "area_m2": closure.area_m2, "adjusted_area_m2": closure.adjusted_area_m2,
            "perimeter_m": closure.perimeter_m, "loop": list(closure.loop),
            "adjusted": closure.adjusted}
    return {"points": features, "perimeter": perimeter, "closure": closure_json,
            "warnings": [{"code": w.code, "message": w.message, "leg_index": w.leg_index}
                         for w in result.warnings],
            "utm_zone": result.utm_zone, "magnetic_model": result.magnetic_model}


def plan_json(plan: MinefieldPlan) -> dict[str, Any]:
    """The plan as JSON: what an import will write (or, with --dry-run, would write)."""
    roles = {p.name or "": p.role.value for p in plan.points}
    return {
        "record": plan.record.model_dump(mode="json"),
        "hazard": plan.hazard_ref,
        "traverse": traverse_json(plan.traverse, roles),
        "points": [p.model_dump(mode="json") for p in plan.points],
        "rows": [r.model_dump(mode="json") for r in plan.rows],
        "sources": [{"role": s.role, **s.source.model_dump(mode="json")} for s in plan.sources],
        "attachments": [{"file_name": a.file_name, "media_type": a.media_type,
                         "size": len(a.content), "caption": a.caption}
                        for a in plan.attachments],
        "warnings": list(plan.warnings),
    }
