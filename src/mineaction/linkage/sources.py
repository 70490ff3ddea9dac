# SPDX-License-Identifier: GPL-3.0-or-later
"""Records of several sources (datasets) that may report the same victim or accident: Splink
scores candidate pairs only between different sources, each record keeps at most one link to
each other source (a source does not list the same person twice), and the accepted links
cluster into entities (clusters.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mineaction.linkage import model as splink_model
from mineaction.linkage.assign import greedy_one_to_one
from mineaction.linkage.clusters import cluster_links
from mineaction.linkage.comparisons import SOURCE, UID, default_settings, given_fields
from mineaction.linkage.fields import prepare
from mineaction.linkage.hierarchy import link_two_sources

ACCEPTED, REVIEW, SPLIT = "accepted", "review", "split"


@dataclass
class SourceLinks:
    """`records`: one row per input record: source, id, cluster (an int; a record linked to
    nothing is a cluster of its own), cluster_probability (the weakest accepted link holding
    its cluster together; NaN for a single record).
    `links`: source_l, id_l, source_r, id_r, probability, status: accepted (in a cluster),
    review (between the thresholds: a person decides), split (accepted by probability but
    refused because it would put two records of one source in a cluster); for victims also
    accident_probability: how likely the two victims' accidents are one (hierarchy.py;
    NaN for a link made pairwise, outside a linked accident pair).
    `prepared`: the normalised records, by source (what canonical() reads).
    `model`: the model's parameters as JSON."""

    kind: str
    records: pd.DataFrame
    links: pd.DataFrame
    prepared: dict[str, pd.DataFrame]
    model: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def cluster_count(self) -> int:
        return int(self.records["cluster"].nunique())


def record_ids(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    """A source's record ids: its `id` column, else its row labels."""
    ids = frame["id"] if "id" in frame.columns else frame.index.to_series()
    return np.asarray(ids.to_numpy())


def _prepared(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Normalised fields, the record's id, and its date of information when given (what
    canonical()'s "newest" rule reads)."""
    out = prepare(frame, kind).assign(id=record_ids(frame))
    if "information_date" in frame.columns:
        out["information_date"] = frame["information_date"].to_numpy()
    return out


def link_sources(frames: dict[str, pd.DataFrame], kind: str, *, upper: float = 0.95,
                 lower: float = 0.6, model: dict[str, Any] | None = None,
                 min_training_records: int = splink_model.MIN_TRAINING_RECORDS,
                 em: bool = False) -> SourceLinks:
    """Link the records of several sources (at least two). Each frame holds normalised
    domain values and, optionally, an `id` column (else its row labels are the ids)."""
    if len(frames) < 2:
        raise ValueError("link_sources needs at least two sources")
    names = list(frames)
    prepared = {n: _prepared(f, kind) for n, f in frames.items()}
    sides = [p.drop(columns=["id", "information_date"], errors="ignore")
             .assign(**{UID: np.arange(len(p))}) for p in prepared.values()]
    if model is not None:
        linkage_model = splink_model.LinkageModel.from_json(model)
    else:
        settings = default_settings(kind, given_fields(sides), graded_dates=True)
        linkage_model = splink_model.LinkageModel(kind, settings)
        splink_model.train(linkage_model, sides, names, min_records=min_training_records, em=em)
    if kind == "victim":
        # Two stages: accidents first, then their victims (hierarchy.py).
        scored = splink_model.predict(linkage_model, sides, names, threshold=_FLOOR,
                                      weights=True)
        links = _two_stage(scored, prepared, lower, upper)
    else:
        scored = splink_model.predict(linkage_model, sides, names, threshold=lower)
        links = _one_link_per_other_source(_with_ids(scored, prepared)).assign(
            accident_probability=np.nan)
    links["status"] = np.where(links["probability"] >= upper, ACCEPTED, REVIEW)
    records, links = cluster_links(prepared, links)
    return SourceLinks(kind=kind, records=records, links=links, prepared=prepared,
                       model=linkage_model.to_json(), notes=list(linkage_model.notes))


# Pairs Splink scores below this are not even candidates for the two-stage linker: their
# accident and person together weigh heavily against (the rest decides step by step).
_FLOOR = 1e-4


def _two_stage(scored: pd.DataFrame, prepared: dict[str, pd.DataFrame], lower: float,
               upper: float) -> pd.DataFrame:
    """Victim links of every pair of sources, by hierarchy.link_two_sources, with the
    sources' ids, the lower-named source on the left."""
    uid, src = UID, SOURCE
    parts = []
    names = sorted(prepared)
    for i, left in enumerate(names):
        for right in names[i + 1:]:
            src_l, src_r = scored[f"{src}_l"], scored[f"{src}_r"]
            f = scored[((src_l == left) & (src_r == right)).to_numpy()]
            b = scored[((src_l == right) & (src_r == left)).to_numpy()]
            pairs = pd.concat([
                f.assign(pos_l=f[f"{uid}_l"].astype(np.int64),
                         pos_r=f[f"{uid}_r"].astype(np.int64)),
                b.assign(pos_l=b[f"{uid}_r"].astype(np.int64),
                         pos_r=b[f"{uid}_l"].astype(np.int64)),
            ], ignore_index=True)
            found = link_two_sources(pairs, prepared[left], prepared[right], lower=lower,
                                     upper=upper)
            parts.append(pd.DataFrame({
                "source_l": left, "id_l": prepared[left]["id"].to_numpy()[found["pos_l"]],
                "source_r": right, "id_r": prepared[right]["id"].to_numpy()[found["pos_r"]],
                "probability": found["probability"].to_numpy(dtype=float),
                "accident_probability": found["accident_probability"].to_numpy(dtype=float)}))
    return pd.concat(parts, ignore_index=True)


def _with_ids(scored: pd.DataFrame, prepared: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Splink's pairs with the sources' own ids, the lower-named source on the left."""
    uid, src = UID, SOURCE
    out = pd.DataFrame({
        "source_l": scored[f"{src}_l"].to_numpy(), "source_r": scored[f"{src}_r"].to_numpy(),
        "pos_l": scored[f"{uid}_l"].astype(np.int64).to_numpy(),
        "pos_r": scored[f"{uid}_r"].astype(np.int64).to_numpy(),
        "probability": scored["match_probability"].to_numpy(dtype=float),
    })
    swap = (out["source_l"] > out["source_r"]).to_numpy()
    for a, b in (("source_l", "source_r"), ("pos_l", "pos_r")):
        left, right = out[a].to_numpy().copy(), out[b].to_numpy().copy()
        out[a] = np.where(swap, right, left)
        out[b] = np.where(swap, left, right)
    for side in ("l", "r"):
        ids = np.empty(len(out), dtype=object)
        for name, frame in prepared.items():
            mask = (out[f"source_{side}"] == name).to_numpy()
            ids[mask] = frame["id"].to_numpy()[out[f"pos_{side}"].to_numpy()[mask]]
        out[f"id_{side}"] = ids
    return out[["source_l", "id_l", "source_r", "id_r", "probability"]]


def _one_link_per_other_source(pairs: pd.DataFrame) -> pd.DataFrame:
    """Within each pair of sources, links one-to-one (greedy by probability): a record is
    the same as at most one record of each other source."""
    if pairs.empty:
        return pairs.assign(status=pd.Series(dtype=object))
    kept = []
    for _, group in pairs.groupby(["source_l", "source_r"], sort=True):
        # One pair of sources per group: the ids alone name the records.
        kept.append(greedy_one_to_one(group, "id_l", "id_r", score="probability"))
    return pd.concat(kept, ignore_index=True)
