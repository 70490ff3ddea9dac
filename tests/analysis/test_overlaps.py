# SPDX-License-Identifier: GPL-3.0-or-later
"""Overlaps between sources (issue 17): the counts agree with brute force over Python sets,
and the UpSet-style chart renders."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mineaction.analysis.overlaps import overlaps
from mineaction.reports.upset import upset_chart

SOURCES = ["police", "hospital", "ngo", "press"]


@pytest.fixture(scope="module")
def membership() -> pd.DataFrame:
    rng = np.random.default_rng(17)
    rows = []
    for entity in range(600):
        listed = [s for s, share in zip(SOURCES, [0.6, 0.4, 0.3, 0.1], strict=True)
                  if rng.random() < share]
        rows += [(f"v{entity}", s) for s in listed]
    frame = pd.DataFrame(rows, columns=["canonical_id", "source"])
    # An entity listed twice by one source (two records linked to one victim) counts once.
    return pd.concat([frame, frame.iloc[:25]], ignore_index=True)


def test_counts_agree_with_brute_force(membership: pd.DataFrame) -> None:
    listed_by: dict[str, set[str]] = {}
    for entity, source in membership.itertuples(index=False):
        listed_by.setdefault(entity, set()).add(source)
    result = overlaps(membership)

    assert result.distinct == len(listed_by)
    per_source = result.per_source.set_index("source")
    for s in SOURCES:
        assert per_source.loc[s, "entities"] == sum(s in v for v in listed_by.values())
        only = sum(v == {s} for v in listed_by.values())
        assert per_source.loc[s, "only_this_source"] == only
        assert per_source.loc[s, "share_only"] == pytest.approx(
            only / per_source.loc[s, "entities"], abs=1e-4)
    for _, row in result.intersections.iterrows():
        pattern = {s for s in SOURCES if row[s]}
        assert row["count"] == sum(v == pattern for v in listed_by.values())
        assert row["degree"] == len(pattern)
        assert row["sources"] == " & ".join(s for s in result.sources if s in pattern)
    assert result.intersections["count"].sum() == result.distinct
    assert (result.intersections["count"] > 0).all()
    assert result.intersections["count"].is_monotonic_decreasing
    # Largest source first when no order is given.
    assert list(result.sources) == list(per_source["entities"].sort_values(
        ascending=False, kind="stable").index)


def test_every_pattern_on_request_and_a_fixed_order(membership: pd.DataFrame) -> None:
    result = overlaps(membership, sources=[*SOURCES, "radio"], include_empty=True)
    assert result.sources == (*SOURCES, "radio")
    assert len(result.intersections) == 2 ** 5 - 1
    patterns = {tuple(bool(x) for x in row) for row in
                result.intersections[[*SOURCES, "radio"]].itertuples(index=False)}
    assert patterns == set(itertools.product([False, True], repeat=5)) - {(False,) * 5}
    assert result.per_source.set_index("source").loc["radio", "entities"] == 0
    with pytest.raises(ValueError, match="not in the given list"):
        overlaps(membership, sources=["police"])


def test_other_column_names_and_json(membership: pd.DataFrame) -> None:
    renamed = membership.rename(columns={"canonical_id": "victim", "source": "dataset"})
    result = overlaps(renamed, entity="victim", source="dataset")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["distinct"] == result.distinct
    assert sum(i["count"] for i in data["intersections"]) == result.distinct
    assert {p["source"] for p in data["per_source"]} == set(SOURCES)
    assert all(i["degree"] == len(i["sources"]) for i in data["intersections"])


def test_upset_chart_renders(membership: pd.DataFrame, tmp_path: Path) -> None:
    result = overlaps(membership)
    path = tmp_path / "upset.png"
    upset_chart(result, path, "Victims by source")
    content = path.read_bytes()
    assert content.startswith(b"\x89PNG") and len(content) > 5000
    buffer = io.BytesIO()
    upset_chart(result, buffer, "Victims by source", fmt="svg")
    assert b"<svg" in buffer.getvalue()
