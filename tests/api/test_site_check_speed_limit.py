# SPDX-License-Identifier: GPL-3.0-or-later
"""A worker runs a quick site check on its event loop and any other on its threads, at
most CHECKS_AT_ONCE at a time (issue 20: many at once cost CPU in GIL hand-overs, and
so does the hand-over itself), through the GET fast lane, the GET route and POST alike;
the others wait their turn and are all answered, and a long check never holds up a
quick one."""

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


def test_long_site_checks_wait_their_turn_beyond_the_limit(tmp_path: Path) -> None:
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
            # hazards sought 5 km around: not a quick check, so on the threads
            calls = [c.get("/api/v1/site-check", params={"lon": -75.0, "lat": 6.0,
                                                         "buffer_m": 5000})
                     for _ in range(5)]
            # a parameter the fast lane leaves to the route
            calls += [c.get("/api/v1/site-check?lon=-75.0&lat=6.0&lat=6.0&buffer_m=5000")
                      for _ in range(2)]
            calls += [c.post("/api/v1/site-check", json={"geometry": {
                "type": "Point", "coordinates": [-75.0, 6.0]}, "buffer_m": 5000})
                for _ in range(3)]
            # a plot 3 km across: not quick either
            calls += [c.post("/api/v1/site-check", json={"geometry": {
                "type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.97, 6.0],
                                                    [-74.97, 6.03], [-75.0, 6.0]]]}})
                for _ in range(2)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        statuses = asyncio.run(ask())
    finally:
        app.state.services.close()
    assert statuses == [200] * 12
    assert most[0] == CHECKS_AT_ONCE


def test_quick_checks_run_on_the_loop_and_long_ones_never_hold_it(
        store_location: str, tmp_path: Path) -> None:
    """On either store: on PostGIS too, a quick check's reads are one round trip on the
    loop's held connection (services/site_check.py `SiteChecks.is_quick`)."""
    store = open_store(store_location)
    app = create_app(make_settings(store.location, tmp_path), store=store)
    checks = app.state.services.site_checks
    real = checks.check
    threads: dict[str, set[int]] = {"quick": set(), "long": set()}
    finished: list[str] = []

    def watched(principal: Any, geometry: Any, **kwargs: Any) -> Any:
        long = kwargs["buffer_m"] > 2000
        threads["long" if long else "quick"].add(threading.get_ident())
        if long:
            time.sleep(0.5)  # a check over a large area, say
        report = real(principal, geometry, **kwargs)
        finished.append("long" if long else "quick")
        return report

    checks.check = watched

    async def ask() -> tuple[list[int], int]:
        loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            long = asyncio.ensure_future(c.get("/api/v1/site-check", params={
                "lon": -75.0, "lat": 6.0, "buffer_m": 5000}))
            await asyncio.sleep(0.1)  # the long check is under way on its thread
            quick = [c.get("/api/v1/site-check", params={"lon": -75.0, "lat": 6.0}),
                     c.get("/api/v1/site-check?lon=-75.0&lat=6.0&lat=6.0"),
                     c.post("/api/v1/site-check", json={"geometry": {
                         "type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.99, 6.0],
                                                             [-74.99, 6.01], [-75.0, 6.0]]]}})]
            answers = await asyncio.gather(*quick, long)
            held.append(len(store._held))
            return [r.status_code for r in answers], loop_thread

    held: list[int] = []
    try:
        statuses, loop_thread = asyncio.run(ask())
    finally:
        app.state.services.close()
    assert statuses == [200] * 4
    assert held == [1]  # the loop's: quick checks read on it, the long one on the pool
    assert threads["quick"] == {loop_thread}
    assert threads["long"] and loop_thread not in threads["long"]
    # the quick ones were answered while the long one was still being checked
    assert finished == ["quick", "quick", "quick", "long"]
