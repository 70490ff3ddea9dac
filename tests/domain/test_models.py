"""Domain model rules: the pydantic models are the single definition of every entity."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from shapely.geometry import Point, box

from mineaction.domain.columns import column, columns
from mineaction.domain.models import ENTITIES, Activity, Hazard, Source, Victim, new_ids


def test_every_entity_has_a_table_and_column_specs() -> None:
    assert set(ENTITIES) == {"admin_area", "place", "organisation", "source", "hazard",
                             "activity", "released_part", "find", "accident", "victim",
                             "risk_education", "minefield_record", "minefield_point",
                             "mine_row"}
    for model in ENTITIES.values():
        names = [c.name for c in columns(model)]
        assert names[:3] == ["id", "dataset", "external_id"]


def test_victim_age_decides_the_band_and_contradictions_are_refused() -> None:
    assert Victim(age=12).age_band == "child"
    assert Victim(age=18).age_band == "adult"
    assert Victim().age_band == "unknown"
    with pytest.raises(ValidationError, match="contradicts"):
        Victim(age=30, age_band="child")


def test_personal_fields_are_marked() -> None:
    assert Victim.personal_fields() == {"name", "date_of_birth", "contact", "address",
                                        "ethnic_group"}
    assert column(Victim, "name").personal and not column(Victim, "outcome").personal


def test_hazard_area_is_geodesic_and_types_are_checked() -> None:
    # One arc-minute square at the equator is about 1,855 m x 1,843 m.
    h = Hazard(hazard_kind="CHA", geometry=box(0, 0, 1 / 60, 1 / 60))
    assert h.area_m2 == pytest.approx(3_419_000, rel=0.002)
    assert Hazard(hazard_kind="SHA", geometry=Point(1, 1)).area_m2 is None
    with pytest.raises(ValidationError, match="coordinates outside"):
        Hazard(hazard_kind="SHA", geometry=Point(200, 1))
    with pytest.raises(ValidationError, match="hazard_kind"):
        Hazard(hazard_kind="maybe")


def test_external_key_needs_both_parts_and_sources_use_admiralty_code() -> None:
    with pytest.raises(ValidationError, match="go together"):
        Victim(external_id="V1")
    with pytest.raises(ValidationError):
        Source(source_kind="media", title="x", credibility=7)
    assert Source(source_kind="media", title="x", reliability="B", credibility=2).credibility == 2


def test_activity_end_before_start_is_refused() -> None:
    with pytest.raises(ValidationError, match="before start_date"):
        Activity(activity_kind="clearance", start_date="2020-05-01", end_date="2020-04-01")


def test_new_ids_are_random_version_4_uuids() -> None:
    import uuid

    ids = new_ids(1000)
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
