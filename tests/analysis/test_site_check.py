"""Site checks (issue 20): what the record says about a place, on both stores, for the
roles that may ask, measured against figures computed here independently (pyproj's
geodesic areas and distances on the boxes and points placed below)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from mineaction.access.roles import PUBLIC, Policy, Principal, Role
from mineaction.domain.models import (
    Accident,
    Activity,
    Find,
    Hazard,
    MinefieldRecord,
    Organisation,
    ReleasedPart,
)
from mineaction.services.errors import Invalid
from mineaction.services.reconcile import Reconciliation
from mineaction.services.site_check import SiteChecks
from mineaction.store import open_store

GEOD = Geod(ellps="WGS84")
LON, LAT = -75.0, 6.0
SITE = box(LON, LAT, LON + 0.001, LAT + 0.001)  # about 110 m x 110 m
ADMIN = Principal(username="admin", role=Role.admin)
_N = iter(range(1_000_000))


def _key(status: str = "approved", dataset: str = "test") -> dict[str, str]:
    return {"status": status, "dataset": dataset, "external_id": f"r{next(_N)}"}


def _area(geom: object) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def _east(metres: float, lon: float = LON + 0.0005, lat: float = LAT + 0.0005) -> Point:
    """A point `metres` due east of the site's centre, on the ellipsoid."""
    x, y, _ = GEOD.fwd(lon, lat, 90.0, metres)
    return Point(x, y)


@pytest.fixture
def world(store_location: str):  # type: ignore[no-untyped-def]
    store = open_store(store_location)
    org = store.add(Organisation(name="Clearance NGO", organisation_kind="ngo", **_key()))
    # A hazard over the site's east 40%, one 300 m away, one 5 km away (out of reach).
    on = store.add(Hazard(name="H-on", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON + 0.0006, LAT, LON + 0.002, LAT + 0.001),
                          **_key()))
    near = _east(300.0 + 55.3)  # the site's east edge is ~55 m east of its centre
    store.add(Hazard(name="H-near", hazard_kind="SHA", hazard_status="open",
                     geometry=near.buffer(0.0002), **_key()))
    store.add(Hazard(name="H-far", hazard_kind="SHA", hazard_status="open",
                     geometry=_east(5000.0).buffer(0.0002), **_key()))
    # Land released over the site: cleared over the west half, cancelled over the west 80%
    # (the cleared part counts as cleared once, the rest as cancelled).
    act = store.add(Activity(name="clearance", activity_kind="clearance",
                             activity_status="completed", hazard_id=on.id,
                             organisation_id=org.id, **_key()))
    store.add(ReleasedPart(activity_id=act.id, method="cleared", release_date=date(2023, 5, 1),
                           geometry=box(LON - 0.001, LAT, LON + 0.0005, LAT + 0.001),
                           **_key()))
    store.add(ReleasedPart(activity_id=act.id, method="cancelled",
                           release_date=date(2021, 2, 1),
                           geometry=box(LON - 0.001, LAT, LON + 0.0008, LAT + 0.001),
                           **_key()))
    # Accidents: 1 km and 1.5 km away approved, the second reported twice (linked);
    # 3 km away (out of the 2 km reach); 400 m away not yet approved.
    a1 = store.add(Accident(accident_date=date(2014, 3, 2), geometry=_east(1000.0),
                            accident_kind="mine", **_key()))
    a2 = store.add(Accident(accident_date=date(2012, 1, 1), geometry=_east(1500.0),
                            accident_kind="mine", **_key()))
    a2b = store.add(Accident(accident_date=date(2012, 1, 1), geometry=_east(1490.0),
                             accident_kind="mine", **_key(dataset="press")))
    store.add(Accident(accident_date=date(2019, 1, 1), geometry=_east(3000.0),
                       accident_kind="mine", **_key()))
    draft = store.add(Accident(accident_date=date(2020, 6, 1), geometry=_east(400.0),
                               accident_kind="mine", **_key(status="draft")))
    store.add(Find(device_category="ap_mine", find_date=date(2023, 4, 1), quantity=1,
                   geometry=_east(200.0), **_key()))
    mf = store.add(MinefieldRecord(name="MF-1", date_recorded=date(1994, 1, 1),
                                   geometry=box(LON + 0.0006, LAT, LON + 0.0015, LAT + 0.0005),
                                   **_key()))
    Reconciliation(store, Policy()).merge(ADMIN, "accident", str(a2.id), str(a2b.id))
    yield store, {"on": on, "a1": a1, "draft": draft, "mf": mf, "org": org}
    store.close()


def test_a_plot_gets_its_hazards_release_shares_and_nearby_events(world) -> None:  # type: ignore[no-untyped-def]
    store, rec = world
    report = SiteChecks(store).check(ADMIN, SITE, buffer_m=500, nearby_m=2000)
    names = [(h.label, h.distance_m) for h in report.hazards]
    assert [n for n, _ in names] == ["H-on", "H-near"]  # H-far is 5 km out
    assert names[0][1] == 0.0
    assert names[1][1] == pytest.approx(300.0 - 0.0002 * 110_500, abs=3.0)
    expected_on = _area(SITE.intersection(box(LON + 0.0006, LAT, LON + 0.002, LAT + 0.001)))
    assert report.hazards[0].share_of_site == pytest.approx(expected_on / _area(SITE), abs=1e-3)
    cleared = _area(SITE.intersection(box(LON - 0.001, LAT, LON + 0.0005, LAT + 0.001)))
    cancelled = _area(SITE.intersection(box(LON + 0.0005, LAT, LON + 0.0008, LAT + 0.001)))
    assert report.released_share["cleared"] == pytest.approx(cleared / _area(SITE), abs=1e-3)
    assert report.released_share["cancelled"] == pytest.approx(cancelled / _area(SITE),
                                                                abs=1e-3)
    assert report.released[0].by == "Clearance NGO"
    # the draft at 400 m counts for the admin; the linked pair counts once; 3 km is out
    assert report.accidents is not None
    assert report.accidents.count == 3
    assert report.accidents.latest == "2020-06-01"
    assert report.finds is not None and report.finds.count == 1
    assert [m.label for m in report.minefield_records] == ["MF-1"]
    text = " ".join(report.findings)
    assert "The site lies in recorded hazard H-on (CHA, open): 40% of the site." in text
    assert "50% of the site lies in land cleared in 2023 by Clearance NGO." in text
    assert "30% of the site lies in land cancelled by non-technical survey in 2021" in text
    assert "3 accidents within 2.0 km, the last in 2020" in text
    assert "safe" not in text.lower()
    assert str(rec["mf"].id) in report.records_used["minefield_record"]


def test_the_public_reads_approved_records_without_minefield_records(world) -> None:  # type: ignore[no-untyped-def]
    store, rec = world
    report = SiteChecks(store).check(PUBLIC, SITE, buffer_m=500, nearby_m=2000)
    assert report.minefield_records == []
    assert report.accidents is not None
    assert str(rec["draft"].id) not in report.records_used["accident"]
    # Distances from the generalised points only: rounded to 0.1 degree, every accident
    # sits at (-75.0, 6.0), the site's corner, the one 3 km away included; the draft
    # stays unseen and the linked pair counts once.
    assert report.accidents.count == 3
    assert report.accidents.latest == "2019-01-01"
    assert report.accidents.nearest_m == pytest.approx(0.0, abs=1.0)
    assert any("rounded to 0.1°" in line for line in report.findings)


def test_a_road_gets_the_share_of_its_length(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    road = LineString([(LON - 0.002, LAT + 0.0005), (LON + 0.0003, LAT + 0.0005)])
    report = SiteChecks(store).check(ADMIN, road, buffer_m=100, nearby_m=500)
    share = report.released_share["cleared"]
    inside = GEOD.geometry_length(road.intersection(box(LON - 0.001, LAT, LON + 0.0005,
                                                        LAT + 0.001)))
    assert share == pytest.approx(inside / GEOD.geometry_length(road), abs=1e-3)


def test_nothing_recorded_is_said_as_such_never_as_safe(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    far = Point(-70.0, 2.0)
    report = SiteChecks(store).check(ADMIN, far, buffer_m=500, nearby_m=2000)
    assert report.findings[:3] == ["No recorded hazard within 500 m.",
                                   "No accident recorded within 2.0 km.",
                                   "No find recorded within 2.0 km."]
    assert "not a statement that the land is free" in report.caveat


@pytest.mark.parametrize("geometry, field", [
    ({"type": "Point", "coordinates": [6.0, -275.0]}, "geometry"),
    ({"type": "Pointy"}, "geometry"),
    (box(-76, 5, -74, 7), "geometry"),  # about 49,000 km2: a region, not a site
])
def test_bad_sites_are_refused_with_the_field_named(world, geometry, field) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    with pytest.raises(Invalid) as err:
        SiteChecks(store).check(ADMIN, geometry)
    assert err.value.field_errors[0].field == field


def test_batch_checks_every_site_and_reports_bad_ones_without_stopping(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    seen: list[int] = []
    out = list(SiteChecks(store).batch(ADMIN, [("a", SITE), ("b", {"type": "Nope"}),
                                              ("c", Point(-70.0, 2.0))],
                                       progress=seen.append))
    assert [i for i, _ in out] == ["a", "b", "c"]
    assert isinstance(out[1][1], Invalid)
    assert seen == [1, 2, 3]


@pytest.mark.parametrize("who", [ADMIN, PUBLIC, Principal(username="v", role=Role.viewer)])
def test_a_batch_reading_a_chunk_at_once_answers_as_each_check(world, who) -> None:  # type: ignore[no-untyped-def]
    """A batch reads each kind for a chunk of sites together (SiteChecks._prefetch,
    Store.read_dicts_in_boxes): every report is the one its own check gives, duplicates,
    bad sites and sites that read nothing included."""
    store, _ = world
    checks = SiteChecks(store)
    sites = [SITE, _east(300.0), _east(1000.0), SITE, {"type": "Nope"}, Point(-70.0, 2.0),
             LineString([(LON - 0.01, LAT), (LON + 0.02, LAT + 0.001)]), _east(4990.0),
             box(LON + 0.001, LAT - 0.001, LON + 0.003, LAT + 0.0005)]
    reads: list[str] = []
    one, many = store.read_dicts, store.read_dicts_in_boxes
    store.read_dicts = lambda q, *a, **k: (reads.append(q.kind), one(q, *a, **k))[1]
    store.read_dicts_in_boxes = lambda q, *a, **k: (reads.append("boxes"), many(q, *a, **k))[1]
    out = list(checks.batch(who, [(str(i), g) for i, g in enumerate(sites)]))
    batched = len(reads)
    for (site_id, got), geometry in zip(out, sites, strict=True):
        try:
            alone = checks.check(who, geometry)
        except Invalid as exc:
            assert isinstance(got, Invalid) and got.message == exc.message, site_id
            continue
        assert not isinstance(got, Invalid), site_id
        assert got.to_json() == alone.to_json(), site_id
    if store.dialect == "postgis":  # a statement a kind for the chunk (GeoPackage: a box)
        assert reads.count("boxes") == (5 if who is not PUBLIC else 4)  # no minefields
        # besides: the released land's activities and organisations, and the repeated
        # site's own reads (the chunk's rows of a box go to one check)
        others = [k for k in reads[:batched] if k not in ("boxes", "activity", "organisation")]
        assert len(others) <= 5


@pytest.mark.parametrize("who", [ADMIN, PUBLIC, Principal(username="v", role=Role.viewer)])
def test_a_check_reading_its_kinds_together_answers_as_reading_them_in_turn(world, who) -> None:  # type: ignore[no-untyped-def]
    """Where the store sends reads together (PostGIS, one round trip: SiteChecks
    `_read_around`, Store.read_dicts_together), a check reads every kind the asker may
    list at once, and its report is the one reading them one after another gives."""
    store, _ = world
    checks = SiteChecks(store)
    sites = [SITE, _east(300.0), Point(-70.0, 2.0), _east(4990.0),
             LineString([(LON - 0.01, LAT), (LON + 0.02, LAT + 0.001)]),
             box(LON + 0.001, LAT - 0.001, LON + 0.003, LAT + 0.0005)]
    together: list[list[str]] = []
    real = store.read_dicts_together
    store.read_dicts_together = lambda reads: (together.append([q.kind for q, _ in reads]),
                                               real(reads))[1]
    store.reads_go_together = True
    at_once = [checks.check(who, g).to_json() for g in sites]
    kinds = ["hazard", "minefield_record", "released_part", "accident", "find"]
    listed = [k for k in kinds if k != "minefield_record"] if who is PUBLIC else kinds
    assert together == [listed] * len(sites)
    store.reads_go_together = False
    assert [checks.check(who, g).to_json() for g in sites] == at_once
    assert len(together) == len(sites)  # none more
    assert any(r["hazards"] for r in at_once) and any(r["accidents"] for r in at_once)


def test_the_findings_in_spanish(world) -> None:  # type: ignore[no-untyped-def]
    store, _ = world
    report = SiteChecks(store).check(ADMIN, SITE, buffer_m=500, nearby_m=2000, lang="es")
    text = " ".join(report.findings)
    assert "El sitio está dentro del área peligrosa registrada H-on (CHA, abierta)" in text
    assert "El 50 % del sitio está en tierra despejada en 2023 por Clearance NGO." in text
    assert "3 accidentes a menos de 2,0 km, el último en 2020" in text
    assert report.caveat.startswith("Esto es lo que dicen los registros")
    with pytest.raises(Invalid):
        SiteChecks(store).check(ADMIN, SITE, lang="xx")


@pytest.mark.parametrize(("value", "day"), [
    ("2023-05-04", "2023-05-04"), ("2023-05-04T10:00:00+00:00", "2023-05-04"),  # GeoPackage
    (date(2023, 5, 4), "2023-05-04"),  # PostGIS, a date column
    (datetime(2023, 5, 4, 23, 59), "2023-05-04"),  # a timestamp
    (None, None), ("", None), ("NaT", None), (float("nan"), None),
])
def test_a_records_date_is_its_day_whichever_store_gave_it(value, day) -> None:  # type: ignore[no-untyped-def]
    from mineaction.analysis.site_check import _iso

    assert _iso(value) == day
