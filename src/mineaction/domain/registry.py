"""One declaration per entity of the facts other layers need about it: its collection name
(URLs, command line, file names), the field ``?kind=`` filters on, the date that date
ranges filter on, its links to other records, and what the public may never see of it.

Everything that used to re-list these (io/mapping.py's plural names, the API's kind
fields, the store's primary dates, the web's parent/child links) reads them from here, so
a new entity or a new link is declared once (issue 14).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mineaction.domain.models import ENTITIES, Record


@dataclass(frozen=True)
class Link:
    """A field of this entity holding the id of a `target` record (its parent)."""

    field: str
    target: str


@dataclass(frozen=True)
class EntityInfo:
    kind: str
    collection: str  # plural, as in /api/v1/<collection> and `mineaction list <collection>`
    kind_field: str | None = None  # the entity's own "kind", filtered by ?kind=
    primary_date: str | None = None  # what date ranges filter on
    links: tuple[Link, ...] = ()
    # Fields the public never receives, beyond bookkeeping and personal data: what can
    # locate a person or an event exactly (a narrative, a place name, the coordinates as
    # entered, an external id built from a register's raw columns).
    public_hidden: frozenset[str] = field(default_factory=frozenset)
    # The public sees this entity only as aggregates (statistics), never record by record.
    public_aggregate_only: bool = False
    # The public sees this entity's points rounded (api settings `public_decimals`).
    public_generalised: bool = False

    @property
    def model(self) -> type[Record]:
        return ENTITIES[self.kind]


_ORG = Link("organisation_id", "organisation")
# Events are located and dated: their external ids are often made of a register's raw
# columns, coordinates included (issue 15, 5), so the public never sees them.
_EVENT_HIDDEN = frozenset({"external_id", "original_coordinates", "narrative", "place_name"})
# The public sees casualties only as suppressed aggregates, never an accident's own count.
_ACCIDENT_HIDDEN = _EVENT_HIDDEN | {"reported_killed", "reported_injured"}

REGISTRY: dict[str, EntityInfo] = {e.kind: e for e in (
    EntityInfo("victim", "victims", kind_field="outcome",
               links=(Link("accident_id", "accident"),),
               public_hidden=frozenset({"external_id"}), public_aggregate_only=True),
    EntityInfo("accident", "accidents", kind_field="accident_kind",
               primary_date="accident_date", links=(Link("hazard_id", "hazard"),),
               public_hidden=_ACCIDENT_HIDDEN, public_generalised=True),
    EntityInfo("hazard", "hazards", kind_field="hazard_kind", primary_date="date_reported",
               links=(_ORG,)),
    EntityInfo("activity", "activities", kind_field="activity_kind", primary_date="start_date",
               links=(Link("hazard_id", "hazard"), _ORG)),
    EntityInfo("released_part", "released-parts", kind_field="method",
               primary_date="release_date", links=(Link("activity_id", "activity"),)),
    EntityInfo("find", "finds", kind_field="device_category", primary_date="find_date",
               links=(Link("hazard_id", "hazard"), Link("activity_id", "activity"))),
    EntityInfo("risk_education", "risk-education", primary_date="session_date",
               links=(_ORG,)),
    EntityInfo("admin_area", "admin-areas"),
    EntityInfo("place", "places"),
    EntityInfo("organisation", "organisations", kind_field="organisation_kind"),
    EntityInfo("source", "sources", kind_field="source_kind", primary_date="source_date"),
    # Minefield records say where each mine was laid: for those who clear and survey, not
    # for the public, which sees the hazard (its polygon) they document (issue 18).
    EntityInfo("minefield_record", "minefield-records", primary_date="date_laid",
               links=(Link("hazard_id", "hazard"), _ORG), public_aggregate_only=True),
    EntityInfo("minefield_point", "minefield-points", kind_field="role",
               links=(Link("record_id", "minefield_record"),), public_aggregate_only=True),
    EntityInfo("mine_row", "mine-rows", kind_field="pattern", primary_date="date_laid",
               links=(Link("record_id", "minefield_record"),), public_aggregate_only=True),
)}

# Plural collection names -> entity kinds (what users type on the command line).
BY_COLLECTION: dict[str, str] = {e.collection: e.kind for e in REGISTRY.values()}


def info(kind: str) -> EntityInfo:
    return REGISTRY[kind]


def children_of(kind: str) -> tuple[tuple[str, str], ...]:
    """(child kind, its field pointing at `kind`) for every entity linking to `kind`,
    organisations aside (an organisation's records are found by filtering, not listed)."""
    return tuple((e.kind, link.field) for e in REGISTRY.values() for link in e.links
                 if link.target == kind and link.target != "organisation")


def parent_fields() -> dict[str, str]:
    """Every link field -> the kind it points at."""
    return {link.field: link.target for e in REGISTRY.values() for link in e.links}
