"""Who sees which records and which of their fields: the one definition (issue 14).

From a principal (role, organisation, user name) and the settings that change the rules
(`Policy`), `Access` gives:

- `rows(kind)`: the records the principal may see, as store conditions (`Query.visible`).
  The store runs them as SQL for lists, maps, tiles, pick lists and statistics, and in
  Python (`may_read`) for one record; it is one rule read two ways, not two rules.
- `hidden(kind)`: the fields never shown (personal data; for the public also who did what
  and what locates an event exactly), and `present`/`present_rows` which drop them and
  generalise the public's points.
- `cache_key(kind)`: what decides the two above, so caches of maps and summaries are
  shared exactly by principals who see the same thing.

The rules:
- the public sees approved records only, never personal data, never victims record by
  record (only as statistics), accident locations generalised, and none of the fields
  the entity registry lists as `public_hidden`;
- field users see approved records and their own;
- everyone else signed in sees every record;
- with `cross_organisation_visibility` off, roles other than admin and approver see only
  records of their own organisation or of none, in kinds that have an organisation;
- personal data only for the roles in `PERSONAL_DATA_ROLES`;
- the contamination-risk layer (`may_see_risk`) for every signed-in role, and for the
  public only with `public_risk_layer` on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from mineaction.access.roles import PERSONAL_DATA_ROLES, REVIEWER_ROLES, Policy, Principal, Role
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.store.query import AnyOf, Bbox, Match, Visible, matches, snap_box
from mineaction.store.reading import visible_sql

# Who did what: the public never learns who worked on a record.
BOOKKEEPING_HIDDEN = frozenset({"created_by", "updated_by"})
# What the one-record check reads even when the principal will not be shown it.
RULE_FIELDS = frozenset({"status", "created_by", "organisation_id"})
APPROVED = ("approved",)


@cache
def personal_fields(kind: str) -> frozenset[str]:
    return frozenset(ENTITIES[kind].personal_fields())


@dataclass(frozen=True)
class Access:
    principal: Principal
    policy: Policy = Policy()
    public_decimals: int = 1

    # -- which records --------------------------------------------------------------------
    def may_list(self, kind: str) -> bool:
        """Whether the principal sees `kind` record by record at all."""
        return not (self.principal.is_public and REGISTRY[kind].public_aggregate_only)

    def rows(self, kind: str) -> Visible:
        """The records of `kind` the principal may see, as store conditions."""
        return _rows(self.principal, self.policy, kind)

    def sql(self, table: Any, kind: str, status: Iterable[str] | None = None) -> list[Any]:
        """SQL conditions (SQLAlchemy) on `kind`'s table for its records the
        principal may see, of the asked workflow statuses: for code that reads the
        tables itself (maps, pick lists, counts) rather than through `Query`."""
        cond: list[Any] = [*visible_sql(table, self.rows(kind))]
        if status:
            cond.append(table.c.status.in_(list(status)))
        return cond

    def may_read(self, kind: str, record: Any) -> bool:
        """Whether the principal may see this one record (a record, a row dict or any
        object with status, created_by and organisation_id)."""
        return self.may_list(kind) and matches(self.rows(kind), record)

    def counts_unapproved(self) -> bool:
        """Whether statistics may count records not yet approved: not for those who do
        not read every record (the public; field users, whose counts over everyone's
        drafts would tell them of records they cannot open)."""
        return self.principal.role not in (Role.public, Role.field)

    def statistics_statuses(self, asked: Iterable[str] | None) -> tuple[str, ...]:
        """The workflow statuses the principal's statistics count: those asked for when
        it may count unapproved records, else approved only."""
        wanted = tuple(asked) if asked else APPROVED
        return wanted if self.counts_unapproved() else APPROVED

    def may_see_risk(self) -> bool:
        """Whether the principal sees the contamination-risk layer (issue 19). A fine risk
        grid is computed from exact accident locations, which the public only sees
        generalised (`generalised`): a hot cell would point at where an accident happened.
        So the public sees it only when the policy's `public_risk_layer` says the grid is
        coarse enough to publish; every signed-in role sees it."""
        return not self.principal.is_public or self.policy.public_risk_layer

    # -- which fields ---------------------------------------------------------------------
    def hidden(self, kind: str) -> frozenset[str]:
        """The fields of a `kind` record the principal never sees."""
        return _hidden(self.principal.role, kind)

    def readable(self, kind: str, name: str) -> bool:
        """Whether the principal may see (so search and sort on) field `name`."""
        return name in ENTITIES[kind].model_fields and name not in self.hidden(kind)

    def filterable(self, kind: str, name: str) -> bool:
        """Whether the principal may filter on field `name` (the OGC API's queryables,
        issue 23): a field it reads, and reads as stored. A filter on a field it sees
        altered (a generalised point, and its precision, which `generalise` overwrites)
        would answer from the exact value it is never shown; so would one on a date it
        sees as its year only (filter by `datetime`, which selects whole years then)."""
        return self.readable(kind, name) and not (
            self.generalised(kind) and name in GENERALISED_FIELDS) and not (
            self.dates_to_year(kind) and name == REGISTRY[kind].primary_date)

    def generalised(self, kind: str) -> bool:
        """Whether the principal sees `kind` points rounded to `public_decimals`."""
        return self.principal.is_public and REGISTRY[kind].public_generalised

    def dates_to_year(self, kind: str) -> bool:
        """Whether the principal sees `kind`'s dates as their year only: with a
        generalised place, an exact date would still single an event out."""
        return self.generalised(kind)

    def place_decimals(self, kind: str) -> int | None:
        """The decimals `kind`'s points are rounded to for the principal, for a query's
        `place_decimals`: a box or a distance then selects by the place the principal
        sees. Selecting by the exact place gave it away to anyone narrowing a box."""
        return self.public_decimals if self.generalised(kind) else None

    def select_box(self, kind: str, bbox: Bbox | None) -> Bbox | None:
        """A query's box as the principal may select: by the rounded place, for a kind
        it sees rounded (store/query.py `snap_box`), else as given."""
        decimals = self.place_decimals(kind)
        return bbox if bbox is None or decimals is None else snap_box(bbox, decimals)

    def date_bounds(self, kind: str, date_from: date | None, date_to: date | None
                    ) -> tuple[date | None, date | None]:
        """A query's date range as the principal may select: whole years when it sees
        `kind`'s dates as years (narrowing a range day by day would find the exact date
        it is never shown)."""
        if not self.dates_to_year(kind):
            return date_from, date_to
        return (None if date_from is None else date(date_from.year, 1, 1),
                None if date_to is None else date(date_to.year, 12, 31))

    def sees_personal(self, kind: str) -> frozenset[str]:
        """The personal fields of `kind` the principal does see: reads of them are
        logged (audit trail)."""
        return personal_fields(kind) - self.hidden(kind)

    def present(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """`data` (a JSON-ready record) as the principal may see it, in place."""
        for name in self.hidden(kind):
            data.pop(name, None)
        if self.generalised(kind):
            generalise([data], self.public_decimals)
        return data

    def present_rows(self, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`present` for a page of rows read without the hidden fields (in place): what
        applies is decided once for the page, not per row (a page of 100 is the API's
        hot path, issue 3)."""
        if self.generalised(kind):
            generalise(rows, self.public_decimals)
        return rows

    # -- caches ---------------------------------------------------------------------------
    def cache_key(self, kind: str) -> tuple[Any, ...]:
        """Everything that decides what the principal sees of `kind`: two principals
        with equal keys see the same records and fields (a map's tiles and summaries
        are cached by it)."""
        return (kind, self.may_list(kind), self.rows(kind), self.hidden(kind),
                self.public_decimals if self.generalised(kind) else None)


@cache
def _rows(p: Principal, policy: Policy, kind: str) -> Visible:
    fields = ENTITIES[kind].model_fields
    out: list[AnyOf] = []
    if p.role == Role.public:
        out.append(AnyOf((Match("status", APPROVED),)))
    elif p.role == Role.field:
        out.append(AnyOf((Match("status", APPROVED), Match("created_by", (p.username,)))))
    if (not policy.cross_organisation_visibility and p.role not in REVIEWER_ROLES
            and p.organisation_id is not None and "organisation_id" in fields):
        # Records of no organisation are everyone's (a register imported centrally).
        out.append(AnyOf((Match("organisation_id", (None, p.organisation_id)),)))
    return tuple(out)


@cache
def _hidden(role: Role, kind: str) -> frozenset[str]:
    hidden: set[str] = set()
    if role not in PERSONAL_DATA_ROLES:
        hidden |= personal_fields(kind)
    if role == Role.public:
        hidden |= BOOKKEEPING_HIDDEN | REGISTRY[kind].public_hidden
    return frozenset(hidden)


# The fields `generalise` changes.
GENERALISED_FIELDS = frozenset({"geometry", "location_precision"})


def generalise(rows: list[dict[str, Any]], decimals: int) -> None:
    """Points rounded to `decimals` places, for the public (in place). One loop for a
    page, not a call a row: a list page is the API's hot path (issue 3)."""
    for data in rows:
        geometry = data.get("geometry")
        if geometry:
            lon, lat = geometry["coordinates"][:2]
            data["geometry"] = {"type": "Point", "coordinates": [round(lon, decimals),
                                                                 round(lat, decimals)]}
            data["location_precision"] = "generalised"
