"""Where the map opens (issue 16, 8): one draft with a wrong sign opened every staff
user's map at world scale. The start extent is the configured country, else the store's
admin areas, else its approved records leaving out points far from the rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from shapely.geometry import Point, box

from mineaction.access import PUBLIC, Access
from mineaction.domain.models import Accident, AdminArea
from mineaction.services.maps import robust_extent, start_extent
from mineaction.store import open_store


def test_one_far_point_does_not_widen_the_extent() -> None:
    x = np.array([-75.1, -75.2, -75.0, -74.9, 75.1])  # the last: a sign error
    y = np.array([6.1, 6.2, 6.0, 6.3, 6.1])
    assert robust_extent(x, y) == (-75.2, 6.0, -74.9, 6.3)
    assert robust_extent(np.array([]), np.array([])) is None


def test_the_map_opens_on_country_areas_or_records(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.gpkg")) as store:
        public = Access(PUBLIC)
        assert start_extent(store, public) is None
        for i in range(5):
            store.add(Accident(geometry=Point(-75 - i / 10, 6 + i / 10), status="approved"))
        store.add(Accident(geometry=Point(75.0, 6.0), status="approved"))  # outlier
        store.add(Accident(geometry=Point(120.0, -40.0), status="draft"))  # not approved
        assert start_extent(store, public) == (-75.4, 6.0, -75.0, 6.4)
        store.add(AdminArea(pcode="05", name="Antioquia", level=1, status="approved",
                            geometry=box(-77.1, 5.4, -73.9, 8.9)))
        assert start_extent(store, public) == (-77.1, 5.4, -73.9, 8.9)
        minx, miny, maxx, maxy = start_extent(store, public, "COL")  # type: ignore[misc]
        assert -80 < minx < -78 and -5 < miny < -3 and -67 < maxx < -66 and 12 < maxy < 14
