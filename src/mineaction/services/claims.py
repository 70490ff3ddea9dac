# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures (claims, issue 22) as the command line and the API use them: import
an HXL-tagged CSV file (all or nothing; a re-import adds nothing), list with filters, and
check them against each other and against the store's own victim counts.

Claims are published figures: anyone may read them and their check. Importing them is an
import (access/roles.py `may_import`). The store's counts in the records check are the
statistics the asker may see: the statuses Access lets it count, each victim once, and for
the public small counts suppressed as every public statistic is (services/statistics.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mineaction.access.roles import Policy, Principal, may_import
from mineaction.access.visibility import Access
from mineaction.analysis import claims_check
from mineaction.domain.claims import Claim, normal_metric
from mineaction.io.claims import ClaimFileError, parse_claims, read_claims
from mineaction.io.errors import ReadError
from mineaction.services import statistics
from mineaction.services.errors import FieldError, Forbidden, Invalid
from mineaction.store import claims as stored
from mineaction.store.base import Store

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # a claims file is a few hundred rows of text
DEFAULT_POLICY = Policy()
EVERY_CLAIM = stored.ClaimFilter()


@dataclass(frozen=True)
class ImportResult:
    file_name: str
    rows: int
    added: int
    unchanged: int

    def as_dict(self) -> dict[str, object]:
        return {"file_name": self.file_name, "rows": self.rows, "added": self.added,
                "unchanged": self.unchanged}


def _refused(exc: ReadError) -> Invalid:
    problems = getattr(exc, "problems", [])
    message = f"{os.path.basename(exc.path)}: {len(problems)} problem(s), nothing " \
        "imported" if problems else f"{os.path.basename(exc.path)}: {exc.message}"
    return Invalid(message, field_errors=[
        FieldError(field=f"row {p.row}: {p.field}", message=p.message) for p in problems])


def _keep(store: Store, who: Principal, name: str, claims: Sequence[Claim]) -> ImportResult:
    if not may_import(who):
        raise Forbidden("only editors, approvers and administrators import claims")
    with store.transaction() as conn:
        added = stored.add_claims(conn, claims, by=who.username)
    return ImportResult(file_name=name, rows=len(claims), added=added.added,
                        unchanged=added.unchanged)


def import_file(store: Store, who: Principal, path: str | os.PathLike[str]) -> ImportResult:
    """Import a claims file; Invalid (naming row, field and problem) keeps nothing."""
    if not may_import(who):
        raise Forbidden("only editors, approvers and administrators import claims")
    try:
        claims = read_claims(path)
    except ReadError as exc:
        raise _refused(exc) from exc
    return _keep(store, who, os.path.basename(path), claims)


def import_upload(store: Store, who: Principal, name: str, content: bytes) -> ImportResult:
    """An uploaded claims file (the API). Answers name the file, never a server path."""
    if not may_import(who):
        raise Forbidden("only editors, approvers and administrators import claims")
    name = os.path.basename(name or "claims.csv")
    if len(content) > MAX_UPLOAD_BYTES:
        raise Invalid(f"{name}: larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        claims = parse_claims(text, name)
    except ClaimFileError as exc:
        raise _refused(exc) from exc
    return _keep(store, who, name, claims)


def claim_filter(metric: str | None = None, area: str | None = None,
                 stated_by: str | None = None) -> stored.ClaimFilter:
    """The list's filters, the metric read through the vocabulary (aliases too)."""
    if metric:
        try:
            metric = normal_metric(metric)
        except ValueError as exc:
            raise Invalid(str(exc), field_errors=[
                FieldError(field="metric",
                           message="not in the vocabulary of docs/claims.md")]) from exc
    return stored.ClaimFilter(metric=metric or None, area=area or None,
                              stated_by=stated_by or None)


def list_claims(store: Store, f: stored.ClaimFilter, *, limit: int | None = None,
                offset: int = 0) -> tuple[list[Claim], int]:
    """One page of claims and how many match in all."""
    with store.engine.connect() as conn:
        return (stored.read_claims(conn, f, limit=limit, offset=offset),
                stored.count_claims(conn, f))


def store_counter(store: Store, who: Principal, policy: Policy = DEFAULT_POLICY,
                  public_min_count: int = 5) -> claims_check.Counter:
    """The store's victims for a claim's area and period, as `who` may count them: the
    statuses Access lets it count, and for the public small counts suppressed."""
    statuses = Access(who, policy).statistics_statuses(None)

    def published(stats: dict[str, Any]) -> dict[str, Any]:
        return statistics.public_casualties(stats, public_min_count)

    return claims_check.record_counter(store, statuses,
                                       published if who.is_public else None)


def check(claims: Sequence[Claim], *, tolerance: float = claims_check.DEFAULT_TOLERANCE,
          slack_days: int = claims_check.DEFAULT_SLACK_DAYS,
          counter: claims_check.Counter | None = None) -> list[claims_check.Finding]:
    if not 0 <= tolerance < 1:
        raise Invalid("tolerance is a fraction from 0 to below 1 (0.05 = 5 %)",
                      field_errors=[FieldError(field="tolerance", message="0 <= t < 1")])
    if not 0 <= slack_days <= 366:
        raise Invalid("slack_days is 0 to 366", field_errors=[
            FieldError(field="slack_days", message="0 to 366 days")])
    return claims_check.check_all(claims, tolerance=tolerance, slack_days=slack_days,
                                  count=counter)


def check_store(store: Store, who: Principal, *, policy: Policy = DEFAULT_POLICY,
                public_min_count: int = 5, f: stored.ClaimFilter = EVERY_CLAIM,
                tolerance: float = claims_check.DEFAULT_TOLERANCE,
                slack_days: int = claims_check.DEFAULT_SLACK_DAYS
                ) -> list[claims_check.Finding]:
    """The stored claims (filtered) checked, the records check included."""
    claims, _ = list_claims(store, f)
    return check(claims, tolerance=tolerance, slack_days=slack_days,
                 counter=store_counter(store, who, policy, public_min_count))


def check_file(path: str | os.PathLike[str], *,
               tolerance: float = claims_check.DEFAULT_TOLERANCE,
               slack_days: int = claims_check.DEFAULT_SLACK_DAYS
               ) -> list[claims_check.Finding]:
    """A claims file checked without a store (no records check)."""
    try:
        claims = read_claims(path)
    except ReadError as exc:
        raise _refused(exc) from exc
    return check(claims, tolerance=tolerance, slack_days=slack_days)
