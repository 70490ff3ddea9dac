# SPDX-License-Identifier: GPL-3.0-or-later
"""An accident and its victims entered together (issue 21, 3: victims added within the
accident form), saved in one transaction: all of them or none.

A field team records an accident and the people it hurt on one visit, on one form. Saved
one by one, a refused third victim would leave an accident with two of its three victims
and the user unsure what was kept; here every record is validated and checked against the
access rules (access/roles, through Records' policy) before anything is written, a bad
victim refuses the whole save with its number and field named, and the writes share one
transaction. Each write is announced to the store's listeners as Store.add would, so the
audit trail records every created record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from mineaction.access.roles import Principal, may_create, may_edit
from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.models import Accident, Record, Victim
from mineaction.domain.rules import RuleError
from mineaction.services.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Invalid,
    Unauthorized,
)
from mineaction.services.records import Records
from mineaction.store import codec
from mineaction.store.base import Store, WriteEvent
from mineaction.store.schema import entity_table

# More victims than this in one accident is a typing slip, not a form.
MAX_VICTIMS = 100
# Fields of a victim the accident form does not take: the link is the accident saved with it.
NOT_TYPED = frozenset({"accident_id", "id", "status", "version", "created_at", "updated_at",
                       "created_by", "updated_by"})


@dataclass(frozen=True)
class Saved:
    accident: dict[str, Any]  # as the person may see it (Records.present)
    version: int
    victim_ids: list[str]


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) of each pydantic error; a cross-field rule names its own field."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        message = str(err.get("msg"))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, RuleError):
            loc, message = [cause.field], cause.message
        out.append((".".join(loc) or "record", message))
    return out


def _new(model: type[Record], body: Mapping[str, Any]) -> Record:
    return model.model_validate({**body, "status": WorkflowStatus.draft, "version": 1})


def create_accident_with_victims(records: Records, p: Principal, accident: Mapping[str, Any],
                                 victims: Sequence[Mapping[str, Any]]) -> Saved:
    """Create `accident` and `victims` (each linked to it) as drafts of `p`, or nothing.

    Raises Invalid naming the accident's fields (as the API does) or each bad victim as
    `victims.<n>.<field>` (n from 1, as the form numbers them); Forbidden when `p` may not
    create them."""
    if p.is_public:
        raise Unauthorized("sign in to change records", headers={"WWW-Authenticate": "Bearer"})
    if not may_create(p):
        raise Forbidden(f"role {p.role.value} cannot create records")
    if len(victims) > MAX_VICTIMS:
        raise Invalid(f"at most {MAX_VICTIMS} victims with one accident, {len(victims)} given",
                      field_errors=[FieldError(field="victims", message="too many")])
    try:
        saved_accident = _new(Accident, accident)
    except ValidationError as exc:
        raise Invalid("the accident is not valid: nothing was saved", field_errors=[
            FieldError(field=f, message=m) for f, m in _problems(exc)]) from None
    errors: list[FieldError] = []
    people: list[Record] = []
    for n, body in enumerate(victims, start=1):
        typed = {k: v for k, v in body.items() if k not in NOT_TYPED}
        try:
            people.append(_new(Victim, {**typed, "accident_id": saved_accident.id}))
        except ValidationError as exc:
            errors += [FieldError(field=f"victims.{n}.{f}", message=f"victim {n}, {f}: {m}")
                       for f, m in _problems(exc)]
    if errors:
        raise Invalid(f"{errors[0].message}: nothing was saved", field_errors=errors)
    for record in (saved_accident, *people):
        if not may_edit(p, record.model_copy(update={"created_by": p.username}), records.policy):
            raise Forbidden("you may create records only for your own organisation")
    stamp = datetime.now(UTC)
    store = records.store
    try:
        with store.transaction() as conn:
            written = [_insert(conn, store, r, p.username, stamp)
                       for r in (saved_accident, *people)]
    except sa.exc.IntegrityError:
        # An id or (dataset, external id) already taken, e.g. a draft sent twice.
        raise Conflict(f"an accident with the id {saved_accident.id} or its key already "
                       "exists: nothing was saved") from None
    return Saved(records.present(p, written[0]), 1, [str(v.id) for v in written[1:]])


def _insert(conn: sa.Connection, store: Store, record: Record, by: str, stamp: datetime
            ) -> Record:
    """Store.add's write inside the caller's transaction (Store.add opens its own): the
    row, its source links, and the write event the audit trail keeps."""
    record = record.model_copy(update={"created_at": stamp, "updated_at": stamp,
                                       "created_by": by, "updated_by": by})
    conn.execute(entity_table(type(record)).insert().values(**codec.record_to_row(record)))
    store._link_sources(conn, record)
    store.notify(conn, WriteEvent("create", record.kind, str(record.id), 1, by,
                                  after=record.model_dump(mode="json")))
    return record
