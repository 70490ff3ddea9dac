# SPDX-License-Identifier: GPL-3.0-or-later
"""Steps the map's browser tests share: wait for the map, move the camera."""

from __future__ import annotations

from typing import Any


def map_ready(page: Any) -> dict[str, Any]:
    """Wait until the map page says it is ready; its state (window.__mapState)."""
    page.wait_for_function("window.__mapState && window.__mapState.ready", timeout=20_000,
                           polling=100)
    return page.evaluate("window.__mapState")  # type: ignore[no-any-return]


def jump(page: Any, lon: float, lat: float, zoom: float) -> None:
    """Move the camera and wait until the tiles of the new view are drawn."""
    page.evaluate("""([lon, lat, zoom]) => new Promise(resolve => {
        window.__map.once('idle', resolve);
        window.__map.jumpTo({center: [lon, lat], zoom});
    })""", [lon, lat, zoom])


def center(page: Any) -> tuple[float, float]:
    """Where the map is: the longitude and latitude of its centre."""
    lon, lat = page.evaluate("[window.__map.getCenter().lng, window.__map.getCenter().lat]")
    return float(lon), float(lat)
