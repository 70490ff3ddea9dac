"""Roles and the rules of who may do what. Plain functions over a Principal and a record, so
the API, the web, the CLI and the tests ask the same questions. Who may *see* which
records and fields is access/visibility.py.

- admin: everything, including users and the audit trail.
- approver (information management): reads everything, edits any record, approves or
  rejects submissions.
- editor: reads everything; creates, edits, deletes and submits records (of its own
  organisation when organisation scoping is on).
- field: creates drafts; edits, deletes and submits only its own drafts (and its own
  rejected records, to fix and resubmit); reads approved records and its own.
- viewer: reads every record, never personal data.
- public (anonymous): reads approved records only, no personal data, victims only as
  aggregates, accident locations generalised.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    admin = "admin"
    approver = "approver"
    editor = "editor"
    field = "field"
    viewer = "viewer"
    public = "public"


ROLES = tuple(r.value for r in Role)
PERSONAL_DATA_ROLES = frozenset({Role.admin, Role.approver, Role.editor})
WRITER_ROLES = frozenset({Role.admin, Role.approver, Role.editor, Role.field})
REVIEWER_ROLES = frozenset({Role.admin, Role.approver})
IMPORTER_ROLES = frozenset({Role.admin, Role.approver, Role.editor})


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user, or the anonymous public."""

    username: str
    role: Role
    user_id: str | None = None
    organisation_id: str | None = None

    @property
    def is_public(self) -> bool:
        return self.role == Role.public


PUBLIC = Principal(username="anonymous", role=Role.public)


@dataclass(frozen=True)
class Policy:
    """The settings that change the rules (api/settings.py)."""

    organisation_scoping: bool = True
    cross_organisation_visibility: bool = True
    # The contamination-risk layer for the public too (issue 19): off by default, see
    # Access.may_see_risk.
    public_risk_layer: bool = False


def may_create(p: Principal) -> bool:
    return p.role in WRITER_ROLES


def writable_organisation(p: Principal, policy: Policy) -> str | None:
    """The organisation `p`'s writes are held to (its records, or records of none), or
    None when it may write for any: reviewers, users of no organisation, or scoping off."""
    if not policy.organisation_scoping or p.organisation_id is None or p.role in REVIEWER_ROLES:
        return None
    return p.organisation_id


def _in_scope(p: Principal, record: Any, policy: Policy) -> bool:
    scope = writable_organisation(p, policy)
    org = getattr(record, "organisation_id", None)
    return scope is None or org is None or str(org) == scope


def may_edit(p: Principal, record: Any, policy: Policy) -> bool:
    """Edit or delete."""
    if p.role in REVIEWER_ROLES:
        return True
    if p.role == Role.editor:
        return _in_scope(p, record, policy)
    if p.role == Role.field:
        return bool(record.status in ("draft", "rejected") and record.created_by == p.username
                    and _in_scope(p, record, policy))
    return False


def may_write(p: Principal, before: Any, after: Any, policy: Policy) -> bool:
    """Whether `p` may turn record `before` into `after` (an edit): both must be records
    it may edit, so nobody moves a record out of its organisation's scope (issue 15, 9)."""
    return may_edit(p, before, policy) and may_edit(p, after, policy)


def may_submit(p: Principal, record: Any, policy: Policy) -> bool:
    return record.status in ("draft", "rejected") and may_edit(p, record, policy)


def may_review(p: Principal) -> bool:
    return p.role in REVIEWER_ROLES


def may_import(p: Principal) -> bool:
    return p.role in IMPORTER_ROLES


def may_see_history(p: Principal) -> bool:
    return p.role != Role.public


def is_admin(p: Principal) -> bool:
    return p.role == Role.admin
