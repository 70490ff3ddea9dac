# SPDX-License-Identifier: GPL-3.0-or-later
"""The by-source view (issue 17, 3 and 4): what each source (dataset) recorded, what only
it recorded, the overlaps between sources, and from three or more sources the estimate of
the casualties that no source recorded.

After record linkage every record belongs to a canonical entity (store/links.py keeps
`canonical_members` for entities of two or more records; a record in none is an entity of
its own). `membership` reads one row per current record, entity and source;
`pattern_counts` counts the same in SQL (entities per exact set of sources), and
`by_source` turns those counts into JSON-ready figures (analysis/overlaps.py's Overlaps,
analysis/mse.py's estimate), so the CLI, the API, the dashboard and the annual report
publish the same numbers.

The same entity counted under the statuses asked for: an entity whose representative is
not approved still counts once among approved records here, through its approved members.

For the public, `public_view` suppresses small counts (see the rule there).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from mineaction.analysis import mse
from mineaction.analysis.casualties import FACTS
from mineaction.analysis.overlaps import SEPARATOR, Overlaps
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, entity_table

KINDS = ("victim", "accident")
NO_DATASET = "(no dataset)"  # records entered by hand belong to no dataset: still a source
MIN_MSE_SOURCES = 3
MAX_MASK_SOURCES = 60  # sources as bits of a 64-bit integer in SQL
NEEDS_THREE = ("the estimate of what no source recorded needs three or more sources; "
               "{n} {were} given")


def _records(kind: str, statuses: Sequence[str] | None, sources: Sequence[str] | None,
             admin_area: str | None = None, date_from: date | None = None,
             date_to: date | None = None) -> tuple[Any, Any, Any, list[Any]]:
    """The records of `kind` joined to their entity (if any): (from clause, record id,
    dataset, conditions). Deleted records are not in the tables; dates and areas are the
    accident's, as the casualty statistics filter them."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    members = METADATA.tables["canonical_members"]
    if kind == "victim":
        # The facts table holds every current victim with its accident's date and area.
        table, rid = FACTS, FACTS.c.victim_id
    else:
        table = entity_table("accident")
        rid = table.c.id
    when, where = table.c.accident_date, table.c.admin_area_pcode
    dataset = sa.func.coalesce(table.c.dataset, NO_DATASET)
    joined = table.outerjoin(members, sa.and_(members.c.record_id == rid,
                                              members.c.kind == kind))
    conditions: list[Any] = []
    if statuses:
        conditions.append(table.c.status.in_(list(statuses)))
    if sources is not None:
        conditions.append(dataset.in_(list(sources)))
    if admin_area:
        conditions.append(where.startswith(admin_area))
    if date_from:
        conditions.append(when >= date_from)
    if date_to:
        conditions.append(when <= date_to)
    return joined, rid, dataset, conditions


def membership(store: Store, kind: str = "victim", statuses: Sequence[str] | None = ("approved",),
               *, sources: Sequence[str] | None = None, admin_area: str | None = None,
               date_from: date | None = None, date_to: date | None = None) -> pd.DataFrame:
    """One row per current record of `kind`: canonical_id (its entity's id, or its own id
    when it is linked to nothing) and source (its dataset). Filters as the casualty
    statistics take them. `sources` keeps the records of those datasets only. (`by_source`
    counts the same in SQL without reading every record.)"""
    joined, rid, dataset, conditions = _records(kind, statuses, sources, admin_area,
                                                date_from, date_to)
    members = METADATA.tables["canonical_members"]
    stmt = (sa.select(sa.func.coalesce(members.c.canonical_id, rid), dataset)
            .select_from(joined).where(*conditions))
    with store.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([(str(c), str(s)) for c, s in rows],
                        columns=["canonical_id", "source"])


def pattern_counts(store: Store, kind: str, statuses: Sequence[str] | None,
                   sources: Sequence[str], **filters: Any) -> dict[frozenset[str], int]:
    """Entities per set of sources that recorded them (exclusive), counted in SQL: a
    million victims never pass through Python. Records linked to nothing are entities of
    one source, counted per dataset; linked ones are grouped by entity, their sources as
    a bit mask (SUM of DISTINCT powers of two), and the masks counted."""
    names = list(sources)
    counts: dict[frozenset[str], int] = {}
    if not names:
        return counts
    if len(names) > MAX_MASK_SOURCES:  # a bit per source: beyond that, read the records
        frame = membership(store, kind, statuses, sources=names, **filters)
        for group in frame.groupby("canonical_id")["source"].agg(frozenset):
            counts[group] = counts.get(group, 0) + 1
        return counts
    joined, _, dataset, conditions = _records(kind, statuses, names, **filters)
    members = METADATA.tables["canonical_members"]
    bit = sa.case(*((dataset == name, 2 ** i) for i, name in enumerate(names)), else_=0)
    alone = (sa.select(dataset, sa.func.count()).select_from(joined)
             .where(*conditions, members.c.record_id.is_(None)).group_by(dataset))
    entities = (sa.select(sa.func.sum(sa.distinct(bit)).label("mask")).select_from(joined)
                .where(*conditions, members.c.record_id.is_not(None))
                .group_by(members.c.canonical_id).subquery())
    masks = sa.select(entities.c.mask, sa.func.count()).group_by(entities.c.mask)
    n: Any
    mask: Any
    with store.engine.connect() as conn:
        for name, n in conn.execute(alone):
            key = frozenset([str(name)])
            counts[key] = counts.get(key, 0) + int(n)
        for mask, n in conn.execute(masks):
            key = frozenset(s for i, s in enumerate(names) if int(mask) >> i & 1)
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def overlaps_of(counts: dict[frozenset[str], int], sources: Sequence[str]) -> Overlaps:
    """The Overlaps (analysis/overlaps.py) of exclusive counts per set of sources, the
    sources largest first (ties by name), as `overlaps` gives them from records."""
    size = {s: sum(n for key, n in counts.items() if s in key) for s in sources}
    names = sorted(sources, key=lambda s: (-size[s], s))
    rows = [{**{s: s in key for s in names}, "sources": SEPARATOR.join(s for s in names
                                                                       if s in key),
             "degree": len(key), "count": n} for key, n in counts.items() if n and key]
    patterns = pd.DataFrame(rows, columns=[*names, "sources", "degree", "count"])
    patterns = (patterns.sort_values(["count", "degree", "sources"],
                                     ascending=[False, True, True], kind="stable")
                .reset_index(drop=True).astype({"count": "int64", "degree": "int64"}))
    per_source = pd.DataFrame({
        "source": names, "entities": [size[s] for s in names],
        "only_this_source": [counts.get(frozenset([s]), 0) for s in names]})
    per_source["share_only"] = (per_source["only_this_source"]
                                / per_source["entities"].where(per_source["entities"] > 0)
                                ).fillna(0.0).round(4)
    return Overlaps(sources=tuple(names), per_source=per_source, intersections=patterns,
                    distinct=int(sum(n for key, n in counts.items() if key)))


def datasets(store: Store, kind: str = "victim",
             statuses: Sequence[str] | None = ("approved",)) -> list[str]:
    """The datasets holding records of `kind` (of the statuses): the sources to choose
    from."""
    table = FACTS if kind == "victim" else entity_table("accident")
    stmt = sa.select(sa.func.coalesce(table.c.dataset, NO_DATASET)).distinct()
    if statuses:
        stmt = stmt.where(table.c.status.in_(list(statuses)))
    with store.engine.connect() as conn:
        return sorted(str(r[0]) for r in conn.execute(stmt))


def by_source(store: Store, kind: str = "victim",
              statuses: Sequence[str] | None = ("approved",), *,
              sources: Sequence[str] | None = None, confidence: float = 0.95,
              criterion: mse.Criterion = "bic", bootstrap: int = 1000, seed: int = 0,
              with_estimate: bool = True, **filters: Any) -> dict[str, Any]:
    """The by-source view as plain JSON: each source's count, what only it recorded, the
    exclusive count of every overlap pattern, the distinct entities, and the
    multiple-systems estimate (or why there is none). `sources` chooses the datasets
    compared (default: every dataset with records of `kind`); one with no records within
    the filters counts zero. ValueError names a source the store does not hold.
    `with_estimate` False leaves the estimate out (it costs a bootstrap).

    For victims, sources that count casualties per accident without listing them
    (analysis/by_source_counts.py) are shown apart under `counted`, and with one of them
    the estimate is the accident model's."""
    # by_source_counts reads this module's queries: imported here, not at the top.
    from mineaction.analysis import by_source_counts as bsc

    known = datasets(store, kind, statuses)
    counters: list[str] = []
    if kind == "victim":
        counting = bsc.count_datasets(store, statuses, listing=known)
        counters = counting if sources is None else [s for s in dict.fromkeys(sources)
                                                      if s in counting]
        if sources is not None:
            sources = [s for s in sources if s not in counters]
    chosen = choose(store, kind, statuses, sources, known=known)
    result = compare(store, kind, statuses, chosen, **filters)
    counted, estimated = bsc.counted_and_estimate(
        store, counters, chosen, result, statuses, with_estimate=with_estimate,
        confidence=confidence, criterion=criterion, bootstrap=bootstrap, seed=seed,
        **filters)
    out = {"kind": kind, "statuses": list(statuses) if statuses else None,
           "filters": {k: (v.isoformat() if isinstance(v, date) else v)
                       for k, v in filters.items() if v is not None},
           **view(result)}
    if counted:
        out["counted"] = counted
    out["estimate"] = estimated
    return out


def compare(store: Store, kind: str, statuses: Sequence[str] | None, sources: Sequence[str],
            **filters: Any) -> Overlaps:
    """The overlaps of the chosen sources (what the table and the chart show)."""
    return overlaps_of(pattern_counts(store, kind, statuses, sources, **filters), sources)


def choose(store: Store, kind: str, statuses: Sequence[str] | None,
           sources: Sequence[str] | None, *, known: Sequence[str] | None = None
           ) -> list[str]:
    """The sources compared: those asked (each must hold records of `kind`), else every
    dataset that does. `known`: `datasets(store, kind, statuses)`, when the caller has
    them."""
    known = list(known) if known is not None else datasets(store, kind, statuses)
    if sources is None:
        return known
    chosen = list(dict.fromkeys(sources))
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise ValueError(f"no {kind} records of source {', '.join(unknown)} "
                         f"(sources: {', '.join(known) or 'none'})")
    return chosen


def view(result: Overlaps) -> dict[str, Any]:
    """The overlaps as the view publishes them: intersections keyed by their pattern
    ("a & b") as well as listed."""
    d = result.to_dict()
    for row in d["intersections"]:
        row["pattern"] = " & ".join(row["sources"])
    return {"sources": d["sources"], "distinct": d["distinct"],
            "per_source": d["per_source"], "intersections": d["intersections"]}


def estimate(result: Overlaps, *, confidence: float = 0.95, criterion: mse.Criterion = "bic",
             bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The multiple-systems estimate from the overlaps' exclusive counts, as JSON:
    `available` False with the `reason` when there are fewer than three sources or no
    model is identifiable."""
    sources = list(result.sources)
    if len(sources) < MIN_MSE_SOURCES:
        return {"available": False, "sources_given": len(sources),  # worded by the web (#22)
                "reason": NEEDS_THREE.format(n=len(sources),
                                             were="was" if len(sources) == 1 else "were")}
    table = result.intersections
    counts = tuple((tuple(int(table.at[i, s]) for s in sources), int(table.at[i, "count"]))
                   for i in table.index)
    # A copy: the cached answer is shared, and callers may change theirs.
    return copy.deepcopy(_estimate(tuple(sources), counts, confidence, criterion, bootstrap,
                                   seed))


# The estimate depends on the exclusive counts alone, and its bootstrap refits every model a
# thousand times (most of a minute with five sources): the same counts, as a dashboard or
# an API client asks again and again while the data stand still, are estimated once.
@lru_cache(maxsize=64)
def _estimate(sources: tuple[str, ...], counts: tuple[tuple[tuple[int, ...], int], ...],
              confidence: float, criterion: mse.Criterion, bootstrap: int, seed: int
              ) -> dict[str, Any]:
    histories = pd.DataFrame([flags for flags, _ in counts], columns=list(sources),
                             dtype=int)
    histories[mse.COUNT] = [n for _, n in counts]
    try:
        r = mse.multiple_systems_estimate(histories, criterion=criterion,
                                          confidence=confidence, bootstrap=bootstrap,
                                          seed=seed)
    except mse.MSEError as exc:
        return {"available": False, "reason": str(exc)}
    return {"available": True, "method": "log_linear", "estimate": round(r.estimate, 1),
            "interval": [round(r.interval[0], 1), round(r.interval[1], 1)],
            "confidence": r.confidence, "observed": r.observed,
            "unobserved": round(r.unobserved, 1), "model_terms": list(r.model_terms),
            "criterion": r.criterion, "averaged_estimate": round(r.averaged_estimate, 1),
            "interval_method": r.interval_method, "assumptions": r.assumptions}


# ------------------------------------------------------------------------------ public

# The public rule of services/statistics.py and reports/suppression.py, applied to these
# counts: a count from 1 to threshold-1 is hidden (primary), and so is whatever else would
# let it be worked out (complementary). The figures here are the exclusive pattern counts
# and their sums: each source's count and the distinct total. Those sums are public on
# another route anyway (/stats/casualties?dataset=<source> and the total, which hide them
# only when they are small themselves), so only pattern counts can be hidden to protect a
# cell. The sums overlap (a pattern of two sources is in both sources' counts), so the
# greedy "no sum with exactly one hidden term" of suppression.py is not enough: the
# difference of two sums can isolate a cell neither sum alone does. The check below is
# exact for linear disclosure: a hidden figure is given away when it is a linear
# combination of the shown ones, and pattern counts are hidden until none is. When the
# public sums alone give a small count away (two sources: a & b = a + b - distinct), no
# suppression here can protect it honestly, and the public gets no counts at all.
#
# The estimate of what no source recorded is a function of every pattern count; with a
# hidden count it could be inverted by trying the few values (1 to threshold-1) the
# hidden cells can take, so the public gets it only when nothing is hidden. The chart
# draws every count, so it is published under the same condition.
NOT_PUBLISHED = ("not published: the overlaps include counts suppressed to protect the "
                 "people behind them, which the estimate would give away")
REFUSED = ("not published: the sources' counts, public on their own, would give away "
           "small overlaps between them")


def public_view(data: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The by-source view with small counts suppressed for the public (a new dict):
    hidden counts are None, `suppressed_below` says the threshold, `suppressed` whether
    anything is hidden, `published` False (every count None, `reason` why) when no
    suppression can protect the small counts; the estimate is withheld when anything is
    hidden."""
    names: list[str] = list(data["sources"])
    k = len(names)
    patterns = [tuple(bool(p >> (k - 1 - i) & 1) for i in range(k))
                for p in range(1, 2 ** k)] if k else []
    index = {p: i for i, p in enumerate(patterns)}
    cells = np.zeros(len(patterns), dtype=np.int64)
    for row in data["intersections"]:
        cells[index[tuple(s in row["sources"] for s in names)]] = int(row["count"])
    # The published figures as linear functionals of the cells: the cells themselves,
    # each source's count, and the distinct total.
    rows = [np.eye(len(patterns), dtype=np.int64)[i] for i in range(len(patterns))]
    rows += [np.array([int(p[j]) for p in patterns], dtype=np.int64) for j in range(k)]
    rows.append(np.ones(len(patterns), dtype=np.int64))
    functionals = np.array(rows).reshape(len(rows), len(patterns))
    values = functionals @ cells
    hidden, published = _hidden(functionals, values, len(patterns), threshold)
    if not published:
        hidden[:] = True

    out = {key: value for key, value in data.items()
           if key not in ("per_source", "intersections", "distinct", "estimate")}
    shown = {p: (None if hidden[i] else int(cells[i])) for p, i in index.items()}
    out["intersections"] = [
        {"sources": [n for n, on in zip(names, p, strict=True) if on],
         "pattern": " & ".join(n for n, on in zip(names, p, strict=True) if on),
         "degree": sum(p), "count": shown[p]}
        for p in patterns if cells[index[p]] > 0 or (hidden[index[p]] and published)]
    out["intersections"].sort(key=lambda r: (r["count"] is None, -(r["count"] or 0),
                                             r["degree"], r["pattern"]))
    per_source = []
    for j, name in enumerate(names):
        entities = None if hidden[len(patterns) + j] else int(values[len(patterns) + j])
        only_cell = index[tuple(i == j for i in range(k))]
        only = None if hidden[only_cell] else int(cells[only_cell])
        share = (round(only / entities, 4) if entities and only is not None
                 else (0.0 if entities == 0 else None))
        per_source.append({"source": name, "entities": entities, "only_this_source": only,
                           "share_only": share})
    out["per_source"] = per_source
    out["distinct"] = None if hidden[-1] else int(values[-1])
    out["published"] = published
    counted_hidden = False
    if "counted" in data:
        out["counted"], counted_hidden = _public_counted(data["counted"], threshold)
    out["suppressed"] = bool(hidden.any()) or counted_hidden
    out["suppressed_below"] = threshold
    if not published:
        out["reason"] = REFUSED
    if out["suppressed"]:
        out["estimate"] = {"available": False,
                           "reason": NOT_PUBLISHED if published else REFUSED}
    else:
        out["estimate"] = data.get("estimate")
    return out


def _public_counted(counted: list[dict[str, Any]], threshold: int
                    ) -> tuple[list[dict[str, Any]], bool]:
    """A count source's figures for the public: its casualties, killed and injured are
    persons, so a small one (1 to threshold-1) is hidden, and with it the other of killed
    and injured (casualties = killed + injured would give it back). Whether any was."""
    out, any_hidden = [], False
    for row in counted:
        shown = dict(row)
        small = [k for k in ("casualties", "killed", "injured") if 0 < row[k] < threshold]
        if small:
            any_hidden = True
            for k in {"killed", "injured", *small}:
                shown[k] = None
        out.append(shown)
    return out, any_hidden


def _hidden(functionals: np.ndarray, values: np.ndarray, cells: int, threshold: int
            ) -> tuple[np.ndarray, bool]:
    """Which published figures to hide, and whether that protects every hidden one:
    primary (1 to threshold-1), then, while a hidden figure is a linear combination of the
    shown ones, the smallest shown pattern count (a non-zero one first, as suppression.py
    does) whose hiding stops that, failing any the smallest shown one. Each pass hides one
    more count, so it ends; the sums (rows from `cells` on) are never hidden to protect."""
    hidden = (values > 0) & (values < threshold)
    for _ in range(cells + 1):
        leak = next((i for i in np.flatnonzero(hidden)
                     if _determined(functionals, hidden, functionals[i])), None)
        if leak is None:
            return hidden, True
        order = sorted((int(i) for i in np.flatnonzero(~hidden) if i < cells),
                       key=lambda i: (values[i] == 0, values[i], i))
        if not order:
            return hidden, False
        pick = next((i for i in order if not _determined(
            functionals, _with(hidden, i), functionals[leak])), order[0])
        hidden = _with(hidden, pick)
    return hidden, False


def _with(hidden: np.ndarray, i: int) -> np.ndarray:
    out = hidden.copy()
    out[i] = True
    return out


def _determined(functionals: np.ndarray, hidden: np.ndarray, target: np.ndarray) -> bool:
    """Whether `target` is a linear combination of the shown functionals."""
    shown = functionals[~hidden].astype(float)
    if not len(shown):
        return False
    base = np.linalg.matrix_rank(shown)
    return bool(np.linalg.matrix_rank(np.vstack([shown, target.astype(float)])) == base)
