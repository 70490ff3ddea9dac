# SPDX-License-Identifier: GPL-3.0-or-later
"""A new release of a register against the dataset's current records: which incoming row is
which stored record (unchanged, or changed and how), which rows are new, which records the
release no longer has, and which pairs a person must decide (review).

Rows equal in every compared field are matched first, one-to-one (the fast path: most of a
release is unchanged); Splink scores what is left, and pairs are assigned one-to-one, greedily
by probability."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mineaction.linkage import model as splink_model
from mineaction.linkage.assign import exact_pairs, greedy_one_to_one
from mineaction.linkage.comparisons import SOURCE, UID, default_settings, given_fields
from mineaction.linkage.fields import field_set, prepare

UNCHANGED, CHANGED, REVIEW, NEW = "unchanged", "changed", "review", "new"
STATUSES = (UNCHANGED, CHANGED, REVIEW, NEW)


@dataclass
class ReleaseMatch:
    """Per incoming row (frame `rows`, one row per incoming row, in its order):
    `row`, `status` (unchanged/changed/review/new), `id` (the current record it is, or for
    review the candidate it may be; None when new), `probability` (1.0 for exact matches),
    `changed_fields` (tuple of field names, for changed and review rows).

    `missing_ids`: current records matched by nothing, not even a review candidate (no
    longer present). A review row's candidate is neither missing nor matched: the caller
    keeps the old record until a person decides, so it is neither counted twice nor lost.
    `model`: the model's parameters as JSON, to save with the dataset."""

    rows: pd.DataFrame
    missing_ids: list[Any]
    model: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        by_status = self.rows["status"].value_counts()
        out = {s: int(by_status.get(s, 0)) for s in STATUSES}
        out["no_longer_present"] = len(self.missing_ids)
        return out


def compared_columns(kind: str) -> list[str]:
    """What must be equal for a row to be unchanged: every compared field, coordinates too."""
    return [*field_set(kind).exact, "longitude", "latitude"]


def differing_fields(a: pd.Series, b: pd.Series, columns: list[str]) -> tuple[str, ...]:
    return tuple(c for c in columns if not _same(a[c], b[c]))


def _same(x: object, y: object) -> bool:
    if pd.isna(x) and pd.isna(y):
        return True
    if pd.isna(x) or pd.isna(y):
        return False
    if isinstance(x, float) and isinstance(y, float):
        return abs(x - y) < 1e-9
    return bool(x == y)


def match_release(current: pd.DataFrame, incoming: pd.DataFrame, kind: str, *,
                  upper: float = 0.95, lower: float = 0.6,
                  model: dict[str, Any] | None = None,
                  min_training_records: int = splink_model.MIN_TRAINING_RECORDS,
                  em: bool = False) -> ReleaseMatch:
    """`current` has column `id` plus the fields; `incoming` has `row` plus the fields (both
    normalised domain values). A `model` from an earlier run is used as it is; without one,
    the default parameters are trained on the rows the fast path left (when there are
    enough)."""
    if not 0 <= lower <= upper <= 1:
        raise ValueError(f"thresholds must satisfy 0 <= lower <= upper <= 1: {lower}, {upper}")
    columns = compared_columns(kind)
    cur = prepare(current, kind).assign(id=current["id"].to_numpy())
    inc = prepare(incoming, kind).assign(row=incoming["row"].to_numpy())

    exact = exact_pairs(cur, inc, columns, "id", "row")
    rest_cur = cur[~cur["id"].isin(exact["id"])]
    rest_inc = inc[~inc["row"].isin(exact["row"])]

    sides = [_for_splink(rest_cur), _for_splink(rest_inc)]
    if model is not None:
        linkage_model = splink_model.LinkageModel.from_json(model)
    else:
        given = given_fields([cur, inc])
        linkage_model = splink_model.LinkageModel(
            kind, default_settings(kind, given))
        splink_model.train(linkage_model, sides, ["current", "incoming"],
                           min_records=min_training_records, em=em)
    scored = splink_model.predict(linkage_model, sides, ["current", "incoming"],
                                  threshold=lower)
    scored = _oriented(scored, rest_cur, rest_inc)
    assigned = greedy_one_to_one(scored[scored["match_probability"] >= lower], "id", "row")

    rows = _row_statuses(inc, cur, exact, assigned, columns, upper)
    taken = set(exact["id"]) | set(assigned["id"])
    missing = [i for i in cur["id"] if i not in taken]
    return ReleaseMatch(rows=rows, missing_ids=missing, model=linkage_model.to_json(),
                        notes=list(linkage_model.notes))


def _for_splink(frame: pd.DataFrame) -> pd.DataFrame:
    """Splink's input: the row's position as its id (Splink gives ids back as text; a
    position maps back whatever type the caller's ids have)."""
    return frame.drop(columns=["id", "row"], errors="ignore").assign(
        **{UID: np.arange(len(frame), dtype=np.int64)})


def _oriented(scored: pd.DataFrame, rest_cur: pd.DataFrame, rest_inc: pd.DataFrame
              ) -> pd.DataFrame:
    """Splink's pairs as (current id, incoming row), whichever side it put each on."""
    uid = UID
    src = SOURCE
    flip = (scored[f"{src}_l"] != "current").to_numpy()
    left = scored[f"{uid}_l"].astype(np.int64).to_numpy()
    right = scored[f"{uid}_r"].astype(np.int64).to_numpy()
    cur_pos = np.where(flip, right, left)
    inc_pos = np.where(flip, left, right)
    return pd.DataFrame({
        "id": rest_cur["id"].to_numpy()[cur_pos],
        "row": rest_inc["row"].to_numpy()[inc_pos],
        "match_probability": scored["match_probability"].to_numpy(),
    })


def _row_statuses(inc: pd.DataFrame, cur: pd.DataFrame, exact: pd.DataFrame,
                  assigned: pd.DataFrame, columns: list[str], upper: float) -> pd.DataFrame:
    rows = inc["row"].to_numpy()
    position = pd.Series(np.arange(len(rows)), index=rows)
    status = np.full(len(rows), NEW, dtype=object)
    ids = np.full(len(rows), None, dtype=object)
    prob = np.full(len(rows), np.nan)
    changed: list[tuple[str, ...]] = [() for _ in rows]
    at = position[exact["row"].to_numpy()].to_numpy()
    status[at] = UNCHANGED
    ids[at] = exact["id"].to_numpy()
    prob[at] = 1.0
    cur_by_id = cur.set_index("id")
    inc_by_row = inc.set_index("row")
    for cid, row, p in assigned[["id", "row", "match_probability"]].itertuples(index=False):
        diff = differing_fields(cur_by_id.loc[cid], inc_by_row.loc[row], columns)
        k = int(position[row])
        ids[k], prob[k], changed[k] = cid, p, diff
        status[k] = REVIEW if p < upper else (CHANGED if diff else UNCHANGED)
    # Object columns kept as such: pandas would make the ids text, a missing one NaN.
    return pd.DataFrame({"row": rows, "status": status, "id": pd.Series(ids, dtype=object),
                         "probability": prob,
                         "changed_fields": pd.Series(changed, dtype=object)})
