"""Priorities among hazards (issue 20, analysis/priorities.py): PROMETHEE II against a
published worked example, the weighted sum by hand, what the sensitivity analysis
reports, and a cost criterion lowering a hazard's rank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mineaction.analysis import priorities as pr


def test_promethee_ii_net_flows_equal_the_published_worked_example() -> None:
    """Zhao, H., Peng, Y. & Li, W. (2013). Revised PROMETHEE II for improving efficiency
    in emergency response. Procedia Computer Science 17, 181-188 (ITQM 2013),
    doi:10.1016/j.procs.2013.05.025: the worked example of PROMETHEE II with three
    alternatives A1..A3 on three benefit criteria, evaluations
    A1 = (4, 3, 2), A2 = (3, 2, 4), A3 = (5, 1, 3), weights (0.5, 0.3, 0.2) and the
    usual preference function, whose net flows are phi(A1) = 0.1, phi(A2) = -0.3,
    phi(A3) = 0.2 (ranking A3 > A1 > A2). pymcdm's own test suite checks its
    PROMETHEE_II against the same example (pymcdm tests/test_methods.py,
    TestPROMETHEE_II).

    By hand: pi(A1,A2) = 0.5 + 0.3 = 0.8, pi(A2,A1) = 0.2, pi(A1,A3) = 0.3,
    pi(A3,A1) = 0.5 + 0.2 = 0.7, pi(A2,A3) = 0.3 + 0.2 = 0.5, pi(A3,A2) = 0.5; with
    phi = (sum out - sum in) / (n - 1): A1 (1.1 - 0.9) / 2 = 0.1, A2 (0.7 - 1.3) / 2 =
    -0.3, A3 (1.2 - 0.8) / 2 = 0.2."""
    flows = pr.promethee_ii([[4, 3, 2], [3, 2, 4], [5, 1, 3]], [0.5, 0.3, 0.2],
                            [1, 1, 1], preference="usual")
    assert [round(float(f), 3) for f in flows] == [0.100, -0.300, 0.200]
    assert pr.ranks(flows) == [2, 3, 1]


def test_weighted_sum_is_the_sum_of_weighted_min_max_scores_by_hand() -> None:
    matrix = [[10.0, 200.0], [20.0, 100.0], [15.0, 150.0]]
    # criterion 1 benefit: (x - 10) / 10 -> 0, 1, 0.5; criterion 2 cost: (200 - x) / 100
    # -> 0, 1, 0.5; weights 0.6 and 0.4.
    scores = pr.weighted_sum(matrix, [0.6, 0.4], [1, -1])
    assert scores == pytest.approx([0.0, 1.0, 0.5])
    scores = pr.weighted_sum([[10.0, 100.0], [20.0, 200.0], [15.0, 150.0]], [0.6, 0.4],
                             [1, -1])
    assert scores == pytest.approx([0.4, 0.6, 0.5])


def _hazards() -> list[dict[str, float | None]]:
    # A: many accidents, large; B: blocks much, small; C: quiet, mid-sized.
    return [
        {"accidents_5km": 6, "casualties_5km": 9, "blocked_kinds": 1, "beneficiaries": 500,
         "area_m2": 90_000, "team_days": 900},
        {"accidents_5km": 1, "casualties_5km": 1, "blocked_kinds": 4, "beneficiaries": 100,
         "area_m2": 5_000, "team_days": 50},
        {"accidents_5km": 0, "casualties_5km": 0, "blocked_kinds": 0, "beneficiaries": 50,
         "area_m2": 40_000, "team_days": 400},
    ]


def test_criterion_values_are_mean_of_rescaled_indicators() -> None:
    matrix, used = pr.criterion_matrix(_hazards())
    assert used == ["casualties", "blockages", "population", "cost"]
    cas = used.index("casualties")
    assert matrix[:, cas] == pytest.approx([1.0, (1 / 6 + 1 / 9) / 2, 0.0])
    # cost: larger area, more cost (the criterion's own direction)
    assert matrix[:, used.index("cost")] == pytest.approx([1.0, 0.0, 35 / 85])


def test_a_cost_criterion_lowers_rank() -> None:
    rows = _hazards()
    without = pr.rank(rows, pr.weights_from(None, {"casualties": 1.0}), "weighted-sum")
    assert without.ranks[0] == 1
    with_cost = pr.rank(rows, pr.weights_from(None, {"casualties": 1.0, "cost": 2.0}),
                        "weighted-sum")
    assert with_cost.ranks[0] > without.ranks[0]  # the large hazard falls
    pro = pr.rank(rows, pr.weights_from(None, {"casualties": 1.0, "cost": 2.0}), "promethee")
    assert pro.ranks[0] == 3


def test_presets_and_overrides_sum_to_one() -> None:
    for name in pr.PRESETS:
        assert sum(pr.weights_from(name).values()) == pytest.approx(1.0)
    w = pr.weights_from("equal", {"cost": 0.0})
    assert w["cost"] == 0.0 and w["casualties"] == pytest.approx(0.2)
    with pytest.raises(pr.PriorityError, match="no criterion"):
        pr.weights_from("equal", {"speed": 1.0})
    with pytest.raises(pr.PriorityError, match="add up to 0"):
        pr.weights_from(None, {})


def test_sensitivity_reports_rank_changes_and_kendall_tau() -> None:
    rows = _hazards()
    # Casualties and blockages balanced: A (accidents) leads B (blockages) by a little,
    # so less weight on casualties, or more on blockages, swaps them.
    ranking = pr.rank(rows, pr.weights_from(None, {"casualties": 0.5, "blockages": 0.5}),
                      "weighted-sum")
    assert ranking.ranks == [1, 2, 3]
    result = {r["criterion"]: r for r in pr.sensitivity(ranking)}
    assert set(result) == {"casualties", "blockages"}
    cas = result["casualties"]
    assert cas["minus"]["weight"] == pytest.approx(0.4 / 0.9)
    assert cas["minus"]["ranks"] == [2, 1, 3]
    assert cas["minus"]["max_rank_change"] == 1
    assert cas["minus"]["kendall_tau"] == pytest.approx(1 / 3)  # 2 pairs kept, 1 swapped
    assert cas["plus"]["max_rank_change"] == 0 and cas["plus"]["kendall_tau"] == 1.0
    assert cas["max_rank_change"] == 1 and cas["kendall_tau"] == pytest.approx(1 / 3)
    blk = result["blockages"]
    assert blk["plus"]["ranks"] == [2, 1, 3] and blk["minus"]["ranks"] == [1, 2, 3]


def test_a_stable_ranking_does_not_move() -> None:
    rows = _hazards()
    ranking = pr.rank(rows, pr.weights_from("humanitarian"), "promethee")
    for r in pr.sensitivity(ranking):
        assert r["max_rank_change"] == 0 and r["kendall_tau"] == 1.0


def test_every_criterion_has_two_to_five_documented_indicators() -> None:
    for c in pr.registry():
        assert 2 <= len(c["indicators"]) <= 5, c["name"]
        for i in c["indicators"]:
            assert i["direction"] in ("benefit", "cost")
            assert i["meaning"] and i["unit"] and i["how"]
    assert set(pr.PRESETS["humanitarian"]) == set(pr.CRITERION)


def test_the_guide_documents_every_criterion_indicator_and_preset() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "priorities.md").read_text()
    for c in pr.CRITERIA:
        assert f"### {c.name} ({c.direction})" in text
        for i in c.indicators:
            assert f"| `{i.name}` | {i.meaning} | {i.direction} | {i.unit} | {i.how} |" \
                in text, i.name
    for name in pr.PRESETS:
        assert f"| {name} |" in text


def test_missing_indicators_leave_their_criterion_out() -> None:
    ranking = pr.rank([{"area_m2": 1.0}, {"area_m2": 2.0}], pr.weights_from("equal"))
    assert ranking.used == ["cost"]
    assert "risk" in ranking.missing
    assert ranking.ranks == [1, 2]
    assert np.isfinite(ranking.scores).all()


def test_a_layer_uploaded_from_the_web_is_geojson_or_csv_and_named_by_its_file() -> None:
    """The web form's layers: GeoJSON and CSV read in Python, under the uploaded file's
    name; anything else, or a file that is not what it says, refused naming the file."""
    import json

    from mineaction.services.errors import Invalid
    from mineaction.services.priorities import layer_from_upload

    geojson = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"Population": 40},
         "geometry": {"type": "Point", "coordinates": [-75.0, 6.0]}}]}).encode()
    layer = layer_from_upload("settlements", "../../etc/villages.geojson", geojson)
    assert layer.source == "villages.geojson"
    assert layer.features[0][1] == {"population": 40}
    layer = layer_from_upload("reconstruction", "plans.csv",
                              b"name,lon,lat\nschool,-75.1,6.1\n")
    assert (layer.source, layer.features[0][0].x) == ("plans.csv", -75.1)
    for name, data, words in (("plans.gpkg", b"SQLite format 3\0", "not GeoJSON"),
                              ("plans.geojson", b"\xff\xfe{", "plans.geojson is not JSON"),
                              ("plans.json", b"[1, 2]", "FeatureCollection"),
                              ("plans.csv", b"name,lon,lat\nschool,east,6\n", "row 2")):
        with pytest.raises(Invalid, match=words):
            layer_from_upload("reconstruction", name, data)
    with pytest.raises(Invalid, match="name it settlements"):
        layer_from_upload("roads", "roads.geojson", geojson)
