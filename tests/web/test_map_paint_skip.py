# SPDX-License-Identifier: GPL-3.0-or-later
"""The map does not draw the frame whose labels MapLibre is about to place again
(frame_hold.js `skipUnsettledPaints`, issue 21), in Chromium with the real basemap and
admin tiles: after a move, the frame that brings the last tiles is not drawn, the next
one is, and the picture at the end is the same as a map drawing every frame. A camera
change is always drawn at once. Each test runs the same steps on a map without the
skip, which must have drawn that frame (or the test proves nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from map_steps import map_ready

# Two maps side by side, each counting its frames (MapLibre's "render" events) and its
# draws (calls of the painter's own render, beneath the skip).
SETUP = """async () => {
    const { baseStyle } = await import('/web/static/js/basemap.js');
    const { skipUnsettledPaints } = await import('/web/static/js/frame_hold.js');
    const make = (id, skip) => {
        const div = document.createElement('div');
        div.id = id; div.style.cssText = 'width:600px;height:400px';
        document.body.prepend(div);
        const map = new maplibregl.Map({container: div, style: baseStyle('', ''),
                                        center: [-74.3, 4.6], zoom: 5, fadeDuration: 0,
                                        canvasContextAttributes:
                                            {preserveDrawingBuffer: true}});
        const draw = map.painter.render.bind(map.painter);
        map.__draws = [];
        map.painter.render = (...a) => { map.__draws.push(map.__frames); return draw(...a); };
        if (skip) skipUnsettledPaints(map);
        map.__frames = 0;
        map.on('render', () => { map.__frames++; });
        return new Promise(resolve => map.once('idle', () => resolve(map)));
    };
    window.__skip = await make('skip-map', true);
    window.__plain = await make('plain-map', false);
}"""

MOVE = """(camera) => Promise.all([window.__skip, window.__plain].map(m => new Promise(resolve => {
    m.__frames = 0; m.__draws = [];
    if ('unsettledPaintsSkipped' in m) m.unsettledPaintsSkipped = 0;
    m.once('idle', () => resolve());
    m.jumpTo(camera);
})))"""


@pytest.fixture
def two_maps(new_page: Any, live: Any) -> Any:
    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)
    page.evaluate(SETUP)
    return page


def counts(page: Any, which: str) -> tuple[int, list[int]]:
    return page.evaluate(f"[window.{which}.__frames, window.{which}.__draws]")


def picture(page: Any, which: str) -> str:
    return str(page.evaluate(f"window.{which}.getCanvas().toDataURL('image/png')"))


@pytest.mark.parametrize("camera", [{"center": [-75.5, 6.2], "zoom": 8},
                                    {"center": [-73.0, 4.0], "zoom": 6.5}])
def test_the_draft_placement_s_frame_is_not_drawn(two_maps: Any, camera: Any) -> None:
    page = two_maps
    page.evaluate(MOVE, camera)
    frames, draws = counts(page, "__plain")
    assert len(draws) == frames, "the plain map draws every frame"
    skip_frames, skip_draws = counts(page, "__skip")
    skipped = page.evaluate("window.__skip.unsettledPaintsSkipped")
    assert skipped >= 1, "no frame was skipped: the test proves nothing"
    assert len(skip_draws) == skip_frames - skipped
    # The camera's own frame (frame 0) was drawn; so was the last (the settled labels).
    assert skip_draws[0] == 0
    assert skip_draws[-1] == skip_frames - 1
    # Never two frames in a row left undrawn.
    undrawn = sorted(set(range(skip_frames)) - set(skip_draws))
    assert all(b - a > 1 for a, b in zip(undrawn, undrawn[1:], strict=False))
    # What the user is left with is what the map drawing every frame shows.
    assert picture(page, "__skip") == picture(page, "__plain")


def test_a_camera_change_is_drawn_even_when_placement_is_a_draft(two_maps: Any) -> None:
    page = two_maps
    page.evaluate(MOVE, {"center": [-75.5, 6.2], "zoom": 8})
    # Steps of a drag with everything loaded, each in a frame whose placement MapLibre
    # calls a draft (made so here: whether a step's labels settle at once varies): the
    # frame right after each step is drawn all the same.
    for step in range(4):
        page.wait_for_function("window.__skip.loaded()", polling=20)
        frame = page.evaluate("""() => new Promise(resolve => {
            const m = window.__skip; const frame = m.__frames;
            let real = m._placementDirty; let draft = true;
            Object.defineProperty(m, '_placementDirty', {configurable: true,
                get: () => draft || real, set: (v) => { real = v; }});
            m.once('render', () => {
                draft = false; delete m._placementDirty; m._placementDirty = real;
                resolve(frame); });
            m.panBy([40, 0], {duration: 0}); })""")
        assert frame in counts(page, "__skip")[1], step


def test_a_placement_that_never_settles_is_still_drawn(two_maps: Any) -> None:
    """Were MapLibre to find the labels unsettled frame after frame, the map would still
    draw every other frame, never freeze on an old picture."""
    page = two_maps
    page.evaluate(MOVE, {"center": [-75.5, 6.2], "zoom": 8})
    draws = page.evaluate("""() => new Promise(resolve => {
        const m = window.__skip;
        Object.defineProperty(m, '_placementDirty', {configurable: true,
                                                     get: () => true, set: () => {}});
        m.__frames = 0; m.__draws = [];
        m.triggerRepaint();
        setTimeout(() => {
            delete m._placementDirty; m._placementDirty = false;
            resolve([m.__frames, m.__draws]); }, 600);
    })""")
    frames, drawn = draws
    assert frames >= 4, "the map did not keep rendering: the test proves nothing"
    assert len(drawn) >= frames // 2
