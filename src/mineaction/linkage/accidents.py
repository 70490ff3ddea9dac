# SPDX-License-Identifier: GPL-3.0-or-later
"""Accident-level linkage for a source that reports accidents only with counts of killed and
injured (no victims): its accidents are linked to the accidents of the linked victims by date
and place, so the two counts can be set side by side.

Deterministic, not Splink: an accident with counts only has nothing to compare but a date and
a municipality (and its kind), too little for a trained model. Candidates share the
municipality and dates within `max_days` (as day ranges, respecting precision); each is
assigned one-to-one, nearest date first, then closest counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mineaction.linkage.assign import greedy_one_to_one
from mineaction.linkage.fields import clean_category, date_range, pad_pcode

ACCIDENT_KEY = ["admin_area_pcode", "accident_date", "date_precision", "accident_kind"]


def victim_accidents(victims: pd.DataFrame) -> pd.DataFrame:
    """Victims (canonical ones, or any victim frame) grouped into accidents: those sharing
    municipality, date with its precision and kind, with their counts of killed and injured
    (the AICMA register's own grouping, docs/mappings.md)."""
    frame = victims.copy()
    for column in ACCIDENT_KEY:
        if column not in frame.columns:
            frame[column] = None
    frame["accident_kind"] = clean_category(frame["accident_kind"]).fillna("")
    frame["date_precision"] = clean_category(frame["date_precision"]).fillna("day")
    frame["admin_area_pcode"] = pad_pcode(frame["admin_area_pcode"])
    outcome = clean_category(frame["outcome"])
    frame["killed"] = (outcome == "killed").astype(int)
    frame["injured"] = (outcome == "injured").astype(int)
    grouped = frame.groupby(ACCIDENT_KEY, dropna=False, sort=True)
    out = grouped.agg(killed=("killed", "sum"), injured=("injured", "sum")).reset_index()
    out.insert(0, "accident", np.arange(len(out)))
    return out


def accident_numbers(victims: pd.DataFrame, accidents: pd.DataFrame | None = None
                     ) -> pd.Series:
    """Each victim's accident as `victim_accidents` numbers them (`accidents`, its answer
    for these victims, when the caller has it), on the victims' index."""
    if accidents is None:
        accidents = victim_accidents(victims)
    key = pd.DataFrame(index=victims.index)
    key["accident_kind"] = clean_category(victims["accident_kind"]).fillna("")
    key["date_precision"] = clean_category(victims["date_precision"]).fillna("day")
    key["admin_area_pcode"] = pad_pcode(victims["admin_area_pcode"])
    key["accident_date"] = victims["accident_date"]
    merged = key[ACCIDENT_KEY].merge(accidents[[*ACCIDENT_KEY, "accident"]], on=ACCIDENT_KEY,
                                     how="left")
    return pd.Series(merged["accident"].to_numpy(), index=victims.index)


def link_accident_counts(victims: pd.DataFrame, counts: pd.DataFrame, *, max_days: int = 31
                         ) -> pd.DataFrame:
    """One row per accident of `counts` (columns `id`, accident_date, date_precision,
    admin_area_pcode, killed, injured, optionally accident_kind): the accident of the linked
    victims it is (`accident`, None if none), its killed and injured by both counts, and the
    days between the two dates (0 when their ranges overlap)."""
    ours = victim_accidents(victims)
    theirs = counts.copy()
    theirs["admin_area_pcode"] = pad_pcode(theirs["admin_area_pcode"])
    precision = theirs["date_precision"] if "date_precision" in theirs.columns else None
    theirs["start"], theirs["end"] = date_range(theirs["accident_date"], precision)
    ours["start"], ours["end"] = date_range(ours["accident_date"], ours["date_precision"])
    pairs = theirs[["id", "admin_area_pcode", "start", "end", "killed", "injured"]].merge(
        ours[["accident", "admin_area_pcode", "start", "end", "killed", "injured",
              "accident_kind"]], on="admin_area_pcode", suffixes=("", "_victims"))
    later = pairs[["start", "start_victims"]].max(axis=1)
    earlier = pairs[["end", "end_victims"]].min(axis=1)
    pairs["days_apart"] = (later - earlier).dt.days.clip(lower=0)
    pairs = pairs[pairs["days_apart"] <= max_days]
    if "accident_kind" in counts.columns:
        kinds = pd.Series(clean_category(counts["accident_kind"]).to_numpy(),
                          index=counts["id"].to_numpy())
        theirs_kind = pairs["id"].map(kinds)
        pairs = pairs[theirs_kind.isna() | (pairs["accident_kind"] == "")
                      | (theirs_kind == pairs["accident_kind"])]
    count_gap = ((pairs["killed"] - pairs["killed_victims"]).abs()
                 + (pairs["injured"] - pairs["injured_victims"]).abs())
    # Higher is better for the greedy pass: nearest date first, then closest counts.
    pairs = pairs.assign(score=-(pairs["days_apart"] * 1000 + count_gap).astype(float))
    chosen = greedy_one_to_one(pairs, "id", "accident", score="score")
    out = counts[["id"]].merge(chosen[["id", "accident", "killed_victims", "injured_victims",
                                       "days_apart"]], on="id", how="left")
    out["killed"] = counts["killed"].to_numpy()
    out["injured"] = counts["injured"].to_numpy()
    out["accident"] = pd.Series([None if pd.isna(a) else int(a) for a in out["accident"]],
                                index=out.index, dtype=object)
    return out[["id", "accident", "killed", "injured", "killed_victims", "injured_victims",
                "days_apart"]]
