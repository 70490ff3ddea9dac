"""The rules across fields (domain/rules.py): one definition, which the models and the bulk
importer both call."""

from __future__ import annotations

from datetime import date

import pytest
from shapely.geometry import LineString, Point, Polygon, box

from mineaction.domain import rules
from mineaction.domain.enums import AgeBand
from mineaction.domain.models import ENTITIES, Record
from mineaction.domain.rules import KIND_RULES, RECORD_RULES, RuleError


def test_the_models_have_no_rules_of_their_own() -> None:
    """A validator written in a model would bind forms and the API but not imports, which
    apply only domain/rules.py: every rule goes there."""
    for model in (Record, *ENTITIES.values()):
        validators = model.__pydantic_decorators__.model_validators
        assert set(validators) == {"_rules"}, model.__name__
        assert not model.__pydantic_decorators__.field_validators, model.__name__
    for kind, kind_rules in KIND_RULES.items():
        fields = ENTITIES[kind].model_fields
        for rule in (*RECORD_RULES, *kind_rules):
            assert set(rule.reads) <= set(fields), (kind, rule.name)
            assert rule.sets is None or rule.sets in fields, (kind, rule.name)


def test_age_decides_the_band() -> None:
    assert rules.age_band(17, AgeBand.unknown) == AgeBand.child
    assert rules.age_band(18, None) == AgeBand.adult
    assert rules.age_band(None, "child") == "child"
    assert rules.age_band(40, "adult") == AgeBand.adult
    with pytest.raises(RuleError) as caught:
        rules.age_band(40, "child")
    assert caught.value.field == "age_band"
    assert caught.value.message == "age 40 contradicts age_band child"


def test_dates_in_order_and_the_external_key() -> None:
    rules.dates_in_order(date(2020, 1, 1), date(2020, 1, 1))
    rules.dates_in_order(None, date(2020, 1, 1))
    with pytest.raises(RuleError, match="end_date: end_date is before start_date"):
        rules.dates_in_order(date(2020, 5, 1), date(2020, 4, 1))
    rules.external_key("V1", "aicma")
    rules.external_key(None, None)
    with pytest.raises(RuleError, match="go together"):
        rules.external_key("V1", None)


def test_area_comes_from_the_polygon_and_a_point_keeps_the_given_one() -> None:
    assert rules.area_m2(box(0, 0, 1 / 60, 1 / 60), 5.0) == pytest.approx(3_419_000, rel=0.002)
    assert rules.area_m2(Point(1, 1), 5.0) == 5.0
    assert rules.area_m2(None, None) is None


def test_geometry_problems() -> None:
    areas = ("Polygon", "MultiPolygon")
    assert rules.geometry_problem(None, areas) is None
    assert rules.geometry_problem(box(0, 0, 1, 1), areas) is None
    assert rules.geometry_problem(Point(1, 1), areas) == "expected Polygon or MultiPolygon, " \
                                                        "got Point"
    assert rules.geometry_problem(Polygon(), areas) == "geometry is empty"
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    assert (rules.geometry_problem(bowtie, areas) or "").startswith("invalid geometry: ")
    assert "outside longitude" in (rules.geometry_problem(box(500_000, 0, 500_100, 100), areas)
                                   or "")
    assert rules.geometry_problem(LineString([(0, 0), (1, 1)]), ("Point",)) is not None
