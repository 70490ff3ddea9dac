# SPDX-License-Identifier: GPL-3.0-or-later
"""Who recorded whom: the overlaps between sources after record linkage (issue 17).

From a membership table (one row per canonical entity and source that recorded it) come
each source's count, the number of distinct entities, the exclusive count of every
intersection pattern (UpSet-style: the entities recorded by exactly that set of sources)
and what only one source recorded. Plain frames and dataclasses, so the CLI, the API's
JSON and the reports render the same figures; `mineaction.reports.upset` draws the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

SEPARATOR = " & "


@dataclass(frozen=True)
class Overlaps:
    """sources: in display order (largest first unless given);
    per_source: source, entities, only_this_source, share_only (of its entities);
    intersections: one row per non-empty pattern, largest first: one bool column per
    source, `sources` (the names, joined by " & "), degree (how many sources), count
    (entities recorded by exactly those sources);
    distinct: canonical entities recorded by at least one source."""

    sources: tuple[str, ...]
    per_source: pd.DataFrame
    intersections: pd.DataFrame
    distinct: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain lists of plain dicts."""
        return {
            "sources": list(self.sources),
            "distinct": self.distinct,
            "per_source": [
                {"source": str(r.source), "entities": int(r.entities),
                 "only_this_source": int(r.only_this_source),
                 "share_only": float(r.share_only)}
                for r in self.per_source.itertuples(index=False)],
            "intersections": [
                {"sources": [s for s in self.sources if bool(row[s])],
                 "degree": int(row["degree"]), "count": int(row["count"])}
                for _, row in self.intersections.iterrows()],
        }


def overlaps(membership: pd.DataFrame, *, entity: str = "canonical_id",
             source: str = "source", sources: Sequence[str] | None = None,
             include_empty: bool = False) -> Overlaps:
    """Overlaps between sources from (entity, source) rows; duplicates (an entity recorded
    twice by one source) count once. `sources` fixes the order and may name sources that
    recorded nothing; `include_empty` keeps patterns with no entity (for tables that must
    show every combination)."""
    pairs = membership[[entity, source]].drop_duplicates()
    names = (list(sources) if sources is not None
             else list(pairs[source].value_counts().sort_index(kind="stable")
                       .sort_values(ascending=False, kind="stable").index))
    unknown = set(pairs[source]) - set(names)
    if unknown:
        raise ValueError(f"sources not in the given list: {sorted(map(str, unknown))}")
    wide = (pd.crosstab(pairs[entity], pairs[source]).reindex(columns=names, fill_value=0)
            > 0)
    degree = wide.sum(axis=1)
    patterns = wide.value_counts(sort=False).rename("count").reset_index()
    if include_empty:
        every = pd.MultiIndex.from_product([[False, True]] * len(names), names=names)
        counts = patterns.set_index(names)["count"] if names else pd.Series(dtype=int)
        patterns = counts.reindex(every, fill_value=0).reset_index()
        patterns = patterns[patterns[names].any(axis=1)]
    patterns["degree"] = patterns[names].sum(axis=1).astype(int)
    patterns["sources"] = [SEPARATOR.join(n for n in names if row[n])
                           for _, row in patterns[names].iterrows()]
    # Largest first; ties by fewer sources, then by name, so the order is stable.
    patterns = patterns.sort_values(["count", "degree", "sources"],
                                    ascending=[False, True, True], kind="stable")
    patterns = patterns[[*names, "sources", "degree", "count"]].reset_index(drop=True)

    only = wide[degree == 1].sum(axis=0)
    entities = wide.sum(axis=0)
    per_source = pd.DataFrame({
        "source": names,
        "entities": [int(entities[n]) for n in names],
        "only_this_source": [int(only[n]) for n in names],
    })
    per_source["share_only"] = (per_source["only_this_source"]
                                / per_source["entities"].where(per_source["entities"] > 0)
                                ).fillna(0.0).round(4)
    return Overlaps(sources=tuple(names), per_source=per_source,
                    intersections=patterns.astype({"count": "int64"}),
                    distinct=int(len(wide)))
