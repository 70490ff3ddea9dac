# SPDX-License-Identifier: GPL-3.0-or-later
"""Clusters of linked records, and one canonical record per cluster.

Clustering is connected components over accepted links with a guard against chaining: links
are joined strongest first, and a link that would put two records of one source in a cluster
is refused (status "split"). Being processed last, the refused link is always the weakest on
the path that would have chained the two records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from mineaction.linkage.fields import field_set

if TYPE_CHECKING:
    from mineaction.linkage.sources import SourceLinks


class _Clusters:
    """Union-find over record keys, each root remembering its sources and weakest link."""

    def __init__(self, keys: list[tuple[str, Any]]) -> None:
        self.parent = {k: k for k in keys}
        self.sources: dict[tuple[str, Any], set[str]] = {k: {k[0]} for k in keys}
        self.weakest: dict[tuple[str, Any], float] = {}

    def root(self, key: tuple[str, Any]) -> tuple[str, Any]:
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]  # path halving
            key = self.parent[key]
        return key

    def join(self, a: tuple[str, Any], b: tuple[str, Any], probability: float) -> bool:
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            self.weakest[ra] = min(self.weakest.get(ra, 1.0), probability)
            return True
        if self.sources[ra] & self.sources[rb]:
            return False
        self.parent[rb] = ra
        self.sources[ra] |= self.sources.pop(rb)
        self.weakest[ra] = min(self.weakest.get(ra, 1.0), self.weakest.pop(rb, 1.0),
                               probability)
        return True


def cluster_links(prepared: Mapping[str, pd.DataFrame], links: pd.DataFrame
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(records with their cluster, links with accepted ones refused by the guard marked
    "split")."""
    keys = [(name, i) for name, frame in prepared.items() for i in frame["id"]]
    clusters = _Clusters(keys)
    links = links.sort_values(["probability", "source_l", "source_r"],
                              ascending=[False, True, True], kind="stable").copy()
    status = links["status"].to_numpy().copy()
    for pos, (sl, il, sr, ir, p) in enumerate(links[["source_l", "id_l", "source_r", "id_r",
                                                     "probability"]].itertuples(index=False)):
        if status[pos] == "accepted" and not clusters.join((sl, il), (sr, ir), float(p)):
            status[pos] = "split"
    links["status"] = status
    roots = [clusters.root(k) for k in keys]
    numbers: dict[tuple[str, Any], int] = {}
    cluster_ids = [numbers.setdefault(r, len(numbers)) for r in roots]
    records = pd.DataFrame({
        "source": [k[0] for k in keys], "id": [k[1] for k in keys], "cluster": cluster_ids,
        "cluster_probability": [clusters.weakest.get(r, np.nan) for r in roots],
    })
    return records, links.reset_index(drop=True)


def canonical(links: SourceLinks, *, rule: str = "newest",
              information_dates: Mapping[str, date | str] | None = None,
              reliability: Mapping[str, int] | None = None) -> pd.DataFrame:
    """One record per cluster, field by field from its records by a visible rule:

    - "newest" (IMSMA's date of information): the newest report gives each field, skipping
      reports that leave it empty. A record's date is its `information_date` column, else its
      source's date in `information_dates`.
    - "reliability": the source with the best (lowest) rank in `reliability` gives each field,
      skipping empty ones.

    Columns: cluster, the compared fields, `provenance` (field -> source that gave it),
    `sources` (the cluster's sources), `records` ((source, id) pairs), `match_probability`
    (the cluster's weakest link; NaN for a single record), `rule`."""
    if rule not in ("newest", "reliability"):
        raise ValueError(f"rule must be 'newest' or 'reliability', not {rule!r}")
    fields = [f for f in field_set(links.kind).exact if f != "date_precision"]
    stacked = _stacked(links, rule, information_dates or {}, reliability or {})
    stacked = stacked.sort_values(["cluster", "_order"], kind="stable")
    # First non-null per cluster in preference order, and which source gave it.
    groups = stacked.groupby("cluster", sort=True)
    out = pd.DataFrame({"cluster": np.asarray(list(groups.groups))})
    provenance: list[dict[str, str]] = [{} for _ in range(len(out))]
    index = {c: n for n, c in enumerate(out["cluster"])}
    for name in [*fields, "date_precision"]:
        given = stacked[stacked[name].notna()].drop_duplicates("cluster", keep="first")
        chosen = given.set_index("cluster")
        out[name] = out["cluster"].map(chosen[name]).astype(object)
        if name == "date_precision":
            # The precision travels with the date it qualifies, not on its own.
            dated = stacked[stacked["accident_date"].notna()].drop_duplicates("cluster")
            out[name] = out["cluster"].map(dated.set_index("cluster")[name]).astype(object)
            continue
        for cluster, source in zip(chosen.index, chosen["source"], strict=True):
            provenance[index[cluster]][name] = source
    first = groups.agg(sources=("source", lambda s: tuple(sorted(set(s)))),
                       match_probability=("cluster_probability", "first"))
    out["provenance"] = provenance
    out["sources"] = out["cluster"].map(first["sources"])
    members: dict[int, list[tuple[str, Any]]] = {}
    for cluster, source, rid in stacked[["cluster", "source", "id"]].itertuples(index=False):
        members.setdefault(cluster, []).append((source, rid))
    out["records"] = [tuple(members[c]) for c in out["cluster"]]
    out["match_probability"] = out["cluster"].map(first["match_probability"])
    out["rule"] = rule
    return out


def _stacked(links: SourceLinks, rule: str, information_dates: Mapping[str, date | str],
             reliability: Mapping[str, int]) -> pd.DataFrame:
    """All records of all sources in one frame with their cluster and a preference order
    (lower first)."""
    parts = []
    for source, frame in links.prepared.items():
        part = frame.assign(source=source)
        if rule == "newest":
            when = (frame["information_date"] if "information_date" in frame.columns
                    else pd.Series(information_dates.get(source), index=frame.index))
            # Newest first; a report with no date of information comes last.
            days = pd.to_datetime(when, errors="coerce")
            seconds = (days - pd.Timestamp("1970-01-01")).dt.total_seconds()
            part["_order"] = (-seconds).fillna(np.inf).to_numpy(dtype=float)
        else:
            part["_order"] = float(reliability.get(source, np.iinfo(np.int32).max))
        parts.append(part)
    stacked = pd.concat(parts, ignore_index=True)
    return stacked.merge(links.records, on=["source", "id"], how="left")
