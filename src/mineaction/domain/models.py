"""Entities of the data model (docs/design.md), after IMAS 05.10 and IMSMA item types.

These pydantic models are the single definition of every entity: the stores derive their
tables from them (store/schema.py) and the bulk importer derives its column checks from them
(domain/columns.py), so a field added here appears everywhere. Rules across fields (a
victim's age decides the age band, a hazard's area comes from its polygon ...) are plain
functions in domain/rules.py, which the models and the bulk importer both call.

`domain` imports only `geo` of ours, and only for pure geodesic arithmetic (area on the
ellipsoid), which docs/design.md puts in geo/.
"""

from __future__ import annotations

import os
import uuid
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mineaction.domain.enums import (
    AccidentKind,
    ActivityKind,
    ActivityStatus,
    AgeBand,
    AngleUnit,
    AreaType,
    BearingReference,
    Blockage,
    DatePrecision,
    DeviceCategory,
    Disposal,
    DistanceUnit,
    EvidenceKind,
    FindCondition,
    HazardKind,
    HazardStatus,
    LocationPrecision,
    OrganisationKind,
    Outcome,
    PointRole,
    ReleaseMethod,
    Reliability,
    Role,
    RowPattern,
    Sex,
    SourceKind,
    VictimActivity,
    WorkflowStatus,
)
from mineaction.domain.geometry import (
    AreaGeometry,
    GeometryKind,
    LineGeometry,
    PointGeometry,
    PointOrAreaGeometry,
)
from mineaction.domain.rules import KIND_RULES, RECORD_RULES, RuleError, geometry_problem


def new_ids(n: int) -> list[str]:
    """n random (version 4) UUIDs as text, made in one go: an import needs a million, and
    uuid.uuid4() one at a time costs about 2 us each; this costs about 0.3 us."""
    import numpy as np  # here, not at import: `mineaction info` never makes an id

    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = raw.tobytes().hex()
    return [
        f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-{h[i + 20:i + 32]}"
        for i in range(0, 32 * n, 32)
    ]


def personal() -> Any:
    """Marks a field as personal data: only roles granted it receive it; exports leave it out."""
    return Field(default=None, json_schema_extra={"personal": True})

NonNegative = Annotated[int, Field(ge=0)]


class Record(BaseModel):
    """Fields every record carries (docs/design.md, "Every record")."""

    # defer_build: a model's validator is built when first used, not on import (start-up of
    # commands such as `info` that validate no record).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    kind: ClassVar[str]
    table: ClassVar[str]

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    dataset: str | None = Field(default=None, max_length=200)
    external_id: str | None = Field(default=None, max_length=200)
    status: WorkflowStatus = WorkflowStatus.draft
    version: int = Field(default=1, ge=1)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    created_by: str | None = None
    updated_by: str | None = None
    # A deleted record leaves its table (which holds current records only, as GIS clients
    # read it); its versions stay in record_history and a tombstone in deleted_records.
    source_ids: list[uuid.UUID] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rules(self) -> Record:
        """Geometries checked, then the rules of every record and of this kind
        (domain/rules.py, which the bulk importer applies too)."""
        stored = STORED_ROWS.get()
        if not stored:
            for name, kind in _geometry_fields(type(self)):
                problem = geometry_problem(getattr(self, name), kind.accepts)
                if problem is not None:
                    raise RuleError(name, problem)
        for rule in (*RECORD_RULES, *KIND_RULES.get(getattr(self, "kind", ""), ())):
            if stored and rule.geometric:
                continue
            derived = rule.check(*(getattr(self, name) for name in rule.reads))
            if rule.sets is not None:
                setattr(self, rule.sets, derived)
        return self

    @classmethod
    def personal_fields(cls) -> set[str]:
        return {
            name
            for name, info in cls.model_fields.items()
            if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("personal")
        }


# Set while the store turns its own rows back into records: their geometries were checked
# when written, and re-checking validity and re-computing areas on every read would cost
# more than the rest of a query (about 20 us a record).
STORED_ROWS: ContextVar[bool] = ContextVar("stored_rows", default=False)


@cache
def _geometry_fields(model: type[BaseModel]) -> tuple[tuple[str, GeometryKind], ...]:
    return tuple((name, kind) for name, info in model.model_fields.items()
                 for kind in info.metadata if isinstance(kind, GeometryKind))


class AdminArea(Record):
    kind: ClassVar[str] = "admin_area"
    table: ClassVar[str] = "admin_areas"

    pcode: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    level: int = Field(ge=0, le=4)
    parent_pcode: str | None = None
    geometry: AreaGeometry = None


class Place(Record):
    kind: ClassVar[str] = "place"
    table: ClassVar[str] = "places"

    name: str = Field(min_length=1)
    alternative_names: list[str] = Field(default_factory=list)
    admin_area_pcode: str | None = None
    geometry: PointGeometry = None


class Organisation(Record):
    kind: ClassVar[str] = "organisation"
    table: ClassVar[str] = "organisations"

    name: str = Field(min_length=1)
    acronym: str | None = None
    organisation_kind: OrganisationKind | None = None


class Source(Record):
    """Where a fact comes from, with the admiralty code IMSMA uses for its reliability."""

    kind: ClassVar[str] = "source"
    table: ClassVar[str] = "sources"

    source_kind: SourceKind
    title: str = Field(min_length=1)
    reference: str | None = None
    url: str | None = None
    source_date: date | None = None
    reliability: Reliability | None = None
    credibility: int | None = Field(default=None, ge=1, le=6)


class Hazard(Record):
    """A suspected (SHA) or confirmed (CHA) hazardous area, IMAS 04.10."""

    kind: ClassVar[str] = "hazard"
    table: ClassVar[str] = "hazards"

    name: str | None = None
    hazard_kind: HazardKind
    hazard_status: HazardStatus = HazardStatus.open
    geometry: PointOrAreaGeometry = None
    area_m2: float | None = Field(default=None, ge=0)
    original_coordinates: str | None = None
    # How far the true position may lie from the point, in metres (a GPS fix's accuracy,
    # issue 21): kept with the point so a later reader knows how much to trust it.
    location_accuracy_m: float | None = Field(default=None, ge=0)
    admin_area_pcode: str | None = None
    organisation_id: uuid.UUID | None = None
    contamination: set[DeviceCategory] = Field(default_factory=set)
    evidence_kind: EvidenceKind | None = None
    evidence_description: str | None = None
    blockages: set[Blockage] = Field(default_factory=set)
    beneficiaries: NonNegative | None = None
    priority: int | None = Field(default=None, ge=1, le=5)
    date_reported: date | None = None
    date_confirmed: date | None = None
    date_closed: date | None = None


class Activity(Record):
    """A land-release activity (IMAS 07.11): survey or clearance of (part of) a hazard."""

    kind: ClassVar[str] = "activity"
    table: ClassVar[str] = "activities"

    name: str | None = None
    activity_kind: ActivityKind
    activity_status: ActivityStatus = ActivityStatus.ongoing
    hazard_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    start_date: date | None = None
    end_date: date | None = None
    clearance_depth_cm: NonNegative | None = None


class ReleasedPart(Record):
    """Part of a hazard released by an activity: cancelled, reduced or cleared."""

    kind: ClassVar[str] = "released_part"
    table: ClassVar[str] = "released_parts"

    activity_id: uuid.UUID
    method: ReleaseMethod
    geometry: AreaGeometry = None
    area_m2: float | None = Field(default=None, ge=0)
    release_date: date | None = None


class Find(Record):
    """A device found: by survey, clearance, spot task or reported by the public."""

    kind: ClassVar[str] = "find"
    table: ClassVar[str] = "finds"

    device_category: DeviceCategory = DeviceCategory.unknown
    device_model: str | None = None
    quantity: int = Field(default=1, ge=1)
    condition: FindCondition = FindCondition.unknown
    depth_cm: NonNegative | None = None
    geometry: PointGeometry = None
    # How far the true position may lie from the point, in metres (a GPS fix's accuracy,
    # issue 21): kept with the point so a later reader knows how much to trust it.
    location_accuracy_m: float | None = Field(default=None, ge=0)
    find_date: date | None = None
    date_precision: DatePrecision = DatePrecision.day
    disposal: Disposal = Disposal.unknown
    activity_id: uuid.UUID | None = None
    hazard_id: uuid.UUID | None = None
    admin_area_pcode: str | None = None
    description: str | None = None


class Accident(Record):
    """An explosive-ordnance accident; its victims are Victim records pointing at it."""

    kind: ClassVar[str] = "accident"
    table: ClassVar[str] = "accidents"

    accident_date: date | None = None
    date_precision: DatePrecision = DatePrecision.day
    geometry: PointGeometry = None
    location_precision: LocationPrecision = LocationPrecision.unknown
    original_coordinates: str | None = None
    # How far the true position may lie from the point, in metres (a GPS fix's accuracy,
    # issue 21): kept with the point so a later reader knows how much to trust it.
    location_accuracy_m: float | None = Field(default=None, ge=0)
    admin_area_pcode: str | None = None
    place_name: str | None = None
    area_type: AreaType = AreaType.unknown
    accident_kind: AccidentKind = AccidentKind.other
    device_category: DeviceCategory = DeviceCategory.unknown
    device_model: str | None = None
    hazard_id: uuid.UUID | None = None
    narrative: str | None = None
    # The casualties a source gives for the accident when it lists no victims (a press
    # monitor's "2 killed, 1 injured", issue 17): kept as counts, never turned into
    # victims, so a person is not invented twice; the by-source view and the estimate of
    # the unrecorded read them (analysis/by_source_counts.py).
    reported_killed: int | None = Field(default=None, ge=0)
    reported_injured: int | None = Field(default=None, ge=0)


class Victim(Record):
    """A person killed or injured. Name, birth date, contact, address and ethnic group are
    personal data: only roles granted it receive them, exports leave them out."""

    kind: ClassVar[str] = "victim"
    table: ClassVar[str] = "victims"

    accident_id: uuid.UUID | None = None
    outcome: Outcome = Outcome.unknown
    sex: Sex = Sex.unknown
    age: int | None = Field(default=None, ge=0, le=120)
    age_band: AgeBand = AgeBand.unknown
    role: Role = Role.unknown
    activity: VictimActivity = VictimActivity.unknown
    activity_text: str | None = None
    injuries: str | None = None
    name: str | None = personal()
    date_of_birth: date | None = personal()
    contact: str | None = personal()
    address: str | None = personal()
    ethnic_group: str | None = personal()


class RiskEducationSession(Record):
    """Explosive ordnance risk education (IMAS 12.10), with its audience by sex and age."""

    kind: ClassVar[str] = "risk_education"
    table: ClassVar[str] = "risk_education_sessions"

    session_date: date | None = None
    geometry: PointGeometry = None
    admin_area_pcode: str | None = None
    place_name: str | None = None
    organisation_id: uuid.UUID | None = None
    method: str | None = None
    girls: NonNegative = 0
    boys: NonNegative = 0
    women: NonNegative = 0
    men: NonNegative = 0
    unknown_audience: NonNegative = 0

    @property
    def beneficiaries(self) -> int:
        return self.girls + self.boys + self.women + self.men + self.unknown_audience


class MinefieldRecord(Record):
    """A record of a minefield as laid (CCW Amended Protocol II, Technical Annex), linked to
    the hazard it documents: its perimeter computed from the traverse of its points, and
    how well the traverse closed. Its points and mine rows are records of their own."""

    kind: ClassVar[str] = "minefield_record"
    table: ClassVar[str] = "minefield_records"

    hazard_id: uuid.UUID | None = None
    name: str | None = None  # the record's own number or name, as on the paper form
    date_laid: date | None = None
    date_recorded: date | None = None
    laid_by: str | None = None  # unit or party that laid it (a source says how reliable)
    handed_over_by: str | None = None
    date_handed_over: date | None = None
    geometry: AreaGeometry = None  # the perimeter
    area_m2: float | None = Field(default=None, ge=0)
    closure_error_m: float | None = Field(default=None, ge=0)
    adjusted: bool = False  # the traverse's closure error distributed (compass rule)
    admin_area_pcode: str | None = None
    organisation_id: uuid.UUID | None = None
    notes: str | None = None


class MinefieldPoint(Record):
    """A point of a minefield record: as entered (bearing and distance from another point,
    or coordinates) beside where that puts it."""

    kind: ClassVar[str] = "minefield_point"
    table: ClassVar[str] = "minefield_points"

    record_id: uuid.UUID | None = None
    name: str | None = None  # as on the record: BM, TP1, IP3 ...
    role: PointRole = PointRole.turning
    sequence: int | None = Field(default=None, ge=0)
    from_point: str | None = None
    bearing: float | None = None
    bearing_reference: BearingReference | None = None
    bearing_unit: AngleUnit | None = None
    distance: float | None = Field(default=None, ge=0)
    distance_unit: DistanceUnit | None = None
    # ge, not gt: the importer's column checks know inclusive bounds (domain/columns.py).
    pace_factor: float | None = Field(default=None, ge=0.1)  # metres per pace
    original_coordinates: str | None = None
    description: str | None = None  # a landmark's description
    geometry: PointGeometry = None


class MineRow(Record):
    """A row of mines of a minefield record: from its start point to its end point, how
    many mines, how far apart, in what pattern."""

    kind: ClassVar[str] = "mine_row"
    table: ClassVar[str] = "mine_rows"

    record_id: uuid.UUID | None = None
    label: str | None = None
    start_point: str | None = None
    end_point: str | None = None
    geometry: LineGeometry = None
    mines: int | None = Field(default=None, ge=0)
    spacing_m: float | None = Field(default=None, ge=0.1)
    pattern: RowPattern = RowPattern.unknown
    row_offset_m: float | None = Field(default=None, ge=0)  # between a double row's lines
    device_category: DeviceCategory = DeviceCategory.unknown
    device_model: str | None = None
    fuze: str | None = None
    anti_handling: bool | None = None
    date_laid: date | None = None


ENTITIES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (
        AdminArea,
        Place,
        Organisation,
        Source,
        Hazard,
        Activity,
        ReleasedPart,
        Find,
        Accident,
        Victim,
        RiskEducationSession,
        MinefieldRecord,
        MinefieldPoint,
        MineRow,
    )
}
