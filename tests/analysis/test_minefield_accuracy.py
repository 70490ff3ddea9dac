# SPDX-License-Identifier: GPL-3.0-or-later
"""How accurate a handed-over minefield record is (issue 18, item 3). Must show: on seeded
synthetic minefields (bench/minefield_synthetic.py) the fit recovers the shift within 1 m
and the rotation within 0.5 degrees, and each accuracy indicator equals its known value."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from mineaction.analysis.minefield_accuracy import (
    DOUBLE,
    DOUBLE_STAGGERED,
    FROM_LENGTH_AND_COUNT,
    FROM_LENGTH_AND_SPACING,
    RECORDED,
    Find,
    LocalPlane,
    MinefieldRecord,
    MineRow,
    MissingExplained,
    RecordAccuracy,
    assess_record,
)
from mineaction.analysis.minefield_layout import expected_mines, plane_for
from mineaction.analysis.point_matching import compatibility, match_one_to_one
from mineaction.analysis.rigid_fit import Rigid2D, kabsch_2d

BENCH = Path(__file__).parents[2] / "bench"
SEEDS = range(8)
CENTRE = (46.932, 39.993)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("minefield_synthetic",
                                                  BENCH / "minefield_synthetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["minefield_synthetic"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


SYNTH = _load()


@pytest.fixture(scope="module", params=SEEDS)
def case(request: pytest.FixtureRequest) -> tuple[object, RecordAccuracy]:
    field = SYNTH.synthetic_minefield(request.param)
    return field, assess_record(field.record, field.finds)


# --- the fit -----------------------------------------------------------------------------

def _fit_error(field: object, result: RecordAccuracy) -> tuple[float, float]:
    truth = field.truth  # type: ignore[attr-defined]
    fit = result.fit
    assert fit.status == "fitted"
    assert fit.shift_east_m is not None and fit.shift_north_m is not None
    assert fit.rotation_deg is not None
    return (math.hypot(fit.shift_east_m - truth.shift_east_m,
                       fit.shift_north_m - truth.shift_north_m),
            abs(fit.rotation_deg - truth.rotation_deg))


def test_fit_recovers_shift_within_1_m_and_rotation_within_half_a_degree(case) -> None:
    field, result = case
    shift_error, rotation_error = _fit_error(field, result)
    assert shift_error < 1.0
    assert rotation_error < 0.5


def test_the_fit_states_its_own_uncertainty(case) -> None:
    # The standard errors come from the residual scatter; on 200 seeds the errors divided
    # by them have a s.d. of about 1.1, so 4 of them bound every seed here.
    field, result = case
    fit, truth = result.fit, field.truth
    assert fit.rotation_se_deg is not None and 0 < fit.rotation_se_deg < 0.5
    assert fit.shift_se_m is not None and 0 < fit.shift_se_m < 0.5
    assert abs(fit.rotation_deg - truth.rotation_deg) < 4 * fit.rotation_se_deg
    assert abs(fit.shift_east_m - truth.shift_east_m) < 4 * fit.shift_se_m


@pytest.mark.parametrize(("shift", "rotation"), [(40.0, -8.0), (3.0, 15.0), (0.0, 0.0)])
def test_fit_recovers_other_errors(shift: float, rotation: float) -> None:
    field = SYNTH.synthetic_minefield(11, shift_m=shift, rotation_deg=rotation)
    shift_error, rotation_error = _fit_error(field, assess_record(field.record, field.finds))
    assert shift_error < 1.0
    assert rotation_error < 0.5


def test_outliers_and_omitted_rows_do_not_break_the_fit() -> None:
    # Two omitted rows and 60 stray devices: about half of all finds are outliers.
    field = SYNTH.synthetic_minefield(5, omitted_rows=2, stray_finds=60)
    result = assess_record(field.record, field.finds)
    assert len(result.finds_outside_rows) >= result.finds * 0.4
    shift_error, rotation_error = _fit_error(field, result)
    assert shift_error < 1.0 and rotation_error < 0.5
    assert result.found_mines == field.truth.found_mines


@pytest.mark.parametrize(("seed", "n"), [(0, 10), (1, 30), (2, 30)])
def test_finds_scattered_at_random_give_no_fit(seed: int, n: int) -> None:
    # Searching every shift and rotation always lines a few random points up with some
    # mines of a dense field; the fit must be refused, not counted as mines found.
    field = SYNTH.synthetic_minefield(seed)
    rng = np.random.default_rng(seed)
    plane = plane_for(field.record)
    lonlat = plane.to_lonlat(rng.uniform(-60, 60, (n, 2)))
    result = assess_record(field.record, [Find(float(a), float(b)) for a, b in lonlat])
    assert result.fit.status == "not better than chance"
    assert result.fit.rotation_deg is None and result.median_offset_after_m is None
    assert result.fit.chance_inliers is not None and result.fit.chance_inliers > 0
    _no_nan(result)


def test_a_real_fit_is_far_above_chance(case) -> None:
    _, result = case
    assert result.fit.chance_inliers is not None
    assert result.fit.inliers >= 4 * result.fit.chance_inliers


def test_same_seed_same_figures() -> None:
    field = SYNTH.synthetic_minefield(3)
    assert assess_record(field.record, field.finds) == assess_record(field.record, field.finds)


# --- each indicator equals its known value -----------------------------------------------

def test_indicators_equal_their_known_values(case) -> None:
    field, result = case
    truth = field.truth
    assert result.finds == truth.finds
    assert result.expected_mines == truth.expected_mines
    assert result.found_mines == truth.found_mines
    assert result.share_expected_found == pytest.approx(truth.share_expected_found)
    assert {t.row_id: t.missing for t in result.rows} == truth.missing_per_row
    assert {t.row_id: t.count_source for t in result.rows} == truth.count_source
    assert {t.row_id: t.spacing_source for t in result.rows} == truth.spacing_source
    outside = {field.finds[j].find_id for j in result.finds_outside_rows}
    assert outside == truth.outside_row_find_ids
    assert result.finds_inside_perimeter == truth.finds_inside_perimeter
    assert result.share_inside_perimeter == pytest.approx(
        truth.finds_inside_perimeter / truth.finds)
    assert result.share_inside_perimeter_after_fit == pytest.approx(
        truth.finds_inside_perimeter_after_fit / truth.finds)
    # Before the fit: the same pairs against the record as drawn, so exact to projection
    # rounding; after it: the position noise, up to the fit's own error (centimetres).
    assert result.median_offset_before_m == pytest.approx(truth.median_offset_before_m,
                                                          abs=1e-3)
    assert result.median_offset_after_m == pytest.approx(truth.median_noise_m, abs=0.1)
    assert result.residual_risk is truth.residual_risk is True
    assert result.unexplained_missing == sum(truth.missing_per_row.values())


def test_explained_missing_mines_lift_the_residual_risk_flag() -> None:
    field = SYNTH.synthetic_minefield(2)
    assert assess_record(field.record, field.finds).residual_risk
    result = assess_record(field.record, field.finds, explained=field.explain_all_missing)
    assert not result.residual_risk and result.residual_risk_reasons == ()
    assert all(t.unexplained == 0 and t.explained == t.missing for t in result.rows)
    # One mine short of an explanation keeps the flag, naming the row.
    first = field.explain_all_missing[0]
    short = [dataclasses.replace(first, mines=first.mines - 1)] if first.mines > 1 else []
    partial = assess_record(field.record, field.finds,
                            explained=short + field.explain_all_missing[1:])
    assert partial.residual_risk
    assert partial.residual_risk_reasons[0].startswith(f"row {first.row_id}: 1 of ")


# --- no finds, no rows: indicators say so ----------------------------------------------------

def _no_nan(result: RecordAccuracy) -> None:
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), f.name
    for f in dataclasses.fields(result.fit):
        value = getattr(result.fit, f.name)
        if isinstance(value, float):
            assert math.isfinite(value), f.name


def test_a_record_without_finds() -> None:
    field = SYNTH.synthetic_minefield(0)
    result = assess_record(field.record, [])
    _no_nan(result)
    assert result.finds == 0 and result.found_mines == 0
    assert result.expected_mines == field.truth.expected_mines
    assert result.share_expected_found == 0.0
    assert result.share_inside_perimeter is None
    assert result.share_inside_perimeter_after_fit is None
    assert result.median_offset_before_m is None and result.median_offset_after_m is None
    assert result.fit.status == "too few finds"
    assert result.fit.rotation_deg is None and result.fit.shift_m is None
    assert result.residual_risk
    assert all(t.missing == t.expected for t in result.rows)
    assert any(note.startswith("no finds") for note in result.notes)


def _plane_record(rows: list[MineRow], half: float = 60.0) -> MinefieldRecord:
    plane = LocalPlane(*CENTRE)
    square = np.array([[-half, -half], [half, -half], [half, half], [-half, half]])
    return MinefieldRecord("R", [tuple(p) for p in plane.to_lonlat(square).tolist()], rows)


def _ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = LocalPlane(*CENTRE).to_lonlat(np.array([[x, y]]))[0]
    return float(lon), float(lat)


def test_a_record_without_rows_checks_only_the_perimeter() -> None:
    record = _plane_record([])
    finds = [Find(*_ll(0, 0)), Find(*_ll(62, 0)), Find(*_ll(90, 0))]
    result = assess_record(record, finds, perimeter_buffer_m=5.0)
    _no_nan(result)
    assert result.expected_mines == 0 and result.share_expected_found is None
    assert result.finds_inside_perimeter == 2  # 62 m is within the 5 m buffer of 60 m
    assert result.fit.status == "no expected mines"
    assert not result.residual_risk
    assert result.finds_outside_rows == (0, 1, 2)


def test_too_few_finds_to_fit_still_matches_the_record_as_drawn() -> None:
    record = _plane_record([MineRow("A", _ll(0, 0), _ll(20, 0), None, 5.0)])
    result = assess_record(record, [Find(*_ll(5.3, 0.2))])
    _no_nan(result)
    assert result.fit.status == "too few finds"
    assert result.found_mines == 1
    assert result.median_offset_before_m == pytest.approx(math.hypot(0.3, 0.2), abs=1e-4)
    assert result.median_offset_after_m is None


# --- expected positions ------------------------------------------------------------------

def _positions(row: MineRow) -> np.ndarray:
    record = _plane_record([row])
    return expected_mines(record, LocalPlane(*CENTRE)).xy


def test_single_row_count_from_length_and_spacing() -> None:
    row = MineRow("A", _ll(0, 0), _ll(20, 0), None, 5.0)
    np.testing.assert_allclose(_positions(row), [[0, 0], [5, 0], [10, 0], [15, 0], [20, 0]],
                               atol=1e-6)
    layout = expected_mines(_plane_record([row]), LocalPlane(*CENTRE)).rows[0]
    assert (layout.count, layout.count_source) == (5, FROM_LENGTH_AND_SPACING)


def test_spacing_from_length_and_count() -> None:
    row = MineRow("A", _ll(0, 0), _ll(0, 30), 4, None)
    np.testing.assert_allclose(_positions(row), [[0, 0], [0, 10], [0, 20], [0, 30]],
                               atol=1e-6)
    layout = expected_mines(_plane_record([row]), LocalPlane(*CENTRE)).rows[0]
    assert layout.spacing_source == FROM_LENGTH_AND_COUNT
    assert layout.spacing_m == pytest.approx(10.0)


def test_recorded_count_and_spacing_are_laid_from_the_start() -> None:
    # The record says 3 mines 4 m apart: they are laid from the start, whatever the end,
    # and the result notes that they stop well short of it.
    row = MineRow("A", _ll(0, 0), _ll(50, 0), 3, 4.0)
    np.testing.assert_allclose(_positions(row), [[0, 0], [4, 0], [8, 0]], atol=1e-6)
    notes = assess_record(_plane_record([row]), []).notes
    assert "row A: its mines reach 8.0 m from the start, but the row is 50.0 m long" in notes


def test_staggered_spacing_from_length_and_count() -> None:
    row = MineRow("S", _ll(0, 0), _ll(12, 0), 4, None, DOUBLE_STAGGERED, 1.5)
    np.testing.assert_allclose(_positions(row), [[0, 0], [4, 1.5], [8, 0], [12, 1.5]],
                               atol=1e-6)
    layout = expected_mines(_plane_record([row]), LocalPlane(*CENTRE)).rows[0]
    assert layout.spacing_m == pytest.approx(8.0)


def test_double_and_staggered_patterns() -> None:
    double = MineRow("D", _ll(0, 0), _ll(10, 0), None, 5.0, DOUBLE, 2.0)
    np.testing.assert_allclose(_positions(double),
                               [[0, 0], [0, 2], [5, 0], [5, 2], [10, 0], [10, 2]], atol=1e-6)
    staggered = MineRow("S", _ll(0, 0), _ll(10, 0), 5, 5.0, DOUBLE_STAGGERED, -2.0)
    np.testing.assert_allclose(_positions(staggered),
                               [[0, 0], [2.5, -2], [5, 0], [7.5, -2], [10, 0]], atol=1e-6)


# --- matching -----------------------------------------------------------------------------

def test_device_types_must_agree_when_both_are_known() -> None:
    record = _plane_record([MineRow("A", _ll(0, 0), _ll(10, 0), 3, 5.0, device_type="PMN-2")])
    finds = [Find(*_ll(0, 0), device_type="TM-62M"), Find(*_ll(5, 0), device_type=" pmn-2 "),
             Find(*_ll(10, 0), device_type=None)]
    result = assess_record(record, finds)
    assert sorted(m.find_index for m in result.matches) == [1, 2]
    assert result.finds_outside_rows == (0,)


def test_matching_is_one_to_one() -> None:
    expected = np.array([[0.0, 0.0], [10.0, 0.0]])
    finds = np.array([[0.5, 0.0], [-0.3, 0.0], [10.2, 0.0]])
    ok = compatibility(np.array([-1, -1, -1]), np.array([-1, -1]))
    ei, fj = match_one_to_one(expected, finds, 2.0, ok)
    assert ei.tolist() == [0, 1] and fj.tolist() == [1, 2]


def test_kabsch_recovers_an_exact_transform() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(-50, 50, (20, 2))
    truth = Rigid2D(math.radians(7.5), (3.0, -4.0))
    fit = kabsch_2d(src, truth.apply(src))
    assert fit.theta == pytest.approx(truth.theta, abs=1e-12)
    assert fit.t == pytest.approx(truth.t, abs=1e-9)


# --- bad input gives clear errors --------------------------------------------------------------

@pytest.mark.parametrize(("make", "message"), [
    (lambda: MinefieldRecord("R", [(46.9, 39.9), (46.91, 39.9)]), "at least 3 distinct"),
    (lambda: MinefieldRecord("R", [(0, 0), (1, 1), (1, 0), (0, 1)]), "not a valid polygon"),
    (lambda: MinefieldRecord("R", [(39.9, 146.9), (40, 146.9), (40, 147)]), "WGS84 lon/lat"),
    (lambda: MinefieldRecord("R", [(0, 0), (0, 1), (1, 1)],
                             [MineRow("A", (0, 0), (0, 1), 2, None)] * 2), "duplicate row"),
    (lambda: MineRow("A", (0, 0), (0, 1), None, None), "neither"),
    (lambda: MineRow("A", (0, 0), (0, 1), 0, None), "mines must be"),
    (lambda: MineRow("A", (0, 0), (0, 1), 3, -5.0), "spacing_m must be > 0"),
    (lambda: MineRow("A", (0, 0), (0, 1), 3, 5.0, "triple"), "not one of"),
    (lambda: MineRow("A", (0, 0), (0, 1), 3, 5.0, DOUBLE_STAGGERED), "needs offset_m"),
    (lambda: Find(float("nan"), 0.0), "finite"),
    (lambda: MissingExplained("A", 2, " "), "reason is required"),
])
def test_bad_input_is_refused_with_a_clear_error(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_calls_are_refused_with_a_clear_error() -> None:
    record = _plane_record([MineRow("A", _ll(0, 0), _ll(10, 0), 3, 5.0)])
    with pytest.raises(ValueError, match="duplicate find ids"):
        assess_record(record, [Find(*_ll(0, 0), find_id="x"), Find(*_ll(5, 0), find_id="x")])
    with pytest.raises(ValueError, match="does not have"):
        assess_record(record, [], explained=[MissingExplained("Z", 1, "lifted")])
    with pytest.raises(ValueError, match="match_tolerance_m"):
        assess_record(record, [], match_tolerance_m=0)
    with pytest.raises(ValueError, match="min_pairs"):
        assess_record(record, [], min_pairs=1)
    with pytest.raises(ValueError, match="trim"):
        assess_record(record, [], trim=0)
    with pytest.raises(ValueError, match="swapped"):
        assess_record(record, [Find(CENTRE[1], CENTRE[0])])
    flat = _plane_record([MineRow("A", _ll(0, 0), _ll(0, 0), 3, None)])
    with pytest.raises(ValueError, match="same point"):
        assess_record(flat, [])


def test_recorded_values_are_reported_as_recorded() -> None:
    record = _plane_record([MineRow("A", _ll(0, 0), _ll(10, 0), 3, 5.0)])
    row = assess_record(record, []).rows[0]
    assert (row.count_source, row.spacing_source) == (RECORDED, RECORDED)
