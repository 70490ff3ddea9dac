# SPDX-License-Identifier: GPL-3.0-or-later
"""Two-stage (hierarchical) linkage of victims, as casualty monitors reconcile their sources:
first the ACCIDENTS of two sources are linked, then the victims within each pair of linked
accidents are assigned one to one by their own fields.

1. Each source's victims are grouped into accidents: those sharing municipality, date (as its
   range), site and kind are one accident (a victim whose source gives neither date nor site
   is an accident of its own: nothing ties it to the others).
2. Splink scores victim pairs as usual; its log Bayes factors are split into the accident's
   part (date, place, site, device, narrative) and the person's (age, sex, outcome, role,
   activity). An accident pair's log odds are the accident's part with a prior local to
   the municipality (one over the larger number of accidents the two sources record
   there, as `model.prior` is one over the larger source; the global prior when the
   municipalities differ or one is unknown), plus its victims' evidence: if the accidents
   are one, each victim of the smaller side has its partner with probability rho
   (likelihood ratio rho x bf + 1 - rho), rho being the share of those victims that find a
   partner whose fields do not weigh against, in the accident pairs the accident's own
   fields make likely (estimated on the data, not given). Accident pairs at least `lower`
   likely are linked one to one (optimal assignment on those log odds).
3. Within a linked accident pair, victims are assigned one to one (optimal assignment on
   the person's part). A link keeps Splink's probability for the pair, so that the
   thresholds mean the same for every link, and carries its accident pair's probability
   (`accident_probability`) for the reviewer.
4. Victims left over (an accident a source split, a record without date and site) are
   linked pairwise on Splink's own probability, one to one, as before.

So the victims of two different accidents of one municipality and month are no longer
rivals: their accidents are told apart first, by everything the accidents' victims share.
On bench/reconcile_data.py's sources, 99% of the accepted links join victims of one true
accident; what is left is within an accident, between victims that no field the sources
give tells apart (bench/linkage_bench.py, docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mineaction.linkage.assign import greedy_one_to_one, optimal_one_to_one

ACCIDENT_PARTS = ("date", "place", "place_name", "accident_kind", "device_category",
                  "narrative")
PERSON_PARTS = ("age", "sex", "outcome", "role", "activity")
# Accident pairs less likely than this on their own fields are not considered at all.
_ACCIDENT_FLOOR = 1e-3
GROUP_KEY = ("admin_area_pcode", "date_start", "date_end", "place_name", "accident_kind")


def accident_groups(prepared: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """An accident number per row of a prepared victim frame (fields.prepare)."""
    key = prepared[list(GROUP_KEY)].astype(str)
    groups = np.asarray(pd.factorize(pd.util.hash_pandas_object(key, index=False))[0],
                        dtype=np.int64)
    alone = (prepared["date_start"].isna() & prepared["place_name"].isna()).to_numpy()
    groups[alone] = groups.max(initial=-1) + 1 + np.arange(int(alone.sum()))
    return groups


def _logit2(p: np.ndarray[tuple[int], np.dtype[np.float64]] | float
            ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    q = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.asarray(np.log2(q / (1 - q)))


def _probability(weight: np.ndarray[tuple[int], np.dtype[np.float64]]
                 ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    return np.asarray(1 / (1 + np.exp2(-np.clip(weight, -60, 60))))


def _sum(pairs: pd.DataFrame, parts: Sequence[str]) -> np.ndarray[tuple[int],
                                                                  np.dtype[np.float64]]:
    cols = [f"mw_{p}" for p in parts if f"mw_{p}" in pairs.columns]
    if not cols:
        return np.zeros(len(pairs))
    return np.asarray(pairs[cols].astype(float).fillna(0.0).sum(axis=1).to_numpy())


def link_two_sources(pairs: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame, *,
                     lower: float) -> pd.DataFrame:
    """Victim links between two prepared sources. `pairs`: Splink's scored pairs between
    them (pos_l, pos_r: row positions; match_probability, match_weight, mw_*). Returns
    pos_l, pos_r, probability, accident_probability (NaN for a link made pairwise in step 4),
    one to one, every probability >= `lower`."""
    out_cols = ["pos_l", "pos_r", "probability", "accident_probability"]
    if pairs.empty:
        return pd.DataFrame({"pos_l": np.empty(0, np.int64), "pos_r": np.empty(0, np.int64),
                             "probability": np.empty(0), "accident_probability": np.empty(0)})
    g_l, g_r = accident_groups(left), accident_groups(right)
    size_l, size_r = np.bincount(g_l), np.bincount(g_r)
    pos_l = pairs["pos_l"].to_numpy(dtype=np.int64)
    pos_r = pairs["pos_r"].to_numpy(dtype=np.int64)
    p = pd.DataFrame({"pos_l": pos_l, "pos_r": pos_r, "ga": g_l[pos_l], "gb": g_r[pos_r],
                      "acc_w": _sum(pairs, ACCIDENT_PARTS), "per_w": _sum(pairs, PERSON_PARTS),
                      "place_w": _sum(pairs, ("place",)),
                      "match_probability": pairs["match_probability"].to_numpy(dtype=float),
                      "match_weight": pairs["match_weight"].to_numpy(dtype=float)})

    # The accident's probability, with a prior local to the municipality when both sources
    # give the same one (its many accidents are the rivals), else the global prior.
    pcode_l = left["admin_area_pcode"].to_numpy(dtype=object)
    pcode_r = right["admin_area_pcode"].to_numpy(dtype=object)
    accidents_in = [pd.Series(pc).groupby(g).first().value_counts()
                    for pc, g in ((pcode_l, g_l), (pcode_r, g_r))]
    pc_l, pc_r = pcode_l[pos_l], pcode_r[pos_r]
    same_place = np.asarray((pc_l == pc_r) & pd.notna(pc_l), dtype=bool)
    rivals = np.maximum(pd.Series(pc_l).map(accidents_in[0]).fillna(1).to_numpy(float),
                        pd.Series(pc_l).map(accidents_in[1]).fillna(1).to_numpy(float))
    local = _logit2(np.minimum(0.5, 1 / np.maximum(2, rivals)))
    overall = float(_logit2(min(0.5, 1 / max(2, len(size_l), len(size_r)))))
    acc_logodds = np.where(same_place, p["acc_w"] - p["place_w"] + local,
                           p["acc_w"] + overall)
    p["acc_logodds"] = acc_logodds
    p["p_acc"] = _probability(acc_logodds)
    cand = p[p["p_acc"] >= _ACCIDENT_FLOOR]

    # Victims within each candidate accident pair, one to one by their own fields.
    within = _assign_within(cand)
    bf_within = np.exp2(np.clip(within["per_w"].to_numpy(dtype=float), -60, 60))
    # rho: the share of the smaller side's victims that find a partner whose fields do not
    # weigh against, in the accident pairs the accident's own fields make likely.
    likely = within[within["p_acc"] >= 0.5]
    likely_pairs = likely[["ga", "gb"]].drop_duplicates()
    smaller = np.minimum(size_l[likely_pairs["ga"]], size_r[likely_pairs["gb"]]).sum()
    rho = float(np.clip((likely["per_w"] > 0).sum() / max(smaller, 1), 0.05, 0.95))
    # An accident pair's odds with its victims' evidence: if the accidents are one, each
    # victim of the pair has its partner with probability rho (likelihood ratio rho x bf +
    # 1 - rho); if not, their agreement is chance.
    within = within.assign(victim_lr=np.log2(rho * bf_within + 1 - rho))
    accident_pairs = within.groupby(["ga", "gb"], sort=True).agg(
        logodds=("acc_logodds", "max"), victims=("victim_lr", "sum")).reset_index()
    accident_pairs["total"] = accident_pairs["logodds"] + accident_pairs["victims"]
    accident_pairs["p_acc"] = _probability(accident_pairs["total"].to_numpy())
    accident_pairs = accident_pairs[accident_pairs["p_acc"] >= lower]
    accident_pairs["score"] = accident_pairs["total"] + 1 - accident_pairs["total"].min()
    linked = optimal_one_to_one(accident_pairs, "ga", "gb", "score")
    kept = within.drop(columns="p_acc").merge(linked[["ga", "gb", "p_acc"]], on=["ga", "gb"])
    # The link's probability is Splink's for the pair (the accident's and the person's
    # evidence together), so that the thresholds mean what they mean for other links.
    kept = kept.assign(probability=kept["match_probability"],
                       accident_probability=kept["p_acc"])
    kept = kept[kept["probability"] >= lower]

    # Left-overs: pairwise, on Splink's own probability.
    rest = p[~p["pos_l"].isin(kept["pos_l"]) & ~p["pos_r"].isin(kept["pos_r"])
             & (p["match_probability"] >= lower)]
    rest = greedy_one_to_one(rest, "pos_l", "pos_r", score="match_weight").assign(
        probability=lambda f: f["match_probability"], accident_probability=np.nan)
    out = pd.concat([kept[out_cols], rest[out_cols]], ignore_index=True)
    return out.astype({"pos_l": np.int64, "pos_r": np.int64, "probability": float,
                       "accident_probability": float})


def _assign_within(cand: pd.DataFrame) -> pd.DataFrame:
    """Within each accident pair, victims one to one maximising the person's evidence."""
    if cand.empty:
        return cand
    key = cand["ga"].astype(np.int64) * (int(cand["gb"].max()) + 1) + cand["gb"]
    multi = key.groupby(key).transform("size").to_numpy() > 1
    parts = [cand[~multi]]
    crowded = cand[multi]
    if not crowded.empty:
        # One assignment over all crowded pairs at once: the pair (accident, victim) is the
        # node, so the victims of different accident pairs never compete here.
        tagged = crowded.assign(
            node_l=key[multi].astype(str) + ":" + crowded["pos_l"].astype(str),
            node_r=key[multi].astype(str) + ":" + crowded["pos_r"].astype(str),
            s=crowded["per_w"] - crowded["per_w"].min() + 1)
        parts.append(optimal_one_to_one(tagged, "node_l", "node_r", "s").drop(
            columns=["node_l", "node_r", "s"]))
    return pd.concat(parts, ignore_index=True)
