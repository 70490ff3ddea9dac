# SPDX-License-Identifier: GPL-3.0-or-later
"""The two-stage linker's accident evidence (hierarchy.py), on hand-made scored pairs: the
Bayes factors are written here as Splink's default m and u give them, so each test says
what a pair weighs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mineaction.linkage.fields import prepare
from mineaction.linkage.hierarchy import (
    _site_evidence,
    _size_evidence,
    _victim_evidence,
    accident_groups,
    link_two_sources,
)

# log2(m / u) of the default comparisons (comparisons.py), untrained.
DATE = {0: np.log2(0.85 / 0.004), 3: np.log2(0.02 / 0.0006), 10: np.log2(0.03 / 0.0014),
        31: np.log2(0.07 / 0.004), 92: np.log2(0.02 / 0.015), None: np.log2(0.01 / 0.975)}
SAME_MUNICIPALITY = np.log2(0.97 / 0.003)
SAME_SITE = np.log2(0.7 / 0.02)
SAME_KIND = np.log2(0.95 / 0.8)
PERSON = {"sex": (0.75, 0.02), "outcome": (0.65, 0.02), "role": (0.5, 0.02),
          "activity": (0.2, 0.05), "age_band": (0.73, 0.02)}
PRIOR = 1e-4  # Splink's: one over the larger source, here of 10,000 records


def victims(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    base = {"date_precision": "day", "accident_kind": "mine", "outcome": "injured",
            "age_band": "adult", "place_name": None}
    return prepare(pd.DataFrame([{**base, **r} for r in rows]), "victim")


def scored(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Every pair of one municipality (the blocking rule), weighed as Splink would."""
    rows = []
    for i, a in left.iterrows():
        for j, b in right.iterrows():
            if a["admin_area_pcode"] != b["admin_area_pcode"]:
                continue
            gap = None
            if pd.notna(a["date_start"]) and pd.notna(b["date_start"]):
                days = abs((a["date_start"] - b["date_start"]).days)
                gap = next((k for k in (0, 3, 10, 31, 92) if days <= k), None)
            row = {"pos_l": i, "pos_r": j, "mw_date": DATE[gap] if pd.notna(
                       a["date_start"]) and pd.notna(b["date_start"]) else 0.0,
                   "mw_place": SAME_MUNICIPALITY, "mw_accident_kind": SAME_KIND,
                   "mw_place_name": SAME_SITE if pd.notna(a["place_name"]) and a[
                       "place_name"] == b["place_name"] else 0.0}
            for field, (u, m_differ) in PERSON.items():
                name = "age" if field == "age_band" else field
                if pd.isna(a[field]) or pd.isna(b[field]):
                    row[f"mw_{name}"] = 0.0
                elif a[field] == b[field]:
                    row[f"mw_{name}"] = np.log2((1 - m_differ) / u)
                else:
                    row[f"mw_{name}"] = np.log2(m_differ / (1 - u))
            rows.append(row)
    pairs = pd.DataFrame(rows)
    weights = pairs.filter(like="mw_").sum(axis=1) + np.log2(PRIOR / (1 - PRIOR))
    return pairs.assign(match_weight=weights, match_probability=1 / (1 + np.exp2(-weights)))


def sure_accidents() -> tuple[list[Mapping[str, object]], list[Mapping[str, object]]]:
    """Accidents both sources date to the day and name the site of (other municipalities):
    what tells the linker that a source lists an accident's every victim (rho)."""
    left: list[Mapping[str, object]] = []
    right: list[Mapping[str, object]] = []
    for k in range(4):
        for sex in ("male", "female"):
            row = {"admin_area_pcode": f"0500{k}", "accident_date": f"2005-0{k + 1}-10",
                   "place_name": f"Vereda {k}", "sex": sex, "role": "civilian",
                   "activity": "agriculture"}
            left.append(row)
            right.append(row)
    return left, right


def rivals(n: int) -> list[Mapping[str, object]]:
    """Other accidents of the municipality, years apart: the local prior's rivals."""
    return [{"admin_area_pcode": "18410", "accident_date": f"{1990 + k}-01-01",
             "place_name": f"Vereda R{k}", "sex": "male", "role": "civilian",
             "activity": "travelling"} for k in range(n)]


def test_a_sure_accident_carries_its_victims_over_the_threshold() -> None:
    # One accident of three different victims; the ngo moved its date 20 days and neither
    # source gives its site. Each victim pair on its own fields stays under 0.95 (Splink's
    # prior is one over 10,000), but three victims agreeing make the accident sure.
    people: list[dict[str, object]] = [
        {"sex": "male", "role": "security_forces", "activity": "military_duty"},
        {"sex": "female", "role": "civilian", "activity": "agriculture", "age_band": "child"},
        {"sex": "male", "role": "civilian", "activity": "travelling", "outcome": "killed"}]
    sure_l, sure_r = sure_accidents()

    def accident(day: str) -> list[Mapping[str, object]]:
        return [{"admin_area_pcode": "18410", "accident_date": day, **p} for p in people]

    left = victims([*sure_l, *rivals(20), *accident("2007-05-03")])
    right = victims([*sure_r, *rivals(20), *accident("2007-05-23")])
    pairs = scored(left, right)
    target = (left["accident_date"] == "2007-05-03").to_numpy()
    assert (pairs[target[pairs["pos_l"]]]["match_probability"] < 0.95).all()

    found = link_two_sources(pairs, left, right, lower=0.6, upper=0.95)
    ours = found[target[found["pos_l"]]]
    offset = int(np.flatnonzero(target)[0])
    assert sorted(zip(ours["pos_l"] - offset, ours["pos_r"] - offset, strict=True)) == [
        (0, 0), (1, 1), (2, 2)]
    assert (ours["probability"] >= 0.95).all()
    assert (ours["accident_probability"] > 0.95).all()
    # Short of the acceptance threshold a link keeps Splink's probability (the accident's
    # evidence accepts links, it does not put more up for review).
    stricter = link_two_sources(pairs, left, right, lower=0.6, upper=0.9999)
    kept = stricter[target[stricter["pos_l"]]].merge(
        pairs[["pos_l", "pos_r", "match_probability"]], on=["pos_l", "pos_r"])
    assert len(kept) == 3
    assert np.allclose(kept["probability"], kept["match_probability"])


def test_victims_alike_count_once_for_their_accident() -> None:
    # A patrol of four soldiers alike in every field both sources give weighs, for its
    # accident pair, what one of them weighs: soldiers of two patrols agree as surely.
    soldier: dict[str, object] = {"admin_area_pcode": "18410", "sex": "male",
                                  "role": "security_forces", "activity": "military_duty"}
    left = victims([{**soldier, "accident_date": "2007-05-03"}] * 4)
    right = victims([{**soldier, "accident_date": "2007-05-28"}] * 4)
    pairs = scored(left, right)
    within = pairs.assign(ga=accident_groups(left)[pairs["pos_l"]],
                          gb=accident_groups(right)[pairs["pos_r"]],
                          per_w=pairs[["mw_sex", "mw_outcome", "mw_role", "mw_activity",
                                       "mw_age"]].sum(axis=1))
    assigned = within[within["pos_l"] == within["pos_r"]]
    evidence = _victim_evidence(assigned, left, right, rho=0.9)
    single = np.log2(0.9 * np.exp2(assigned["per_w"].iloc[0]) + 0.1)
    assert np.isclose(evidence.sum(), single)
    # Four victims told apart by some field (here read from other frames) each count.
    people = victims([{**soldier, "accident_date": "2007-05-03", "age_band": band,
                       "sex": sex} for band, sex in (("adult", "male"), ("child", "male"),
                                                     ("adult", "female"),
                                                     ("child", "female"))])
    assert np.isclose(_victim_evidence(assigned, people, people, rho=0.9).sum(), 4 * single)


def test_differing_victim_counts_weigh_as_much_as_the_data_say() -> None:
    # 30 sure accident pairs and 30 rival pairs (dated victims: none is alone); accident i
    # has left_sizes[i] victims in one source and right_sizes[i] in the other.
    def weights(sure_differ: int, rivals_differ: int
                ) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        n = 60
        left_sizes, right_sizes = np.full(n, 2), np.full(n, 2)
        right_sizes[:sure_differ] = 3
        right_sizes[30:30 + rivals_differ] = 1
        g_l = np.repeat(np.arange(n), left_sizes)
        g_r = np.repeat(np.arange(n), right_sizes)

        def dated(size: int) -> pd.DataFrame:
            return pd.DataFrame({"date_start": [pd.Timestamp("2007-01-01")] * size,
                                 "place_name": [None] * size})

        pairs = pd.DataFrame({"ga": np.arange(n), "gb": np.arange(n),
                              "logodds": np.r_[np.full(30, 12.0), np.full(30, -6.0)]})
        return np.asarray(_size_evidence(pairs, g_l, g_r, dated(len(g_l)),
                                         dated(len(g_r))), dtype=float)

    # Sure pairs' counts agree (1 of 30 differs), rivals' differ half the time: a
    # differing count (pair 30) is evidence against; an equal one (pair 59) adds nothing.
    out = weights(1, 15)
    assert out[30] < -3 and out[0] == out[30] and out[59] == 0.0
    # Counts differ as often for sure pairs as for rivals (victims listed one by one):
    # nothing.
    assert (weights(15, 15) == 0.0).all()


def test_which_accidents_name_their_site_weighs_as_the_data_say() -> None:
    # 30 accident pairs sure on everything but the site and 30 rivals, one victim each.
    # named[i]: how many of pair i's two accidents name their site (2, 1 or 0).
    def weights(sure: Sequence[int], rival: Sequence[int], *, site_w: float = 0.0,
                lone: Sequence[int] = ()) -> np.ndarray[tuple[int], np.dtype[np.float64]]:
        named = np.asarray([*sure, *rival])
        n = len(named)
        side = {"left": named >= 1, "right": named == 2}

        def frame(has_site: np.ndarray[tuple[int], np.dtype[np.bool_]]) -> pd.DataFrame:
            dates = [pd.NaT if i in lone else pd.Timestamp("2007-01-01") for i in range(n)]
            return pd.DataFrame({"date_start": dates,
                                 "place_name": ["Vereda" if s else None for s in has_site]})

        pairs = pd.DataFrame({"ga": np.arange(n), "gb": np.arange(n),
                              "logodds": np.r_[np.full(30, 12.0), np.full(n - 30, -6.0)],
                              "victims": np.zeros(n), "site_w": np.zeros(n)})
        pairs.loc[pairs["ga"] < 30, "site_w"] = site_w
        return np.asarray(_site_evidence(pairs, np.arange(n), np.arange(n),
                                         frame(side["left"]), frame(side["right"])),
                          dtype=float)

    # A register that names no site for a third of its accidents: sure pairs lack it on
    # both sides 10 times in 30 and on one side twice; rivals 3 and 12 times.
    sure, rival = [0] * 10 + [1] * 2 + [2] * 18, [0] * 3 + [1] * 12 + [2] * 15
    out = weights(sure, rival)
    assert np.isclose(out[0], np.log2((10 / 30) / (3 / 30)))  # neither names it: for
    assert np.isclose(out[10], np.log2((2 / 30) / (12 / 30)))  # one names it: against
    assert out[12] == 0.0 and out[45] == 0.0  # both name it: the site's comparison says
    # Sources that leave sites out independently: the shares are alike, nothing.
    assert np.allclose(weights(rival, rival), 0.0)
    # Pairs sure only by their site's own agreement are not sure on everything else: too
    # few left to measure, nothing.
    assert (weights(sure, rival, site_w=12.0) == 0.0).all()
    # A lone victim (no date nor site) is an accident of its own for want of them: its
    # missing site says nothing more.
    lone = weights(sure, rival, lone=[0, 10])
    assert lone[0] == 0.0 and lone[10] == 0.0
    assert lone[1] > 1.5 and lone[11] < -2


def test_the_links_do_not_depend_on_the_order_of_splink_s_pairs() -> None:
    # Twins (two soldiers alike) make ties that the assignment breaks by order.
    soldier: dict[str, object] = {"admin_area_pcode": "18410", "sex": "male",
                                  "role": "security_forces", "activity": "military_duty",
                                  "accident_date": "2007-05-03"}
    sure_l, sure_r = sure_accidents()
    left = victims([*sure_l, soldier, soldier, {**soldier, "sex": None}])
    right = victims([*sure_r, soldier, {**soldier, "role": None}, soldier])
    pairs = scored(left, right)
    first = link_two_sources(pairs, left, right, lower=0.6)
    for seed in range(5):
        shuffled = pairs.sample(frac=1, random_state=seed).reset_index(drop=True)
        again = link_two_sources(shuffled, left, right, lower=0.6)
        pd.testing.assert_frame_equal(
            first.sort_values(["pos_l", "pos_r"]).reset_index(drop=True),
            again.sort_values(["pos_l", "pos_r"]).reset_index(drop=True))
