# SPDX-License-Identifier: GPL-3.0-or-later
"""The map holds a frame that would show only some of a move's new tiles (frame_hold.js,
issue 21), in Chromium with the real basemap and admin tiles: it paints once every tile
is in, or when the hold's time is up; it never holds a camera change. Each test stops the
admin areas' tiles in the network (Playwright's route) to decide when they come, and
runs the same steps on a map without the hold, which must paint early (or the test
proves nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from map_steps import map_ready

ADMIN_TILES = "**/web/api/basemap/admin/**"

# Two maps side by side in the page, each counting its frames since the test last said
# "mark": one with the hold (its time given by the test), one without.
SETUP = """async (holdMs) => {
    const { baseStyle } = await import('/web/static/js/basemap.js');
    const { holdPartialFrames } = await import('/web/static/js/frame_hold.js');
    const make = (id, hold) => {
        const div = document.createElement('div');
        div.id = id; div.style.cssText = 'width:600px;height:400px';
        document.body.prepend(div);
        const map = new maplibregl.Map({container: div, style: baseStyle('', ''),
                                        center: [-74.3, 4.6], zoom: 5, fadeDuration: 0});
        if (hold) holdPartialFrames(map, holdMs);
        map.__frames = 0;
        map.on('render', () => { map.__frames++; });
        return new Promise(resolve => map.once('idle', () => resolve(map)));
    };
    window.__held = await make('held-map', true);
    window.__plain = await make('plain-map', false);
}"""


def frames(page: Any, which: str) -> int:
    return int(page.evaluate(f"window.{which}.__frames"))


@pytest.fixture
def two_maps(new_page: Any, live: Any) -> Any:
    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)

    def setup(hold_ms: int) -> tuple[Any, list[Any]]:
        page.evaluate(SETUP, hold_ms)
        stopped: list[Any] = []
        page.context.route(ADMIN_TILES, lambda r: stopped.append(r))
        return page, stopped

    return setup


def zoom_in_both(page: Any) -> None:
    """Zoom both maps into a view none has seen (new basemap and admin tiles), and mark."""
    page.evaluate("""() => { for (const m of [window.__held, window.__plain]) {
        m.jumpTo({center: [-75.5, 6.2], zoom: 8}); } }""")
    # The camera's own frame of each.
    page.wait_for_function("window.__held.__frames > 0 && window.__plain.__frames > 0",
                           polling=20)


def basemap_in(page: Any) -> None:
    page.wait_for_function("window.__held.isSourceLoaded('basemap') &&"
                           " window.__plain.isSourceLoaded('basemap')", polling=20)


def release(stopped: list[Any]) -> None:
    while stopped:
        stopped.pop().continue_()


def test_a_partial_frame_waits_for_the_move_s_last_tiles(two_maps: Any) -> None:
    page, stopped = two_maps(60_000)
    page.evaluate("window.__held.__frames = 0; window.__plain.__frames = 0")
    zoom_in_both(page)
    basemap_in(page)
    page.wait_for_timeout(300)
    assert stopped, "the admin tiles were not stopped: the test would prove nothing"
    # The basemap's tiles are in, the admin areas' are not: the map without the hold
    # painted them; the held one painted its camera frame only.
    assert frames(page, "__plain") > 1
    assert frames(page, "__held") == 1
    before = frames(page, "__held")
    page.evaluate("window.__heldIdle = false; window.__held.once('idle', () => "
                  "{ window.__heldIdle = true; })")
    release(stopped)
    page.wait_for_function("window.__heldIdle", polling=20)
    assert frames(page, "__held") > before
    assert page.evaluate("window.__held.areTilesLoaded()")


def test_a_camera_change_is_painted_at_once_while_frames_are_held(two_maps: Any) -> None:
    page, stopped = two_maps(60_000)
    zoom_in_both(page)
    basemap_in(page)
    page.wait_for_timeout(200)
    assert stopped and not page.evaluate("window.__held.areTilesLoaded()")
    held = frames(page, "__held")
    # A drag's step: the held map follows at once, tiles or not.
    page.evaluate("window.__held.panBy([80, 0], {duration: 0})")
    page.wait_for_function(f"window.__held.__frames > {held}", polling=20, timeout=2_000)
    release(stopped)


def test_the_hold_ends_when_its_time_is_up(two_maps: Any) -> None:
    page, stopped = two_maps(400)
    page.evaluate("window.__held.__frames = 0")
    zoom_in_both(page)
    basemap_in(page)
    # The admin tiles never come; within the hold's 400 ms, plus a frame, the held map
    # paints what it has.
    page.wait_for_function("window.__held.__frames > 1", polling=20, timeout=3_000)
    assert stopped and not page.evaluate("window.__held.areTilesLoaded()")
    release(stopped)
