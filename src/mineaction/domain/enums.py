"""Enumerations of the data model, after IMAS 05.10, the GICHD minimum data requirements,
IMSMA item types and the Landmine and Cluster Munition Monitor's casualty categories.

Values are short snake_case codes: they are what the stores hold, what exports carry and what
mapping files map source values onto. Labels for people live in reports, not here.
"""

from enum import StrEnum


class WorkflowStatus(StrEnum):
    """IMSMA-style approval: only approved records count in statistics and public outputs."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class OrganisationKind(StrEnum):
    national_authority = "national_authority"
    ngo = "ngo"
    commercial = "commercial"
    military_police = "military_police"
    un = "un"
    civil_society = "civil_society"


class HazardKind(StrEnum):
    """IMAS 04.10: suspected (SHA) versus confirmed (CHA) hazardous area."""

    sha = "SHA"
    cha = "CHA"


class HazardStatus(StrEnum):
    open = "open"
    worked_on = "worked_on"
    closed = "closed"
    handed_over = "handed_over"


class DeviceCategory(StrEnum):
    """Contamination types; also the device category of finds and accidents."""

    ap_mine = "ap_mine"
    at_mine = "at_mine"
    improvised_mine = "improvised_mine"
    ied = "ied"
    cluster_munition = "cluster_munition"
    uxo = "uxo"
    axo = "axo"
    booby_trap = "booby_trap"
    other = "other"
    unknown = "unknown"


class EvidenceKind(StrEnum):
    direct = "direct"
    indirect = "indirect"


class Blockage(StrEnum):
    housing = "housing"
    agriculture = "agriculture"
    grazing = "grazing"
    water = "water"
    roads = "roads"
    infrastructure = "infrastructure"
    services = "services"


class ActivityKind(StrEnum):
    non_technical_survey = "non_technical_survey"
    technical_survey = "technical_survey"
    clearance = "clearance"
    battle_area_clearance = "battle_area_clearance"
    eod_spot_task = "eod_spot_task"


class ActivityStatus(StrEnum):
    planned = "planned"
    ongoing = "ongoing"
    suspended = "suspended"
    completed = "completed"


class ReleaseMethod(StrEnum):
    """IMAS 07.11 land release: cancelled by non-technical survey, reduced by technical
    survey, cleared by clearance."""

    cancelled = "cancelled"
    reduced = "reduced"
    cleared = "cleared"


class FindCondition(StrEnum):
    intact = "intact"
    damaged = "damaged"
    functioning = "functioning"
    unknown = "unknown"


class Disposal(StrEnum):
    destroyed_in_situ = "destroyed_in_situ"
    removed_and_destroyed = "removed_and_destroyed"
    rendered_safe = "rendered_safe"
    stored = "stored"
    not_disposed = "not_disposed"
    unknown = "unknown"


class DatePrecision(StrEnum):
    day = "day"
    month = "month"
    year = "year"


class LocationPrecision(StrEnum):
    exact = "exact"
    site = "site"
    settlement = "settlement"
    admin_area = "admin_area"
    unknown = "unknown"


class AccidentKind(StrEnum):
    mine = "mine"
    erw = "erw"
    ied = "ied"
    demining = "demining"
    other = "other"
    unknown = "unknown"


class Outcome(StrEnum):
    killed = "killed"
    injured = "injured"
    unknown = "unknown"


class Sex(StrEnum):
    female = "female"
    male = "male"
    unknown = "unknown"


class AgeBand(StrEnum):
    """The Monitor counts children (< 18) and adults; anything else is unknown."""

    child = "child"
    adult = "adult"
    unknown = "unknown"


class Role(StrEnum):
    civilian = "civilian"
    security_forces = "security_forces"
    deminer = "deminer"
    unknown = "unknown"


class VictimActivity(StrEnum):
    agriculture = "agriculture"
    herding = "herding"
    collecting_food_water_wood = "collecting_food_water_wood"
    travelling = "travelling"
    construction_reconstruction = "construction_reconstruction"
    returning_home = "returning_home"
    playing = "playing"
    tampering = "tampering"
    demining = "demining"
    military_duty = "military_duty"
    other = "other"
    unknown = "unknown"


class SourceKind(StrEnum):
    official = "official"
    ngo = "ngo"
    media = "media"
    hospital = "hospital"
    community = "community"
    field_report = "field_report"


class Reliability(StrEnum):
    """Admiralty code, source reliability: A completely reliable ... F cannot be judged."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class AreaType(StrEnum):
    rural = "rural"
    urban = "urban"
    unknown = "unknown"


# -- minefield records (issue 18; CCW Amended Protocol II, Technical Annex) ------------------
class PointRole(StrEnum):
    """What a point of a minefield record is, after IMSMA's point roles."""

    reference = "reference"  # a reference point tied to a landmark, from which to measure
    landmark = "landmark"  # a lasting feature (a building corner, a bridge, a well)
    benchmark = "benchmark"  # the point the traverse starts from
    start = "start"
    turning = "turning"
    intermediate = "intermediate"
    end = "end"
    row_start = "row_start"
    row_end = "row_end"


class BearingReference(StrEnum):
    """North the bearing is measured from."""

    true = "true"
    magnetic = "magnetic"
    grid = "grid"


class AngleUnit(StrEnum):
    degrees = "degrees"
    mils = "mils"  # 6400 to the circle (NATO)
    gradians = "gradians"  # 400 to the circle


class DistanceUnit(StrEnum):
    metres = "metres"
    paces = "paces"


class RowPattern(StrEnum):
    single = "single"
    double = "double"
    staggered = "staggered"
    cluster = "cluster"
    scattered = "scattered"
    unknown = "unknown"
