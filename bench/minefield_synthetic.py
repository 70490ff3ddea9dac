# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeded synthetic minefields with a known truth, for the record-accuracy analysis
(issue 18, item 3: "the fit recovers the shift within 1 m and the rotation within 0.5
degrees, and each accuracy indicator equals its known value").

`synthetic_minefield(seed, ...) -> SyntheticMinefield`
    A minefield laid in rows (varied lengths, starts, spacings, device types; one double
    staggered row), its handed-over record drawn with a known rotation about the record's
    centre and a known shift, with rows omitted from the record (laid beyond the recorded
    perimeter), finds with position noise, stray finds (inside and outside the perimeter,
    never near a recorded mine), and some mines never found. `truth` holds what each
    indicator must equal, worked out here from the layout itself (its own geometry in its
    own plane), not by calling the analysis.

Choices that keep the truth exact rather than approximate: mines at least 4 m apart and
noise clipped at 1.5 m, so with the default 2 m match tolerance a find can only be its own
mine; stray and omitted-row finds at least 4 m from every recorded mine and at least 0.3 m
from the buffered perimeter's edge (before and after the fit), so which side of it they lie
on does not depend on a centimetre of fitting error.

    python bench/minefield_synthetic.py [--seeds 10]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from pyproj import Proj
from shapely.geometry import Point, Polygon

from mineaction.analysis.minefield_accuracy import (
    DOUBLE_STAGGERED,
    SINGLE,
    Find,
    MinefieldRecord,
    MineRow,
    MissingExplained,
    assess_record,
)

DEVICE_TYPES = ("PMN-2", "TM-62M", "OZM-72")
MIN_CLEARANCE_M = 4.0
EDGE_MARGIN_M = 0.3


@dataclass(frozen=True)
class Truth:
    rotation_deg: float
    shift_east_m: float
    shift_north_m: float
    expected_mines: int
    found_mines: int
    missing_per_row: dict[str, int]
    count_source: dict[str, str]
    spacing_source: dict[str, str]
    outside_row_find_ids: frozenset[str]
    finds_inside_perimeter: int
    finds_inside_perimeter_after_fit: int
    finds: int
    median_offset_before_m: float
    median_noise_m: float
    residual_risk: bool
    omitted_rows: int

    @property
    def share_expected_found(self) -> float:
        return self.found_mines / self.expected_mines


@dataclass(frozen=True)
class SyntheticMinefield:
    record: MinefieldRecord
    finds: list[Find]
    truth: Truth
    # What accounts for every mine never found, to test that the residual-risk flag lifts.
    explain_all_missing: list[MissingExplained] = field(default_factory=list)


def _rot(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s], [s, c]])


def _row_positions(n: int, spacing: float, pattern: str, offset: float) -> np.ndarray:
    """Mine positions in a row's own frame (x along the row from its start, y left)."""
    i = np.arange(n)
    if pattern == SINGLE:
        return np.column_stack([i * spacing, np.zeros(n)])
    return np.column_stack([i * spacing / 2, (i % 2) * offset])


def synthetic_minefield(seed: int, *, shift_m: float = 12.0, rotation_deg: float = 3.0,
                        recorded_rows: int = 5, omitted_rows: int = 1,
                        noise_m: float = 0.5, noise_clip_m: float = 1.5,
                        share_never_found: float = 0.1, stray_finds: int = 8,
                        share_unknown_type: float = 0.1, perimeter_buffer_m: float = 5.0,
                        centre: tuple[float, float] = (46.932, 39.993)) -> SyntheticMinefield:
    rng = np.random.default_rng(seed)
    bearing = rng.uniform(0, 2 * math.pi)
    shift = np.array([shift_m * math.sin(bearing), shift_m * math.cos(bearing)])
    theta = math.radians(rotation_deg)

    # Rows across the field: recorded rows 10-16 m apart, the omitted ones laid beyond the
    # last recorded row, far enough to be outside the buffered perimeter.
    margin = 6.0
    rows: list[dict[str, object]] = []
    y = last = 0.0
    for r in range(recorded_rows + omitted_rows):
        if r == recorded_rows:
            y = last + margin + perimeter_buffer_m + rng.uniform(3.0, 8.0)
        staggered = r == 1
        spacing = float(rng.choice([4.0, 5.0, 6.0, 8.0])) if not staggered else 8.0
        n = int(rng.integers(8, 20))
        pattern = DOUBLE_STAGGERED if staggered else SINGLE
        local = _row_positions(n, spacing, pattern, 2.0)
        x0 = rng.uniform(-10.0, 10.0)
        # The row's end point is on its first line, level with the last mine.
        ends = np.array([[0.0, 0.0], [local[-1, 0], 0.0]])
        rows.append(dict(id=f"R{r + 1}", n=n, spacing=spacing, pattern=pattern,
                         xy=local + np.array([x0, y]), ends=ends + np.array([x0, y]),
                         type=str(rng.choice(DEVICE_TYPES)), recorded=r < recorded_rows))
        last = y + (2.0 if staggered else 0.0)
        y = last + rng.uniform(10.0, 16.0)
    recorded = [row for row in rows if row["recorded"]]
    allxy = np.vstack([row["xy"] for row in recorded])  # type: ignore[misc]
    lo, hi = allxy.min(axis=0) - margin, allxy.max(axis=0) + margin
    middle = (lo + hi) / 2
    # The record's frame: rectangle centred on the origin (its centroid is the pivot the
    # analysis reports the shift at), turned to a random field orientation.
    orient = _rot(rng.uniform(0, math.pi))
    for row in rows:
        row["xy"] = (row["xy"] - middle) @ orient.T  # type: ignore[operator]
        row["ends"] = (row["ends"] - middle) @ orient.T  # type: ignore[operator]
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    perimeter = (corners - middle) @ orient.T
    to_ground = _rot(theta)

    def ground(xy: np.ndarray) -> np.ndarray:
        result: np.ndarray = xy @ to_ground.T + shift
        return result

    drawn = Polygon(perimeter).buffer(perimeter_buffer_m)
    fitted = Polygon(ground(perimeter)).buffer(perimeter_buffer_m)
    recorded_ground = np.vstack([ground(row["xy"]) for row in recorded])  # type: ignore[arg-type]

    proj = Proj(f"+proj=aeqd +lat_0={centre[1]!r} +lon_0={centre[0]!r} +datum=WGS84 +units=m")

    def lonlat(xy: np.ndarray) -> list[tuple[float, float]]:
        lon, lat = proj(xy[:, 0], xy[:, 1], inverse=True)
        return [(float(a), float(b)) for a, b in zip(lon, lat, strict=True)]

    def noise() -> np.ndarray:
        e = rng.normal(0.0, noise_m, 2)
        length = float(np.hypot(*e))
        return e * (noise_clip_m / length) if length > noise_clip_m else e

    finds_xy: list[np.ndarray] = []
    types: list[str | None] = []
    outside_ids: set[str] = set()
    missing: dict[str, int] = {}
    before: list[float] = []
    noises: list[float] = []
    mine_rows: list[MineRow] = []
    for k, row in enumerate(rows):
        xy = row["xy"]
        assert isinstance(xy, np.ndarray)
        n = len(xy)
        never = set(rng.choice(n, size=round(share_never_found * n), replace=False).tolist())
        for i in range(n):
            if i in never:
                continue
            e = noise()
            pos = ground(xy[i][None, :])[0] + e
            if not row["recorded"] and (
                    abs(drawn.exterior.distance(Point(pos))) < EDGE_MARGIN_M
                    or abs(fitted.exterior.distance(Point(pos))) < EDGE_MARGIN_M):
                continue  # dropped: never found, as far as the truth is concerned
            finds_xy.append(pos)
            types.append(None if rng.random() < share_unknown_type else str(row["type"]))
            if row["recorded"]:
                before.append(float(np.hypot(*(pos - xy[i]))))
                noises.append(float(np.hypot(*e)))
            else:
                outside_ids.add(f"F{len(finds_xy):04d}")
        if not row["recorded"]:
            continue
        missing[str(row["id"])] = len(never)
        start, end = lonlat(row["ends"])  # type: ignore[arg-type]
        # Row 3 gives no count (from length and spacing), row 4 no spacing (from length
        # and count), so both derivations are exercised with exact answers.
        mine_rows.append(MineRow(
            str(row["id"]), start, end, None if k == 2 else n,
            None if k == 3 else float(row["spacing"]),  # type: ignore[arg-type]
            str(row["pattern"]), 2.0 if row["pattern"] != SINGLE else None, str(row["type"])))
    # Stray devices: anywhere in a box 40 m beyond the perimeter, never near a recorded mine
    # or the buffered perimeter's edge.
    box_lo, box_hi = perimeter.min(axis=0) - 40, perimeter.max(axis=0) + 40
    placed = 0
    while placed < stray_finds:
        pos = rng.uniform(box_lo, box_hi)
        if (np.hypot(*(recorded_ground - pos).T).min() < MIN_CLEARANCE_M
                or drawn.exterior.distance(Point(pos)) < EDGE_MARGIN_M
                or fitted.exterior.distance(Point(pos)) < EDGE_MARGIN_M):
            continue
        finds_xy.append(pos)
        types.append(str(rng.choice(DEVICE_TYPES)))
        outside_ids.add(f"F{len(finds_xy):04d}")
        placed += 1

    order = rng.permutation(len(finds_xy))
    coords = lonlat(np.array(finds_xy))
    day0 = date(2021, 3, 1)
    finds = [Find(coords[j][0], coords[j][1], types[j], day0 + timedelta(days=int(j // 10)),
                  f"F{j + 1:04d}") for j in order]
    inside = sum(drawn.intersects(Point(p)) for p in finds_xy)
    inside_after = sum(fitted.intersects(Point(p)) for p in finds_xy)
    expected = sum(len(row["xy"]) for row in recorded)  # type: ignore[arg-type]
    record = MinefieldRecord(f"synthetic-{seed}", lonlat(perimeter), mine_rows)
    truth = Truth(
        rotation_deg=rotation_deg, shift_east_m=float(shift[0]), shift_north_m=float(shift[1]),
        expected_mines=expected, found_mines=expected - sum(missing.values()),
        missing_per_row=missing,
        count_source={r.row_id: "from length and spacing" if r.mines is None else "recorded"
                      for r in mine_rows},
        spacing_source={r.row_id: "from length and count" if r.spacing_m is None
                        else "recorded" for r in mine_rows},
        outside_row_find_ids=frozenset(outside_ids), finds_inside_perimeter=int(inside),
        finds_inside_perimeter_after_fit=int(inside_after), finds=len(finds),
        median_offset_before_m=float(np.median(before)),
        median_noise_m=float(np.median(noises)),
        residual_risk=sum(missing.values()) > 0, omitted_rows=omitted_rows)
    explain = [MissingExplained(row_id, n, "detonated before the survey (synthetic)")
               for row_id, n in missing.items() if n]
    return SyntheticMinefield(record, finds, truth, explain)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    print("seed  shift(true/fit m)  rot(true/fit deg)  found(true/fit)  inside(true/fit)  "
          "before/after median m  ms")
    for seed in range(args.seeds):
        field_ = synthetic_minefield(seed)
        t0 = time.perf_counter()
        result = assess_record(field_.record, field_.finds)
        ms = (time.perf_counter() - t0) * 1000
        truth, fit = field_.truth, result.fit
        err = math.hypot((fit.shift_east_m or math.nan) - truth.shift_east_m,
                         (fit.shift_north_m or math.nan) - truth.shift_north_m)
        print(f"{seed:4d}  {math.hypot(truth.shift_east_m, truth.shift_north_m):5.2f}/"
              f"{fit.shift_m or math.nan:5.2f} (err {err:.3f})  "
              f"{truth.rotation_deg:4.2f}/{fit.rotation_deg or math.nan:6.3f}  "
              f"{truth.found_mines:3d}/{result.found_mines:3d}  "
              f"{truth.finds_inside_perimeter:3d}/{result.finds_inside_perimeter:3d}  "
              f"{result.median_offset_before_m or math.nan:6.2f}/"
              f"{result.median_offset_after_m or math.nan:5.2f}  {ms:6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
