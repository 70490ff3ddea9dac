# SPDX-License-Identifier: GPL-3.0-or-later
"""How accurate was a handed-over minefield record, measured against what clearance found
(issue 18, item 3)?

Officials in Azerbaijan said the minefield maps they received were about 25% accurate and
that more than half of the explosions happened outside the mapped areas
(../shared/data/azerbaijan/claims_2020-2025.csv). These indicators make such a statement
checkable, record by record:

- share of found devices inside the recorded perimeter (buffered by a stated tolerance),
  for the record as drawn and after the best-fit rigid transform;
- median offset between matched finds and their expected positions, before the fit (the
  record as drawn) and after it (what remains once the systematic error is removed);
- share of expected mines found, and per row the expected mines still missing;
- finds outside every recorded row (unrecorded mines, omitted rows);
- the best-fit shift and rotation: the record's systematic error;
- a residual-risk flag (RESIDUAL_RISK_RULE) that the caller uses to block marking the
  hazard released without an approver's reasoned override.

Pure analysis on plain inputs (minefield_layout): no store access.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from mineaction.analysis.minefield_layout import (
    DOUBLE,
    DOUBLE_STAGGERED,
    FROM_LENGTH_AND_COUNT,
    FROM_LENGTH_AND_SPACING,
    MAX_EXTENT_M,
    PATTERNS,
    RECORDED,
    SINGLE,
    Find,
    LocalPlane,
    LonLat,
    MinefieldRecord,
    MineRow,
    RowLayout,
    expected_mines,
    normalise_device_type,
    plane_for,
)
from mineaction.analysis.point_matching import compatibility, match_one_to_one, type_codes
from mineaction.analysis.rigid_fit import IDENTITY, Rigid2D, ransac_rigid, trimmed_icp

__all__ = [
    "DOUBLE", "DOUBLE_STAGGERED", "FROM_LENGTH_AND_COUNT", "FROM_LENGTH_AND_SPACING",
    "PATTERNS", "RECORDED", "RESIDUAL_RISK_RULE", "SINGLE", "Find", "FindMatch",
    "LocalPlane", "MineRow", "MinefieldRecord", "MissingExplained", "RecordAccuracy",
    "RecordFit", "RowLayout", "RowTally", "assess_record",
]

RESIDUAL_RISK_RULE = (
    "A record carries residual risk when any of its rows has expected mines that were "
    "neither matched to a find (one to one, same device type when both are known, within "
    "the match tolerance of the record after the best-fit shift and rotation) nor "
    "explained by a stated reason (removed or detonated before the survey, lifted by the "
    "party that laid them, ...). Unexplained missing mines may still be in the ground, so "
    "the hazard must not be marked released without an approver's reasoned override."
)

FITTED = "fitted"
TOO_FEW_FINDS = "too few finds"
NO_CONSISTENT_FIT = "no consistent fit"
NO_EXPECTED_MINES = "no expected mines"
NOT_BETTER_THAN_CHANCE = "not better than chance"
# A fit must explain at least this many times as many finds as the best fit to the finds
# scattered at random. The best of a few random scatters is itself a noisy estimate of
# chance (on 200 synthetic fields the real fit was 5 to 16 times it, median 9.6; random
# finds about once), so a margin keeps a lucky scatter from passing for a fit.
CHANCE_FACTOR = 2.0


@dataclass(frozen=True)
class MissingExplained:
    """Some of a row's mines accounted for without being found, and why."""

    row_id: str
    mines: int
    reason: str

    def __post_init__(self) -> None:
        if isinstance(self.mines, bool) or not isinstance(self.mines, int) or self.mines < 1:
            raise ValueError(f"explanation for row {self.row_id}: mines must be a whole "
                             f"number >= 1, got {self.mines!r}")
        if not self.reason or not self.reason.strip():
            raise ValueError(f"explanation for row {self.row_id}: a reason is required")


@dataclass(frozen=True)
class RecordFit:
    """The record's systematic error: the rigid transform taking the record onto the
    ground, as a rotation about `pivot` (the perimeter's centroid) then a shift.

    rotation_deg is anticlockwise seen from above (north up) against true north at the
    pivot; shift_east_m/shift_north_m move the pivot. None where status is not "fitted".
    """

    status: str
    pivot: LonLat
    rotation_deg: float | None
    shift_east_m: float | None
    shift_north_m: float | None
    inliers: int
    rms_m: float | None
    # Standard errors from the matched pairs' scatter (least squares, isotropic noise):
    # what a report can print as "3.1 +/- 0.1 degrees"; None unless fitted.
    rotation_se_deg: float | None = None
    shift_se_m: float | None = None
    # The most finds the same search explained with the finds scattered at random; a fit
    # is only reported when it explains CHANCE_FACTOR times more (None when not tested).
    chance_inliers: int | None = None

    @property
    def shift_m(self) -> float | None:
        if self.shift_east_m is None or self.shift_north_m is None:
            return None
        return math.hypot(self.shift_east_m, self.shift_north_m)


@dataclass(frozen=True)
class RowTally:
    """Per row: expected mines, found (matched) ones, and the rest."""

    row_id: str
    expected: int
    found: int
    missing: int
    explained: int
    unexplained: int
    count_source: str
    spacing_m: float
    spacing_source: str


@dataclass(frozen=True)
class FindMatch:
    """A find matched to an expected mine, with its offsets from that mine's position."""

    find_index: int
    find_id: str | None
    row_id: str
    position_in_row: int
    offset_before_m: float
    offset_after_m: float


@dataclass(frozen=True)
class RecordAccuracy:
    """Accuracy indicators of one record. Shares and medians are None when there is
    nothing to take them over (no finds, no expected mines, no match): never NaN."""

    record_id: str
    finds: int
    expected_mines: int
    found_mines: int
    share_expected_found: float | None
    perimeter_buffer_m: float
    match_tolerance_m: float
    finds_inside_perimeter: int
    share_inside_perimeter: float | None
    share_inside_perimeter_after_fit: float | None
    median_offset_before_m: float | None
    median_offset_after_m: float | None
    finds_outside_rows: tuple[int, ...]
    rows: tuple[RowTally, ...]
    fit: RecordFit
    matches: tuple[FindMatch, ...]
    residual_risk: bool
    residual_risk_reasons: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def unexplained_missing(self) -> int:
        return sum(row.unexplained for row in self.rows)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: np.ndarray) -> float | None:
    return float(np.median(values)) if len(values) else None


def _check_parameters(perimeter_buffer_m: float, match_tolerance_m: float,
                      max_rotation_deg: float, trim: float, min_pairs: int,
                      chance_trials: int) -> None:
    if not 0 < trim <= 1:
        raise ValueError(f"trim must be within (0, 1], got {trim}")
    if min_pairs < 2:
        raise ValueError(f"min_pairs must be >= 2 (two pairs fix a rigid fit), got {min_pairs}")
    if chance_trials < 0:
        raise ValueError(f"chance_trials must be >= 0, got {chance_trials}")
    if not (math.isfinite(perimeter_buffer_m) and perimeter_buffer_m >= 0):
        raise ValueError(f"perimeter_buffer_m must be >= 0, got {perimeter_buffer_m}")
    if not (math.isfinite(match_tolerance_m) and match_tolerance_m > 0):
        raise ValueError(f"match_tolerance_m must be > 0, got {match_tolerance_m}")
    if not (math.isfinite(max_rotation_deg) and 0 <= max_rotation_deg <= 180):
        raise ValueError(f"max_rotation_deg must be within 0..180, got {max_rotation_deg}")


def _check_extent(record_id: str, what: str, xy: np.ndarray) -> None:
    if len(xy) == 0:
        return
    far = np.hypot(xy[:, 0], xy[:, 1]) > MAX_EXTENT_M
    if far.any():
        first = int(np.flatnonzero(far)[0])
        raise ValueError(f"record {record_id}: {what} {first} lies more than "
                         f"{MAX_EXTENT_M / 1000:.0f} km from the record's centre; swapped "
                         "lon/lat, or a point of another hazard?")


def _explained_by_row(record: MinefieldRecord,
                      explained: Sequence[MissingExplained]) -> dict[str, int]:
    known = {row.row_id for row in record.rows}
    totals: dict[str, int] = {}
    for item in explained:
        if item.row_id not in known:
            raise ValueError(f"record {record.record_id}: an explanation names row "
                             f"{item.row_id!r}, which the record does not have")
        totals[item.row_id] = totals.get(item.row_id, 0) + item.mines
    return totals


def _chance_inliers(src: np.ndarray, dst: np.ndarray, compatible: np.ndarray,
                    tolerance: float, max_rotation: float, rng: np.random.Generator,
                    trials: int, anchors: int) -> int:
    """The most finds the same search (as many anchor pairs as the real one tried)
    explains when the finds are scattered at random over their own extent, each keeping
    its device type: what searching over shifts and rotations wins by chance alone.
    Without this test, ten random finds over a dense field "fit" four or five mines at some
    shift and turn, and those would be counted as found."""
    lo, hi = dst.min(axis=0) - tolerance, dst.max(axis=0) + tolerance
    best = 0
    for _ in range(trials):
        scattered = rng.uniform(lo, hi, dst.shape)
        found = ransac_rigid(src, scattered, compatible, tolerance, max_rotation, rng,
                             min_anchors=anchors, max_anchors=anchors)
        best = max(best, found[1] if found else 0)
    return best


def _fit(src: np.ndarray, dst: np.ndarray, compatible: np.ndarray, tolerance: float,
         max_rotation_deg: float, trim: float, min_pairs: int, chance_trials: int,
         seed: int) -> tuple[str, Rigid2D, int | None]:
    """Status, transform and the chance level its inliers had to beat."""
    if len(src) == 0:
        return NO_EXPECTED_MINES, IDENTITY, None
    if len(dst) < min_pairs:
        return TOO_FEW_FINDS, IDENTITY, None
    rng = np.random.default_rng(seed)
    max_rotation = math.radians(max_rotation_deg)
    found = ransac_rigid(src, dst, compatible, tolerance, max_rotation, rng)
    if found is None:
        return NO_CONSISTENT_FIT, IDENTITY, None
    chance = _chance_inliers(src, dst, compatible, tolerance, max_rotation, rng,
                             chance_trials, found[2]) if chance_trials else None
    if chance is not None and found[1] < CHANCE_FACTOR * max(chance, 1):
        return NOT_BETTER_THAN_CHANCE, IDENTITY, chance
    refined = trimmed_icp(src, dst, compatible, tolerance, found[0], trim=trim,
                          min_pairs=min_pairs)
    if refined is None:
        return NO_CONSISTENT_FIT, IDENTITY, chance
    return FITTED, refined[0], chance


def _record_fit(status: str, transform: Rigid2D, pivot: LonLat, matched_src: np.ndarray,
                residuals: np.ndarray, chance: int | None) -> RecordFit:
    if status != FITTED:
        return RecordFit(status, pivot, None, None, None, 0, None, chance_inliers=chance)
    n = len(residuals)
    rms = float(np.sqrt(np.mean(residuals**2)))
    rotation_se = shift_se = None
    if n > 2:
        # Per-axis noise variance with 3 parameters fitted from 2n coordinates; the
        # rotation's variance is that over the matched mines' spread about their centroid,
        # and the pivot's shift adds the rotation's error times the lever arm to the pivot.
        sigma2 = float(np.sum(residuals**2)) / (2 * n - 3)
        centroid = matched_src.mean(axis=0)
        spread = float(np.sum((matched_src - centroid) ** 2))
        var_theta = sigma2 / spread if spread > 0 else math.inf
        rotation_se = math.degrees(math.sqrt(var_theta))
        shift_se = math.sqrt(sigma2 / n + float(np.sum(centroid**2)) * var_theta)
        if not (math.isfinite(rotation_se) and math.isfinite(shift_se)):
            rotation_se = shift_se = None
    return RecordFit(status, pivot, math.degrees(transform.theta), transform.t[0],
                     transform.t[1], n, rms, rotation_se, shift_se, chance)


def assess_record(record: MinefieldRecord, finds: Sequence[Find], *,
                  explained: Sequence[MissingExplained] = (),
                  perimeter_buffer_m: float = 5.0, match_tolerance_m: float = 2.0,
                  max_rotation_deg: float = 45.0, trim: float = 0.95, min_pairs: int = 3,
                  chance_trials: int = 5, seed: int = 0) -> RecordAccuracy:
    """Accuracy indicators of `record` against the devices clearance found.

    perimeter_buffer_m: a find this close outside the recorded perimeter still counts as
    inside (drawing and GPS error). match_tolerance_m: furthest a find may be from an
    expected mine (after the fit) to be that mine. max_rotation_deg: largest rotation the
    fit tries. trim: share of matched pairs the least-squares step keeps (the tolerance
    already drops gross outliers; trimming drops the few finds matched to a neighbouring
    mine; on the synthetic fields 0.95 gave a rotation error of 0.12 degrees s.d. against
    0.13 for 0.9). min_pairs: fewest
    matched pairs for a fit to be reported. chance_trials: random scatters of the finds
    whose best fit the real one must beat CHANCE_FACTOR times (0: no test). seed: the
    fit's random sampling, so a rerun gives the same figures.
    """
    _check_parameters(perimeter_buffer_m, match_tolerance_m, max_rotation_deg, trim,
                      min_pairs, chance_trials)
    finds = list(finds)
    ids = [f.find_id for f in finds if f.find_id is not None]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"record {record.record_id}: duplicate find ids {duplicates}")
    explained_rows = _explained_by_row(record, explained)

    plane = plane_for(record)
    perimeter_xy = plane.to_xy(record.perimeter)
    _check_extent(record.record_id, "perimeter vertex", perimeter_xy)
    polygon = Polygon(perimeter_xy)
    centre = np.array([polygon.centroid.x, polygon.centroid.y])
    pivot_lonlat = plane.to_lonlat(centre[None, :])[0]
    expected = expected_mines(record, plane)
    _check_extent(record.record_id, "expected mine", expected.xy)
    find_xy = plane.to_xy([(f.lon, f.lat) for f in finds]) if finds else np.zeros((0, 2))
    _check_extent(record.record_id, "find", find_xy)

    # Everything relative to the pivot, so the shift is the pivot's and the rotation turns
    # the field about its own centre rather than about the plane's origin.
    src = expected.xy - centre
    dst = find_xy - centre
    vocabulary: dict[str, int] = {}
    compatible = compatibility(
        type_codes([normalise_device_type(f.device_type) for f in finds], vocabulary),
        type_codes(expected.device_type, vocabulary))

    status, transform, chance = _fit(src, dst, compatible, match_tolerance_m,
                                     max_rotation_deg, trim, min_pairs, chance_trials, seed)
    ei, fj = match_one_to_one(transform.apply(src), dst, match_tolerance_m, compatible)
    before = np.hypot(*(src[ei] - dst[fj]).T) if len(ei) else np.zeros(0)
    after = np.hypot(*(transform.apply(src[ei]) - dst[fj]).T) if len(ei) else np.zeros(0)

    zone = polygon.buffer(perimeter_buffer_m)
    inside = shapely.intersects_xy(zone, find_xy[:, 0], find_xy[:, 1]) if finds else []
    inside_after = 0
    if finds and status == FITTED:
        moved = Polygon(transform.apply(perimeter_xy - centre) + centre)
        inside_after = int(np.sum(shapely.intersects_xy(moved.buffer(perimeter_buffer_m),
                                                        find_xy[:, 0], find_xy[:, 1])))
    n_inside = int(np.sum(inside))

    found_per_row = np.bincount(expected.row_index[ei], minlength=len(record.rows))
    tallies: list[RowTally] = []
    for r, layout in enumerate(expected.rows):
        found = int(found_per_row[r])
        missing = layout.count - found
        explained_n = min(missing, explained_rows.get(layout.row_id, 0))
        tallies.append(RowTally(layout.row_id, layout.count, found, missing, explained_n,
                                missing - explained_n, layout.count_source,
                                layout.spacing_m, layout.spacing_source))

    matched_finds = set(fj.tolist())
    outside_rows = tuple(j for j in range(len(finds)) if j not in matched_finds)
    matches = tuple(
        FindMatch(int(j), finds[int(j)].find_id, expected.rows[int(expected.row_index[i])].row_id,
                  int(expected.position_in_row[i]), float(b), float(a))
        for i, j, b, a in zip(ei, fj, before, after, strict=True))

    reasons = tuple(f"row {t.row_id}: {t.unexplained} of {t.expected} expected mines neither "
                    "found nor explained" for t in tallies if t.unexplained > 0)
    notes: list[str] = []
    if not finds:
        notes.append("no finds: nothing to measure the record against; every expected "
                     "mine is still missing")
    if not record.rows:
        notes.append("the record has no mine rows: only the perimeter can be checked")
    if status != FITTED:
        notes.append(f"no best-fit transform ({status}); matches use the record as drawn")
    for layout in expected.rows:
        # A recorded count and spacing that overrun the row, or stop well short of its end,
        # usually mean one of the three was misread: say so beside the figures.
        if abs(layout.laid_length_m - layout.length_m) > max(layout.spacing_m, 1.0):
            notes.append(f"row {layout.row_id}: its mines reach {layout.laid_length_m:.1f} m "
                         f"from the start, but the row is {layout.length_m:.1f} m long")
    for t in tallies:
        if t.count_source != RECORDED:
            notes.append(f"row {t.row_id}: number of mines {t.count_source}")
        if t.spacing_source != RECORDED:
            notes.append(f"row {t.row_id}: spacing {t.spacing_source}")

    fit = _record_fit(status, transform, (float(pivot_lonlat[0]), float(pivot_lonlat[1])),
                      src[ei], after, chance)

    return RecordAccuracy(
        record_id=record.record_id, finds=len(finds), expected_mines=len(src),
        found_mines=len(ei), share_expected_found=_share(len(ei), len(src)),
        perimeter_buffer_m=perimeter_buffer_m, match_tolerance_m=match_tolerance_m,
        finds_inside_perimeter=n_inside, share_inside_perimeter=_share(n_inside, len(finds)),
        share_inside_perimeter_after_fit=(_share(inside_after, len(finds))
                                          if status == FITTED else None),
        median_offset_before_m=_median(before),
        median_offset_after_m=_median(after) if status == FITTED else None,
        finds_outside_rows=outside_rows, rows=tuple(tallies), fit=fit, matches=matches,
        residual_risk=bool(reasons), residual_risk_reasons=reasons, notes=tuple(notes))
