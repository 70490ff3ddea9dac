"""geodesic.centred_projection, the projection a site check, a distance to a line or area
and a priority's hazard frame build for each centre (issue 20), is the operation PROJ runs
for `Proj("+proj=NAME +lat_0 +lon_0 +datum=WGS84")`, which it replaced for speed: the
same coordinates, everywhere on the globe, for both projections it is used with."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Proj

from mineaction.geo.geodesic import centred_projection

# Centres: Colombia, Azerbaijan, near the antimeridian, near each pole, on the equator.
CENTRES = [(-75.5, 6.25), (47.5, 40.1), (179.9, -16.5), (-179.95, 65.0), (10.0, 89.9995),
           (-60.0, -89.99), (0.0, 0.0)]


@pytest.mark.parametrize("name", ["aeqd", "laea"])
@pytest.mark.parametrize("lon0,lat0", CENTRES)
def test_same_coordinates_as_proj(name: str, lon0: float, lat0: float) -> None:
    rng = np.random.default_rng(20)
    near = np.column_stack([lon0 + rng.uniform(-0.05, 0.05, 200),
                            np.clip(lat0 + rng.uniform(-0.05, 0.05, 200), -90, 90)])
    far = np.column_stack([rng.uniform(-180, 180, 200), rng.uniform(-89, 89, 200)])
    across = np.array([[180.0, lat0], [-180.0, lat0], [lon0 + 190.0, 0.0]])
    coords = np.vstack([near, far, across])
    expected = Proj(f"+proj={name} +lat_0={lat0!r} +lon_0={lon0!r} +datum=WGS84")
    x, y = expected(coords[:, 0], coords[:, 1])
    got = centred_projection(name, lon0, lat0)(coords)
    np.testing.assert_array_equal(got, np.column_stack([x, y]))


def test_centre_is_the_origin_and_metres_are_metres() -> None:
    forward = centred_projection("aeqd", -75.5, 6.25)
    from mineaction.geo.geodesic import geodesic_distance_m

    xy = forward(np.array([[-75.5, 6.25], [-75.49, 6.26]]))
    assert np.allclose(xy[0], [0.0, 0.0], atol=1e-9)
    # from the centre, aeqd's planar distance is the geodesic one
    assert np.hypot(*xy[1]) == pytest.approx(geodesic_distance_m(-75.5, 6.25, -75.49, 6.26),
                                             abs=1e-6)
