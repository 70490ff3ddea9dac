"""The audit trail over HTTP (admin only): verify the chain, read recent entries."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from pydantic import BaseModel

from mineaction.access.roles import is_admin
from mineaction.audit.anchor import parse_checkpoint
from mineaction.audit.log import verify
from mineaction.audit.schema import AUDIT_LOG
from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES, FieldError, Forbidden, Invalid

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERROR_RESPONSES)


class VerifyOut(BaseModel):
    ok: bool
    entries: int
    records_checked: int
    head: str
    checkpoint: str  # SEQ:HASH of the newest entry: keep it elsewhere, pass it as `against`
    problems: list[str]
    notes: list[str]


@router.get("/verify", response_model=VerifyOut, summary="Check the hash chain, what it "
            "covers (records, history, reviews, users) and that the log still reaches its "
            "anchor and the checkpoints given")
def verify_chain(svc: ServicesDep, who: SignedInDep,
                 against: Annotated[list[str] | None, Query(
                     description="Checkpoints SEQ:HASH kept from earlier verifies")] = None,
                 ) -> Any:
    if not is_admin(who):
        raise Forbidden("only admins read the audit trail")
    try:
        kept = [parse_checkpoint(c) for c in against or []]
    except ValueError as exc:
        raise Invalid(str(exc), field_errors=[FieldError(field="against",
                                                         message="not SEQ:HASH")]) from None
    r = verify(svc.store, against=kept)
    return VerifyOut(ok=r.ok, entries=r.entries, records_checked=r.records_checked,
                     head=r.head, checkpoint=r.checkpoint, problems=r.problems,
                     notes=r.notes)


@router.get("/entries", summary="Audit entries, newest first")
def entries(svc: ServicesDep, who: SignedInDep,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100,
            before: Annotated[int | None, Query(ge=1, lt=2**63)] = None
            ) -> list[dict[str, Any]]:
    if not is_admin(who):
        raise Forbidden("only admins read the audit trail")
    stmt = sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.fid.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AUDIT_LOG.c.fid < before)
    with svc.store.engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [{"seq": r["fid"], **{k: r[k] for k in r.keys() if k != "fid"}} for r in rows]
