"""Entities of the data model (docs/design.md), after IMAS 05.10 and IMSMA item types.

These pydantic models are the single definition of every entity: the stores derive their
tables from them (store/schema.py) and the bulk importer derives its column checks from them
(domain/columns.py), so a field added here appears everywhere.

`domain` imports only `geo` of ours, and only for pure geodesic arithmetic (area on the
ellipsoid), which docs/design.md puts in geo/.
"""

from __future__ import annotations

import os
import uuid
from contextvars import ContextVar
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mineaction.domain.enums import (
    AccidentKind,
    ActivityKind,
    ActivityStatus,
    AgeBand,
    AreaType,
    Blockage,
    DatePrecision,
    DeviceCategory,
    Disposal,
    EvidenceKind,
    FindCondition,
    HazardKind,
    HazardStatus,
    LocationPrecision,
    OrganisationKind,
    Outcome,
    ReleaseMethod,
    Reliability,
    Role,
    Sex,
    SourceKind,
    VictimActivity,
    WorkflowStatus,
)
from mineaction.domain.geometry import AreaGeometry, PointGeometry, PointOrAreaGeometry


def new_ids(n: int) -> list[str]:
    """n random (version 4) UUIDs as text, made in one go: an import needs a million, and
    uuid.uuid4() one at a time costs about 2 us each; this costs about 0.3 us."""
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

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

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
    # Deletion is soft: the record leaves lists and statistics but stays, with its history.
    deleted_at: datetime | None = None
    deleted_by: str | None = None
    source_ids: list[uuid.UUID] = Field(default_factory=list)

    @model_validator(mode="after")
    def _external_key_complete(self) -> Record:
        if (self.external_id is None) != (self.dataset is None):
            raise ValueError("external_id and dataset go together: give both or neither")
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


def _check_geometry(model: BaseModel, field: str) -> None:
    """Type and validity of a geometry field."""
    from mineaction.domain.geometry import GeometryKind

    geom = getattr(model, field)
    if geom is None or STORED_ROWS.get():
        return
    kind = next(m for m in type(model).model_fields[field].metadata if isinstance(m, GeometryKind))
    if geom.geom_type not in kind.accepts:
        raise ValueError(f"{field}: expected {' or '.join(kind.accepts)}, got {geom.geom_type}")
    if geom.is_empty:
        raise ValueError(f"{field}: geometry is empty")
    if not geom.is_valid:
        from shapely.validation import explain_validity

        raise ValueError(f"{field}: invalid geometry ({explain_validity(geom)})")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise ValueError(f"{field}: coordinates outside longitude -180..180 / latitude -90..90")


def _area_m2(geom: Any) -> float | None:
    """Area on the ellipsoid; None for points, and for stored rows (whose area is stored)."""
    if geom is None or geom.geom_type == "Point" or STORED_ROWS.get():
        return None
    from mineaction.geo.geodesic import geodesic_area_m2

    return round(geodesic_area_m2(geom), 2)


class AdminArea(Record):
    kind: ClassVar[str] = "admin_area"
    table: ClassVar[str] = "admin_areas"

    pcode: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    level: int = Field(ge=0, le=4)
    parent_pcode: str | None = None
    geometry: AreaGeometry = None

    @model_validator(mode="after")
    def _geometry(self) -> AdminArea:
        _check_geometry(self, "geometry")
        return self


class Place(Record):
    kind: ClassVar[str] = "place"
    table: ClassVar[str] = "places"

    name: str = Field(min_length=1)
    alternative_names: list[str] = Field(default_factory=list)
    admin_area_pcode: str | None = None
    geometry: PointGeometry = None

    @model_validator(mode="after")
    def _geometry(self) -> Place:
        _check_geometry(self, "geometry")
        return self


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

    @model_validator(mode="after")
    def _geometry_and_area(self) -> Hazard:
        _check_geometry(self, "geometry")
        computed = _area_m2(self.geometry)
        if computed is not None:
            self.area_m2 = computed
        return self


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

    @model_validator(mode="after")
    def _dates(self) -> Activity:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class ReleasedPart(Record):
    """Part of a hazard released by an activity: cancelled, reduced or cleared."""

    kind: ClassVar[str] = "released_part"
    table: ClassVar[str] = "released_parts"

    activity_id: uuid.UUID
    method: ReleaseMethod
    geometry: AreaGeometry = None
    area_m2: float | None = Field(default=None, ge=0)
    release_date: date | None = None

    @model_validator(mode="after")
    def _geometry_and_area(self) -> ReleasedPart:
        _check_geometry(self, "geometry")
        computed = _area_m2(self.geometry)
        if computed is not None:
            self.area_m2 = computed
        return self


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
    find_date: date | None = None
    date_precision: DatePrecision = DatePrecision.day
    disposal: Disposal = Disposal.unknown
    activity_id: uuid.UUID | None = None
    hazard_id: uuid.UUID | None = None
    admin_area_pcode: str | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _geometry(self) -> Find:
        _check_geometry(self, "geometry")
        return self


class Accident(Record):
    """An explosive-ordnance accident; its victims are Victim records pointing at it."""

    kind: ClassVar[str] = "accident"
    table: ClassVar[str] = "accidents"

    accident_date: date | None = None
    date_precision: DatePrecision = DatePrecision.day
    geometry: PointGeometry = None
    location_precision: LocationPrecision = LocationPrecision.unknown
    original_coordinates: str | None = None
    admin_area_pcode: str | None = None
    place_name: str | None = None
    area_type: AreaType = AreaType.unknown
    accident_kind: AccidentKind = AccidentKind.other
    device_category: DeviceCategory = DeviceCategory.unknown
    device_model: str | None = None
    hazard_id: uuid.UUID | None = None
    narrative: str | None = None

    @model_validator(mode="after")
    def _geometry(self) -> Accident:
        _check_geometry(self, "geometry")
        return self


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

    @model_validator(mode="after")
    def _age_band_from_age(self) -> Victim:
        # The Monitor's child/adult split is at 18; a known age decides the band.
        if self.age is not None:
            band = AgeBand.child if self.age < 18 else AgeBand.adult
            if self.age_band not in (AgeBand.unknown, band):
                raise ValueError(f"age {self.age} contradicts age_band {self.age_band.value}")
            self.age_band = band
        return self


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

    @model_validator(mode="after")
    def _geometry(self) -> RiskEducationSession:
        _check_geometry(self, "geometry")
        return self

    @property
    def beneficiaries(self) -> int:
        return self.girls + self.boys + self.women + self.men + self.unknown_audience


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
    )
}
