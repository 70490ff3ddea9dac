# SPDX-License-Identifier: GPL-3.0-or-later
"""Geometry QA as each principal may see it (issue 18, 5): the CLI, the API and the web
pages ask here, never analysis/geometry_qa.py directly.

A fault names records (its own, and the other one of an overlap or a duplicate), and its
message may show fields: a principal gets a fault only when it may read every record the
fault names (access/: `Access.rows`, run by the store) and none of the fields it shows
is hidden from it; points of kinds the public sees generalised are generalised in the
fault too. The QA reads the whole store, so its result is kept until the store changes
(`Store.change_marker`), and at least FRESH_S seconds."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from mineaction.access.roles import Policy, Principal
from mineaction.access.visibility import Access
from mineaction.analysis.geometry_qa import (
    Fault,
    Report,
    check_geometry,
    check_record,
    spatial_kinds,
)
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.store.base import Store
from mineaction.store.query import Query

_CHUNK = 500  # ids per visibility query: well under SQLite's bound-parameter limit
_KEEP = 8  # results kept (per store and kinds asked)
# A result this young is shown even if the store changed since: any write moves the
# change marker (a sign-in, an audited read), and without this floor every anonymous
# request after one could start a read of the whole store.
FRESH_S = 10.0


@dataclass(frozen=True)
class _Entry:
    marker: Any
    made: float  # time.monotonic()
    at: datetime
    report: Report


_cache: OrderedDict[tuple[str, tuple[str, ...]], _Entry] = OrderedDict()
_lock = threading.Lock()


def by_collection() -> dict[str, str]:
    """The collections with a geometry (hazards, ...) and their entity kinds."""
    return {REGISTRY[k].collection: k for k in spatial_kinds()}


@dataclass(frozen=True)
class Seen:
    """The faults a principal may see, and how many records of each kind were checked."""

    faults: list[Fault]
    checked: dict[str, int]
    at: datetime  # when the store was checked

    def by_code(self) -> dict[str, list[Fault]]:
        return Report(self.faults, self.checked).by_code()

    def by_record(self) -> dict[tuple[str, str], list[Fault]]:
        out: dict[tuple[str, str], list[Fault]] = {}
        for f in sorted(self.faults, key=lambda f: (f.kind, f.label or "", f.record_id)):
            out.setdefault((f.kind, f.record_id), []).append(f)
        return out


class GeometryChecks:
    def __init__(self, store: Store, policy: Policy, public_decimals: int = 1) -> None:
        self.store = store
        self.policy = policy
        self.public_decimals = public_decimals

    def report(self, kinds: Sequence[str] | None = None) -> Report:
        """Every fault, seen by no one in particular: for the store's administrator (the
        command line) and for `faults`, which filters it."""
        return self._entry(kinds).report

    def _entry(self, kinds: Sequence[str] | None) -> _Entry:
        asked = tuple(sorted(kinds or spatial_kinds()))
        unknown = [k for k in asked if k not in spatial_kinds()]
        if unknown:
            raise ValueError(f"no geometry to check in {', '.join(unknown)}")
        key = (self.store.location, asked)
        with _lock:  # one check at a time: a second asker waits for the first's result
            marker = self.store.change_marker()
            found = _cache.get(key)
            if found is not None and (
                    (marker is not None and found.marker == marker)
                    or time.monotonic() - found.made < FRESH_S):
                return found
            found = _Entry(marker, time.monotonic(), datetime.now(UTC),
                           check_geometry(self.store, asked))
            _cache[key] = found
            _cache.move_to_end(key)
            while len(_cache) > _KEEP:
                _cache.popitem(last=False)
            return found

    def faults(self, p: Principal, kinds: Sequence[str] | None = None) -> Seen:
        """The faults `p` may see (see the module's docstring)."""
        access = Access(p, self.policy, self.public_decimals)
        entry = self._entry(kinds)
        report = entry.report
        kept = [k for k in report.checked if access.may_list(k)]
        return Seen(self._seen(access, report.faults), {k: report.checked[k] for k in kept},
                    entry.at)

    def for_record(self, p: Principal, kind: str, record_id: str) -> list[Fault]:
        """The faults of one record that `p` may see (its page lists them). From the
        whole store's result when it is at hand and current; else the record's own
        neighbourhood is checked (analysis.geometry_qa.check_record), so that a record's
        page never waits for a million records to be read."""
        if kind not in spatial_kinds():
            return []
        rid = str(record_id)
        report = self._cached(kind)
        found = ([f for f in report.faults if f.record_id == rid] if report is not None
                 else check_record(self.store, kind, rid))
        return self._seen(Access(p, self.policy, self.public_decimals), found)

    def _cached(self, kind: str) -> Report | None:
        """A whole-store result covering `kind` that is current (a record's page shows
        what was just saved: no staleness allowed here)."""
        marker = self.store.change_marker()
        if marker is None:
            return None
        with _lock:
            for (location, kinds), entry in _cache.items():
                if location == self.store.location and entry.marker == marker and (
                        kind in kinds):
                    return entry.report
        return None

    def _seen(self, access: Access, faults: list[Fault]) -> list[Fault]:
        """The faults the principal may see, as it may see them."""
        visible: dict[str, set[str]] = {}
        for kind in {f.kind for f in faults}:
            if access.may_list(kind):
                named = {i for f in faults if f.kind == kind
                         for i in (f.record_id, *f.related)}
                visible[kind] = self._visible(access, kind, named)
        out = []
        for f in faults:
            if f.kind not in visible or not {f.record_id, *f.related} <= visible[f.kind]:
                continue
            if set(f.reveals) & access.hidden(f.kind):
                continue
            out.append(self._shown(access, f))
        return out

    def _visible(self, access: Access, kind: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` the principal may read: asked of the store, by its rule."""
        wanted = sorted(ids)
        omit = frozenset(ENTITIES[kind].model_fields) - {"id"}
        out: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            rows, _ = self.store.query_rows(
                Query(kind=kind, ids=tuple(wanted[start:start + _CHUNK]), limit=None,
                      visible=access.rows(kind)), omit=omit)
            out.update(str(r["id"]) for r in rows)
        return out

    def _shown(self, access: Access, f: Fault) -> Fault:
        if "external_id" in access.hidden(f.kind):
            f = replace(f, label=None)
        if f.where is not None and access.generalised(f.kind):
            d = self.public_decimals
            f = replace(f, where=(round(f.where[0], d), round(f.where[1], d)))
        return f
