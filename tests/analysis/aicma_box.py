# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped AICMA events of a box, as a GeoJSON file to import with the shipped mapping:
the small real store the risk model's tests train on (tests/analysis/test_risk_cli.py,
tests/reports/test_annual_risk_section.py)."""

from __future__ import annotations

import json
from pathlib import Path

EVENTS = Path(__file__).parents[2] / "data" / "colombia" / "aicma_events_1990-2014.geojson"


def events_in(box: tuple[float, float, float, float], folder: Path) -> Path:
    """`folder`/events.geojson: the events whose point lies strictly inside `box`
    (min lon, min lat, max lon, max lat)."""
    src = json.loads(EVENTS.read_text(encoding="utf-8"))
    keep = [f for f in src["features"] if f["geometry"]
            and box[0] < f["geometry"]["coordinates"][0] < box[2]
            and box[1] < f["geometry"]["coordinates"][1] < box[3]]
    sliced = folder / "events.geojson"
    sliced.write_text(json.dumps({**src, "features": keep}), encoding="utf-8")
    return sliced
