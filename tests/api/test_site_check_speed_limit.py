# SPDX-License-Identifier: GPL-3.0-or-later
"""A worker runs at most CHECKS_AT_ONCE site checks at a time (issue 20: many at once
cost CPU in GIL hand-overs), through the GET fast lane, the GET route and POST alike;
the others wait their turn and are all answered."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from api_helpers import make_settings

from mineaction.api.routers.site_check import CHECKS_AT_ONCE
from mineaction.app import create_app
from mineaction.store import open_store


def test_site_checks_wait_their_turn_beyond_the_limit(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store.gpkg"))
    app = create_app(make_settings(store.location, tmp_path), store=store)
    checks = app.state.services.site_checks
    real = checks.check
    lock = threading.Lock()
    running, most = [0], [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.05)  # long enough for the others to pile up
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    checks.check = counted

    async def ask() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            calls = [c.get("/api/v1/site-check", params={"lon": -75.0, "lat": 6.0})
                     for _ in range(5)]
            # a parameter the fast lane leaves to the route
            calls += [c.get("/api/v1/site-check?lon=-75.0&lat=6.0&lat=6.0")
                      for _ in range(2)]
            calls += [c.post("/api/v1/site-check", json={"geometry": {
                "type": "Point", "coordinates": [-75.0, 6.0]}}) for _ in range(5)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        statuses = asyncio.run(ask())
    finally:
        app.state.services.close()
    assert statuses == [200] * 12
    assert most[0] == CHECKS_AT_ONCE
