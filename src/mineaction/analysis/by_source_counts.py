# SPDX-License-Identifier: GPL-3.0-or-later
"""Sources that count casualties without listing them, in the by-source view (issue 17).

A press monitor often reports an accident as "2 killed, 1 injured" and names nobody. Its
accidents are stored with `reported_killed` and `reported_injured` and no victims, so no
person is invented twice. A *count source* is a dataset whose accidents carry such counts
and which lists no victims. In the by-source view it has no overlaps of its own: nobody
can say which of an accident's casualties it counted. It is shown apart (`counted`), and
the estimate of the unrecorded then comes from the accident model of
analysis/mse_counts.py, not from the log-linear models of the lists' overlaps: the count
source's accidents are linked to the accidents of the canonical victims
(linkage/accidents.py), and the model reads, per accident, how many casualties each
combination of list sources recorded and how many the count source counted.

The bench (bench/linkage_bench.py) calls `estimate_from_frames` on its generated sources,
and the application on the store's records: one definition of the estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mineaction.analysis import by_source as bs
from mineaction.analysis import mse
from mineaction.analysis.mse_counts import CountsEstimate, accident_table, estimate_with_counts
from mineaction.analysis.overlaps import Overlaps
from mineaction.linkage.accidents import ACCIDENT_KEY, accident_numbers, link_accident_counts
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, entity_table, reported_counts

METHOD = "accident_counts"
INTERVAL = "bootstrap over accidents, the model fitted again in every replicate"
ONE_COUNT_SOURCE = ("the estimate uses one count source, {used}, the one that counted the "
                    "most casualties; {others} left out")


def _accidents(statuses: Sequence[str] | None, admin_area: str | None, date_from: date | None,
               date_to: date | None) -> tuple[sa.Table, Any, list[Any]]:
    table = entity_table("accident")
    dataset = sa.func.coalesce(table.c.dataset, bs.NO_DATASET)
    conditions: list[Any] = [reported_counts(table)]  # as the partial index has it
    if statuses:
        conditions.append(table.c.status.in_(list(statuses)))
    if admin_area:
        conditions.append(table.c.admin_area_pcode.startswith(admin_area))
    if date_from:
        conditions.append(table.c.accident_date >= date_from)
    if date_to:
        conditions.append(table.c.accident_date <= date_to)
    return table, dataset, conditions


def count_datasets(store: Store, statuses: Sequence[str] | None = ("approved",), *,
                   listing: Sequence[str] | None = None) -> list[str]:
    """The datasets whose accidents carry counts of casualties and which list no victims
    (of the statuses): the count sources to choose from. A dataset that lists victims is a
    list source even if some of its accidents carry counts too: its victims are its
    casualties. `listing`: the datasets with victims (bs.datasets), when the caller has
    them."""
    table, dataset, conditions = _accidents(statuses, None, None, None)
    with store.engine.connect() as conn:
        found = {str(r[0]) for r in conn.execute(sa.select(dataset).distinct()
                                                 .where(*conditions))}
    if listing is None:
        listing = bs.datasets(store, "victim", statuses)
    return sorted(found - set(listing))


def counted_accidents(store: Store, source: str, statuses: Sequence[str] | None, *,
                      admin_area: str | None = None, date_from: date | None = None,
                      date_to: date | None = None) -> pd.DataFrame:
    """The accidents of count source `source` within the filters: id, the accident key
    (date, precision, area, kind), killed and injured (a missing count is 0)."""
    table, dataset, conditions = _accidents(statuses, admin_area, date_from, date_to)
    stmt = sa.select(table.c.id, table.c.accident_date, table.c.date_precision,
                     table.c.admin_area_pcode, table.c.accident_kind,
                     sa.func.coalesce(table.c.reported_killed, 0),
                     sa.func.coalesce(table.c.reported_injured, 0)
                     ).where(dataset == source, *conditions).order_by(table.c.id)
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[
        "id", "accident_date", "date_precision", "admin_area_pcode", "accident_kind",
        "killed", "injured"])
    frame["id"] = frame["id"].astype(str)
    frame["accident_date"] = pd.to_datetime(frame["accident_date"], errors="coerce")
    return frame.astype({"killed": "int64", "injured": "int64"})


def listed_victims(store: Store, sources: Sequence[str], statuses: Sequence[str] | None,
                   **filters: Any) -> pd.DataFrame:
    """One row per canonical victim of the list `sources`: a column per source with how
    many of its records the victim joins, and the accident key and outcome of one of its
    records (the first by source and record, so the answer does not depend on the
    database's order)."""
    joined, rid, dataset, conditions = bs._records("victim", statuses, list(sources),
                                                   **filters)
    members = METADATA.tables["canonical_members"]
    accidents = entity_table("accident")
    facts = bs.FACTS
    stmt = (sa.select(sa.func.coalesce(members.c.canonical_id, rid), dataset,
                      facts.c.victim_fid, facts.c.outcome, facts.c.accident_date,
                      accidents.c.date_precision, facts.c.admin_area_pcode,
                      facts.c.accident_kind)
            .select_from(joined.outerjoin(accidents, accidents.c.id == facts.c.accident_id))
            .where(*conditions))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[
        "canonical_id", "source", "fid", "outcome", "accident_date", "date_precision",
        "admin_area_pcode", "accident_kind"])
    frame["canonical_id"] = frame["canonical_id"].astype(str)
    per_source = pd.crosstab(frame["canonical_id"], frame["source"]).reindex(
        columns=list(sources), fill_value=0)
    first = (frame.sort_values(["canonical_id", "source", "fid"], kind="stable")
             .drop_duplicates("canonical_id").set_index("canonical_id"))
    out = per_source.join(first[["outcome", *ACCIDENT_KEY]]).reset_index()
    out["accident_date"] = pd.to_datetime(out["accident_date"], errors="coerce")
    return out


def accident_model_inputs(victims: pd.DataFrame, counts: pd.DataFrame, *,
                          list_sources: Sequence[str]
                          ) -> tuple[Any, Any, list[str], pd.DataFrame]:
    """The accident model's table (mse_counts.accident_table: m, k, labels) of canonical
    victims and a count source's accidents, and the counted accidents as linked. Each
    counted accident is linked to at most one accident of the victims; one linked to none
    is an accident the count source alone reported."""
    victims = victims.reset_index(drop=True)
    accident = accident_numbers(victims)
    linked = link_accident_counts(victims[[*ACCIDENT_KEY, "outcome"]], counts)
    per: dict[str, int] = {}
    alone: list[int] = []
    for a, k, j in zip(linked["accident"], linked["killed"], linked["injured"], strict=True):
        if a is None:
            alone.append(int(k) + int(j))
        else:
            per[str(int(a))] = per.get(str(int(a)), 0) + int(k) + int(j)
    table = victims[list(list_sources)].copy()
    table["accident"] = accident.fillna(-1).astype(int).astype(str).to_numpy()
    m, k, labels = accident_table(table, pd.Series(per, dtype=float),
                                  list_sources=list_sources, unlinked=alone)
    return m, k, list(labels), linked


def estimate_from_frames(victims: pd.DataFrame, counts: pd.DataFrame, *,
                         list_sources: Sequence[str], count_source: str,
                         confidence: float = 0.95, bootstrap: int = 1000, seed: int = 0
                         ) -> dict[str, Any]:
    """The estimate of all casualties, those no source recorded included, as JSON.
    `victims`: one row per canonical victim, a column per list source (its records in the
    victim), the accident key and outcome; `counts`: the count source's accidents (id, the
    accident key, killed, injured). Each counted accident is linked to at most one accident
    of the victims; one linked to none is an accident the count source alone reported."""
    if victims.empty or counts.empty:
        return {"available": False, "method": METHOD,
                "reason": "the estimate needs victims of the list sources and accidents "
                          "the count source counted, within the filters"}
    m, k, labels, linked = accident_model_inputs(victims, counts, list_sources=list_sources)
    r = _fitted(m.tobytes(), m.shape, k.tobytes(), tuple(labels), tuple(list_sources),
                count_source, confidence, bootstrap, seed)
    # What the sources recorded, at the least: per accident, the larger of the persons
    # the lists hold and the count source's count (its casualties may all be listed ones).
    observed = int(np.maximum(m.sum(axis=1), k).sum())
    lo, hi = r.interval
    return {"available": True, "method": METHOD, "estimate": round(r.estimate, 1),
            "interval": [round(max(lo, observed), 1), round(max(hi, observed), 1)],
            "confidence": r.confidence, "observed": observed,
            "unobserved": round(max(r.estimate - observed, 0.0), 1),
            "list_sources": list(list_sources), "count_source": count_source,
            "capture": {key: round(v, 4) for key, v in r.capture.items()},
            "accidents_seen": r.accidents_seen,
            "accidents_unseen": round(r.accidents_unseen, 1), "iterations": r.iterations,
            "counted_accidents": len(linked),
            "counted_accidents_linked": int(linked["accident"].notna().sum()),
            "interval_method": INTERVAL, "assumptions": r.assumptions, "notes": list(r.notes)}


# The bootstrap refits the model a thousand times (about ten seconds for a few hundred
# accidents): the same table, as the dashboard asks again while the data stand still, is
# fitted once. Keyed by the table's bytes, since arrays do not hash.
@lru_cache(maxsize=32)
def _fitted(m: bytes, shape: tuple[int, ...], k: bytes, labels: tuple[str, ...],
            list_sources: tuple[str, ...], count_source: str, confidence: float,
            bootstrap: int, seed: int) -> CountsEstimate:
    return estimate_with_counts(
        np.frombuffer(m, dtype=np.int64).reshape(shape), np.frombuffer(k, dtype=np.int64),
        labels=labels, list_sources=list_sources, count_source=count_source,
        confidence=confidence, bootstrap=bootstrap, seed=seed)


def counted_and_estimate(store: Store, counters: Sequence[str], list_sources: Sequence[str],
                         result: Overlaps, statuses: Sequence[str] | None, *,
                         with_estimate: bool = True, confidence: float = 0.95,
                         criterion: mse.Criterion = "bic", bootstrap: int = 1000,
                         seed: int = 0, **filters: Any
                         ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The by-source view's `counted` (per count source with counted accidents within the
    filters: its accidents, killed, injured) and its estimate: the accident model's with
    a count source, else the log-linear models' of the lists' overlaps (`result`), None
    without `with_estimate`. A source with no counted accident within the filters is left
    out: one that covered another period or area says nothing of this one's. What the
    by-source view and the annual report both publish."""
    frames = {name: frame for name in counters
              if not (frame := counted_accidents(store, name, statuses, **filters)).empty}
    counted = []
    for name, frame in frames.items():
        killed, injured = int(frame["killed"].sum()), int(frame["injured"].sum())
        counted.append({"source": name, "accidents": len(frame), "killed": killed,
                        "injured": injured, "casualties": killed + injured})
    if not with_estimate:
        return counted, None
    if not counted:
        return counted, bs.estimate(result, confidence=confidence, criterion=criterion,
                                    bootstrap=bootstrap, seed=seed)
    given = len(list_sources) + 1
    if given < bs.MIN_MSE_SOURCES:
        return counted, {"available": False, "method": METHOD, "sources_given": given,
                         "reason": bs.NEEDS_THREE.format(n=given, were="were")}
    # The model takes one count source: with several, the one that counted most.
    used = max(counted, key=lambda c: (c["casualties"], c["source"]))["source"]
    victims = listed_victims(store, list_sources, statuses, **filters)
    estimate = estimate_from_frames(victims, frames[used], list_sources=list_sources,
                                    count_source=used, confidence=confidence,
                                    bootstrap=bootstrap, seed=seed)
    others = [c["source"] for c in counted if c["source"] != used]
    if others and estimate.get("available"):
        estimate["notes"] = [*estimate["notes"], ONE_COUNT_SOURCE.format(
            used=used, others=", ".join(others))]
    return counted, estimate
