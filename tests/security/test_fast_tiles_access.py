"""The map's tiles answered by the fast lane (web/fast_paths.py, issue 21) read the
session cookie themselves: the public, and anyone sending a forged or unknown session
cookie, get the public's tiles (approved accidents only, places rounded, no casualties),
exactly as the routes give them; a signed-in reviewer gets the drafts. Each tile is asked
plainly (the fast lane) and with an ignored parameter (FastAPI's route)."""

from __future__ import annotations

from typing import Any

import mapbox_vector_tile
from api_helpers import Api
from shapely.geometry import Point

from mineaction.domain.models import Accident, Victim
from mineaction.http.deps import SESSION_COOKIE


def _points(client: Any) -> list[dict[str, Any]]:
    """The accidents' features of the layer's zoom-0 tile, asked both ways (the same)."""
    summary = client.get("/web/api/layers/accidents/summary").json()
    url = summary["tiles"].replace("{z}/{x}/{y}", "0/0/0")
    plain, routed = client.get(url), client.get(url + "&zz=1")
    assert plain.status_code == routed.status_code == 200
    assert plain.content == routed.content
    assert plain.headers["cache-control"] == routed.headers["cache-control"]
    layers = mapbox_vector_tile.decode(plain.content)
    return [f["properties"] for layer in layers.values() for f in layer["features"]]


def test_the_public_and_a_forged_session_get_the_public_s_tiles(api: Api) -> None:
    store = api.services.store
    for i in range(3):
        acc = store.add(Accident(geometry=Point(-75.1834 + i / 10, 6.1412), status="approved"))
        store.add(Victim(accident_id=acc.id, outcome="killed", status="approved"))
    for i in range(2):
        store.add(Accident(geometry=Point(-74.5 + i / 10, 5.5), status="draft"))
    public = _points(api.public)
    assert sum(p.get("point_count", 1) for p in public) == 3
    assert not any("killed" in p or "casualties" in p for p in public)
    assert {p.get("status") for p in public} <= {"approved", None}
    forged = api.anonymous()
    forged.http.cookies.set(SESSION_COOKIE, "not-a-session")
    assert _points(forged) == public
    # The admin areas' tiles too: the same both ways, whoever asks.
    for client in (api.public, forged):
        plain = client.get("/web/api/basemap/admin/5/9/15.mvt")
        routed = client.get("/web/api/basemap/admin/5/9/15.mvt?zz=1")
        assert plain.status_code == routed.status_code and plain.content == routed.content
    # A signed-in reviewer sees the drafts.
    reviewer = _points(api.browser("admin"))
    assert sum(p.get("point_count", 1) for p in reviewer) == 5
    assert any("killed" in p or "casualties" in p for p in reviewer)  # what the public lacks
