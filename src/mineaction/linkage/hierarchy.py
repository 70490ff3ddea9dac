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
   fields make likely (estimated on the data, not given); victims alike in every person
   field count once per accident pair (a patrol's soldiers are not independent evidence).
   Victim counts that differ weigh against, as much as the data say they do: the share of
   differing counts among the pairs the accident's own fields make sure, over that among
   the pairs they make unlikely (little or nothing where sources list victims one by one,
   or a date moved victim by victim splits an accident). Which of the two accidents name
   their site weighs the same way (Splink reads a missing site as neutral, but two reports
   that both lack it are likelier of one accident whose site nobody recorded, and two of
   which one names it likelier of two). Accident pairs at least `lower` likely are linked
   one to one (optimal assignment on those log odds).
3. Within a linked accident pair, victims are assigned one to one (optimal assignment on
   the person's part). A link's probability is Splink's for the pair, or, where it is
   larger and reaches `upper` (acceptance), the accident pair's probability times the
   chance that, the accidents being one, the victim assigned is the partner (against no
   partner, and against a swap with another assigned pair that some field tells apart):
   the victims of an accident whose date one source moved and whose site neither gives
   are accepted once the accident is sure. The link carries its accident pair's
   probability (`accident_probability`) for the reviewer.
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
# A victim's own fields as prepared (fields.prepare), which tell two victims apart.
PERSON_FIELDS = ("sex", "outcome", "role", "activity", "age_band")
# Accident pairs less likely than this on their own fields are not considered at all.
_ACCIDENT_FLOOR = 1e-3
# Fewer sure (or rival) accident pairs than this: too few to measure what counts say.
_MIN_PAIRS = 20
GROUP_KEY = ("admin_area_pcode", "date_start", "date_end", "place_name", "accident_kind")


def accident_groups(prepared: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """An accident number per row of a prepared victim frame (fields.prepare)."""
    key = prepared[list(GROUP_KEY)].astype(str)
    groups = np.asarray(pd.factorize(pd.util.hash_pandas_object(key, index=False))[0],
                        dtype=np.int64)
    alone = _lone(prepared)
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
                     lower: float, upper: float = 0.95) -> pd.DataFrame:
    """Victim links between two prepared sources. `pairs`: Splink's scored pairs between
    them (pos_l, pos_r: row positions; match_probability, match_weight, mw_*). Returns
    pos_l, pos_r, probability, accident_probability (NaN for a link made pairwise in step 4),
    one to one, every probability >= `lower`; `upper` is the threshold at which a link is
    accepted (see _within_probability)."""
    out_cols = ["pos_l", "pos_r", "probability", "accident_probability"]
    if pairs.empty:
        return pd.DataFrame({"pos_l": np.empty(0, np.int64), "pos_r": np.empty(0, np.int64),
                             "probability": np.empty(0), "accident_probability": np.empty(0)})
    # Splink returns its pairs in no fixed order, and the optimal assignment breaks ties by
    # order: sorted, the same input links the same way on every run.
    pairs = pairs.sort_values(["pos_l", "pos_r"], kind="stable").reset_index(drop=True)
    g_l, g_r = accident_groups(left), accident_groups(right)
    size_l, size_r = np.bincount(g_l), np.bincount(g_r)
    pos_l = pairs["pos_l"].to_numpy(dtype=np.int64)
    pos_r = pairs["pos_r"].to_numpy(dtype=np.int64)
    p = pd.DataFrame({"pos_l": pos_l, "pos_r": pos_r, "ga": g_l[pos_l], "gb": g_r[pos_r],
                      "acc_w": _sum(pairs, ACCIDENT_PARTS), "per_w": _sum(pairs, PERSON_PARTS),
                      "place_w": _sum(pairs, ("place",)),
                      "site_w": _sum(pairs, ("place_name",)),
                      "match_probability": pairs["match_probability"].to_numpy(dtype=float),
                      "match_weight": pairs["match_weight"].to_numpy(dtype=float)})
    p["acc_logodds"] = _accident_logodds(p, left, right, g_l, g_r)
    p["p_acc"] = _probability(p["acc_logodds"].to_numpy())
    cand = p[p["p_acc"] >= _ACCIDENT_FLOOR]

    # Victims within each candidate accident pair, one to one by their own fields.
    within = _assign_within(cand)
    rho = _partner_share(within, size_l, size_r)
    within = within.assign(victim_lr=_victim_evidence(within, left, right, rho))
    accident_pairs = within.groupby(["ga", "gb"], sort=True).agg(
        logodds=("acc_logodds", "max"), victims=("victim_lr", "sum"),
        site_w=("site_w", "max")).reset_index()
    accident_pairs["total"] = (accident_pairs["logodds"] + accident_pairs["victims"]
                               + _size_evidence(accident_pairs, g_l, g_r, left, right)
                               + _site_evidence(accident_pairs, g_l, g_r, left, right))
    accident_pairs["p_acc"] = _probability(accident_pairs["total"].to_numpy())
    accident_pairs = accident_pairs[accident_pairs["p_acc"] >= lower]
    accident_pairs["score"] = accident_pairs["total"] + 1 - accident_pairs["total"].min()
    linked = optimal_one_to_one(accident_pairs, "ga", "gb", "score")
    kept = within.drop(columns="p_acc").merge(linked[["ga", "gb", "p_acc"]], on=["ga", "gb"])
    kept = kept.assign(probability=_within_probability(kept, cand, left, right, rho,
                                                       size_l, size_r, upper),
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


def _accident_logodds(p: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame,
                      g_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                      g_r: np.ndarray[tuple[int], np.dtype[np.int64]]
                      ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """Each victim pair's accident log odds on the accident's own fields, with a prior local
    to the municipality when both sources give the same one (its many accidents are the
    rivals), else the global prior (one over the larger number of accidents)."""
    pcode_l = left["admin_area_pcode"].to_numpy(dtype=object)
    pcode_r = right["admin_area_pcode"].to_numpy(dtype=object)
    accidents_in = [pd.Series(pc).groupby(g).first().value_counts()
                    for pc, g in ((pcode_l, g_l), (pcode_r, g_r))]
    pc_l, pc_r = pcode_l[p["pos_l"].to_numpy()], pcode_r[p["pos_r"].to_numpy()]
    same_place = np.asarray((pc_l == pc_r) & pd.notna(pc_l), dtype=bool)
    rivals = np.maximum(pd.Series(pc_l).map(accidents_in[0]).fillna(1).to_numpy(float),
                        pd.Series(pc_l).map(accidents_in[1]).fillna(1).to_numpy(float))
    local = _logit2(np.minimum(0.5, 1 / np.maximum(2, rivals)))
    overall = float(_logit2(min(0.5, 1 / max(2, len(np.bincount(g_l)),
                                             len(np.bincount(g_r))))))
    return np.asarray(np.where(same_place, p["acc_w"] - p["place_w"] + local,
                               p["acc_w"] + overall), dtype=float)


def _partner_share(within: pd.DataFrame, size_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                   size_r: np.ndarray[tuple[int], np.dtype[np.int64]]) -> float:
    """rho: the share of the smaller side's victims that find a partner whose fields do not
    weigh against, in the accident pairs the accident's own fields make likely. It says how
    the sources cover an accident's victims (all of them, or each victim on its own), so it
    is estimated on the data, not given."""
    likely = within[within["p_acc"] >= 0.5]
    likely_pairs = likely[["ga", "gb"]].drop_duplicates()
    smaller = np.minimum(size_l[likely_pairs["ga"]], size_r[likely_pairs["gb"]]).sum()
    return float(np.clip((likely["per_w"] > 0).sum() / max(smaller, 1), 0.05, 0.95))


def _victim_evidence(within: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame,
                     rho: float) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """Each assigned victim pair's evidence for its accident pair: if the accidents are one,
    the victim has its partner with probability rho (likelihood ratio rho x bf + 1 - rho);
    if not, their agreement is chance. A victim pair alike, in every person field on both
    sides, to one already counted in the same accident pair counts nothing: victims of one
    accident are not independent draws (a patrol's soldiers agree with another patrol's
    soldiers as surely as with their own), and counting each one made two patrols of one
    municipality look like one accident."""
    bf = np.exp2(np.clip(within["per_w"].to_numpy(dtype=float), -60, 60))
    evidence = np.log2(rho * bf + 1 - rho)
    key_l = _person_key(left)[within["pos_l"].to_numpy(dtype=np.int64)]
    key_r = _person_key(right)[within["pos_r"].to_numpy(dtype=np.int64)]
    repeated = pd.DataFrame({"ga": within["ga"].to_numpy(), "gb": within["gb"].to_numpy(),
                             "l": key_l, "r": key_r}).duplicated().to_numpy()
    return np.asarray(np.where(repeated, 0.0, evidence), dtype=float)


def _person_key(frame: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.uint64]]:
    """A hash of a victim's person fields as given (missing included)."""
    fields = [f for f in PERSON_FIELDS if f in frame.columns]
    return np.asarray(pd.util.hash_pandas_object(frame[fields].astype(str), index=False)
                      .to_numpy())


def _size_evidence(accident_pairs: pd.DataFrame, g_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                   g_r: np.ndarray[tuple[int], np.dtype[np.int64]], left: pd.DataFrame,
                   right: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """The evidence of two accidents' victim counts differing, measured on the data: the
    share of differing counts among the accident pairs the accident's own fields make sure
    (0.99 likely on date, place, site and kind) over their share among those the same
    fields make unlikely (rivals). Where sources list whole accidents, one accident seldom
    has three victims in one source and one in the other, and such a pair is likely two
    accidents (-5.6 bits on bench/reconcile_data.py's per-accident coverage); where sources
    list victims one by one, counts differ nearly as often for one accident as for two
    (-0.45 bits), and where a date moved victim by victim splits accidents, more often
    (kept at 0). Only a difference counts: equal counts are already the evidence of each
    victim finding its partner (_victim_evidence). A lone victim (no date nor site: an
    accident of its own only for want of them) says nothing about its accident's size."""
    size_l, size_r = np.bincount(g_l), np.bincount(g_r)
    ga, gb, counted = _counted_pairs(accident_pairs, g_l, g_r, left, right)
    differ = size_l[ga] != size_r[gb]
    own = accident_pairs["logodds"].to_numpy(dtype=float)
    sure, rivals = counted & (own >= _logit2(0.99)), counted & (own < 0)
    if sure.sum() < _MIN_PAIRS or rivals.sum() < _MIN_PAIRS:
        return np.zeros(len(accident_pairs))
    weight = min(0.0, _measured_bits(differ, sure, rivals))
    return np.asarray(np.where(counted & differ, weight, 0.0), dtype=float)


def _site_evidence(accident_pairs: pd.DataFrame,
                   g_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                   g_r: np.ndarray[tuple[int], np.dtype[np.int64]], left: pd.DataFrame,
                   right: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """The evidence of which of two accidents name their site, measured on the data. Splink
    compares a missing site as neutral, but whether a report names the site is partly the
    accident's own (where the register has no site for an accident, no source has one), so
    two accidents that both lack it are likelier one, and two of which only one names it
    likelier two, than the comparison says. Each pattern (neither names it; one does)
    weighs the log of its share among the accident pairs sure on everything but the site
    (their other fields and their victims: 0.99) over its share among those unlikely on
    their fields other than the site (rivals). Where sources leave sites out independently
    of each other, the two shares are alike and the weight is near 0. On
    bench/reconcile_data.py's sources (the register names no site for a quarter of its
    accidents): about +2.1 bits for neither, -2 for one. A lone victim (no date nor site)
    is left out: its missing site is what made it an accident of its own."""
    site_l = _per_accident(left["place_name"].notna().to_numpy(dtype=bool), g_l)
    site_r = _per_accident(right["place_name"].notna().to_numpy(dtype=bool), g_r)
    ga, gb, counted = _counted_pairs(accident_pairs, g_l, g_r, left, right)
    named = site_l[ga].astype(int) + site_r[gb].astype(int)
    fields = (accident_pairs["logodds"] - accident_pairs["site_w"]).to_numpy(dtype=float)
    sure = counted & (fields + accident_pairs["victims"].to_numpy(dtype=float)
                      >= _logit2(0.99))
    rivals = counted & (fields < 0)
    weight = np.zeros(len(accident_pairs))
    if sure.sum() < _MIN_PAIRS or rivals.sum() < _MIN_PAIRS:
        return weight
    for pattern in (0, 1):
        weight[counted & (named == pattern)] = _measured_bits(named == pattern, sure, rivals)
    return weight


def _counted_pairs(accident_pairs: pd.DataFrame,
                   g_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                   g_r: np.ndarray[tuple[int], np.dtype[np.int64]], left: pd.DataFrame,
                   right: pd.DataFrame
                   ) -> tuple[np.ndarray[tuple[int], np.dtype[np.int64]],
                              np.ndarray[tuple[int], np.dtype[np.int64]],
                              np.ndarray[tuple[int], np.dtype[np.bool_]]]:
    """Each accident pair's left and right accident, and whether the pair counts for a
    weight measured on the data: neither is a lone victim's (an accident of its own only
    for want of a date and a site, whose size and missing site say nothing)."""
    ga = accident_pairs["ga"].to_numpy(dtype=np.int64)
    gb = accident_pairs["gb"].to_numpy(dtype=np.int64)
    counted = ~(_per_accident(_lone(left), g_l)[ga] | _per_accident(_lone(right), g_r)[gb])
    return ga, gb, counted


def _measured_bits(pattern: np.ndarray[tuple[int], np.dtype[np.bool_]],
                   sure: np.ndarray[tuple[int], np.dtype[np.bool_]],
                   rivals: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> float:
    """The evidence of a pattern, in bits: log2 of its share among the sure accident
    pairs over its share among the rivals, each share kept within 1-99%."""
    among_sure = float(np.clip(pattern[sure].mean(), 0.01, 0.99))
    among_rivals = float(np.clip(pattern[rivals].mean(), 0.01, 0.99))
    return float(np.log2(among_sure / among_rivals))


def _per_accident(values: np.ndarray[tuple[int], np.dtype[np.bool_]],
                  groups: np.ndarray[tuple[int], np.dtype[np.int64]]
                  ) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
    """Per accident, a value its victims share (that of one of them)."""
    out = np.zeros(int(groups.max(initial=-1)) + 1, dtype=bool)
    out[groups] = values
    return out


def _lone(prepared: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
    """Victims that are an accident of their own for want of a date and a site (as
    accident_groups makes them)."""
    return np.asarray((prepared["date_start"].isna() & prepared["place_name"].isna())
                      .to_numpy(), dtype=bool)


def _within_probability(kept: pd.DataFrame, cand: pd.DataFrame, left: pd.DataFrame,
                        right: pd.DataFrame, rho: float,
                        size_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                        size_r: np.ndarray[tuple[int], np.dtype[np.int64]], upper: float
                        ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """A within-accident link's probability: Splink's for the pair, or, when it reaches
    `upper` (acceptance), the accident pair's probability times the chance that, the
    accidents being one, the victim assigned is the partner (_partner_chance), if that is
    larger. Splink's own prior is one over the larger source and its date and site are the
    victim's alone, so a victim of an accident whose date one source moved and whose site
    neither gives stays under the threshold even when the accident's other victims leave
    no doubt that the accidents are one. Below `upper` Splink's probability stays: there
    the product is poorly calibrated (on bench/reconcile_data.py's sources an accident pair
    0.9 to 0.99 likely was one about three times in four), and taking it put hundreds more
    links up for review where sources list victims one by one, which the store counts as
    joined until decided (2 to 3% fewer victims than the truth there)."""
    chance = _partner_chance(kept, cand, left, right, rho, size_l, size_r)
    splink = kept["match_probability"].to_numpy(dtype=float)
    informed = kept["p_acc"].to_numpy(dtype=float) * chance
    return np.asarray(np.where(informed >= upper, np.maximum(splink, informed), splink),
                      dtype=float)


def _partner_chance(kept: pd.DataFrame, cand: pd.DataFrame, left: pd.DataFrame,
                    right: pd.DataFrame, rho: float,
                    size_l: np.ndarray[tuple[int], np.dtype[np.int64]],
                    size_r: np.ndarray[tuple[int], np.dtype[np.int64]]
                    ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """P(victim j is victim i's partner | their accidents are one), for each assigned pair
    (i, j), as 1 / (1 + the odds of the alternatives): that i has no partner ((1 - r) / (r
    x bf_ij), r = rho scaled by the smaller side over the larger), and each single swap with
    another assigned pair (k, l) of the accident pair (bf_il x bf_kj / (bf_ij x bf_kl)). A
    swap between victims no field both give tells apart (k alike i, l alike j: equal or
    missing in every person field) is left out: it exchanges two persons the sources
    describe alike, which changes no count and no field of the linked persons."""
    bf_of = pd.Series(np.exp2(np.clip(cand["per_w"].to_numpy(dtype=float), -60, 60)),
                      index=pd.MultiIndex.from_arrays([cand["pos_l"], cand["pos_r"]]))
    bf_of = bf_of[~bf_of.index.duplicated()]
    k = kept[["pos_l", "pos_r", "ga", "gb"]].assign(
        bf=np.exp2(np.clip(kept["per_w"].to_numpy(dtype=float), -60, 60)))
    ga, gb = k["ga"].to_numpy(dtype=np.int64), k["gb"].to_numpy(dtype=np.int64)
    r = rho * np.minimum(size_l[ga], size_r[gb]) / np.maximum(size_l[ga], size_r[gb])
    no_partner = (1 - r) / (r * k["bf"].to_numpy())
    swapped = _swap_odds(k, bf_of, left, right).reindex(
        pd.MultiIndex.from_arrays([k["pos_l"], k["pos_r"]]))
    return np.asarray(1 / (1 + no_partner + swapped.fillna(0.0).to_numpy()), dtype=float)


def _swap_odds(k: pd.DataFrame, bf_of: pd.Series, left: pd.DataFrame, right: pd.DataFrame
               ) -> pd.Series:
    """Per assigned pair (i, j) (index pos_l, pos_r), the summed odds of the single swaps
    with the other assigned pairs (k, l) of its accident pair, bf_il x bf_kj / (bf_ij x
    bf_kl) (a pair Splink did not score weighs 0), leaving out the swaps between victims
    alike on both sides (_alike)."""
    swaps = k.merge(k, on=["ga", "gb"], suffixes=("", "_o"))
    swaps = swaps[swaps["pos_l"] != swaps["pos_l_o"]]
    i, i2 = swaps["pos_l"].to_numpy(), swaps["pos_l_o"].to_numpy()
    j, j2 = swaps["pos_r"].to_numpy(), swaps["pos_r_o"].to_numpy()

    def bf(a: np.ndarray[tuple[int], np.dtype[np.int64]],
           b: np.ndarray[tuple[int], np.dtype[np.int64]]
           ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        found = bf_of.reindex(pd.MultiIndex.from_arrays([a, b]))
        return np.asarray(found.fillna(0.0).to_numpy(), dtype=float)

    odds = bf(i, j2) * bf(i2, j) / (swaps["bf"].to_numpy() * swaps["bf_o"].to_numpy())
    # Ages in years tell two victims apart only for partners that give years too.
    years_l, years_r = _years(left), _years(right)
    both_l = ~np.isnan(years_l[i]) & ~np.isnan(years_l[i2])
    both_r = ~np.isnan(years_r[j]) & ~np.isnan(years_r[j2])
    alike = _alike(left, years_l, i, i2, both_r) & _alike(right, years_r, j, j2, both_l)
    return pd.Series(np.where(alike, 0.0, odds)).groupby([i, j]).sum()


def _years(frame: pd.DataFrame) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
    """Ages in years (NaN where not given)."""
    if "age" not in frame.columns:
        return np.full(len(frame), np.nan)
    return np.asarray(pd.to_numeric(frame["age"], errors="coerce").astype(float)
                      .to_numpy(), dtype=float)


def _alike(frame: pd.DataFrame, years: np.ndarray[tuple[int], np.dtype[np.float64]],
           a: np.ndarray[tuple[int], np.dtype[np.int64]],
           b: np.ndarray[tuple[int], np.dtype[np.int64]],
           compare_years: np.ndarray[tuple[int], np.dtype[np.bool_]]
           ) -> np.ndarray[tuple[int], np.dtype[np.bool_]]:
    """Whether records a and b of one source differ in no person field both give; their
    ages in years (within a year) only where `compare_years` (the partners give years: else
    the comparisons read the band)."""
    same = np.ones(len(a), dtype=bool)
    for field in PERSON_FIELDS:
        if field not in frame.columns:
            continue
        values = frame[field].to_numpy(dtype=object)
        x, y = values[a], values[b]
        same &= np.asarray(pd.isna(x) | pd.isna(y) | (x == y), dtype=bool)
    gap = np.abs(years[a] - years[b])
    return same & (~compare_years | np.isnan(gap) | (gap <= 1))


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
