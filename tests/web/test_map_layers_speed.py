# SPDX-License-Identifier: GPL-3.0-or-later
"""What the map page does to keep pan and zoom cheap, in Chromium (issue 21): a GeoJSON
layer with nothing to draw is hidden, so its source is not cut into tiles at every move,
and is drawn as soon as it has something; the accidents' cluster labels are HTML
elements kept across moves, not taken out of the page and put back at each one."""

from __future__ import annotations

from datetime import date
from typing import Any

from map_steps import jump, map_ready
from shapely.geometry import Point, Polygon

from mineaction.domain.models import Accident, Hazard

# Corners of Guainía that the other map tests leave alone (each module has its own store).
HAZARD_AT = (-68.5, 3.0)
ACCIDENTS_AT = (-68.0, 2.5)




def visibility(page: Any, layer: str) -> str:
    return page.evaluate(  # type: ignore[no-any-return]
        f"window.__map.getLayoutProperty('{layer}', 'visibility')")


def test_an_empty_layer_is_hidden_and_drawn_once_it_has_data(new_page: Any, live: Any) -> None:
    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)
    # Nothing approved yet: the hazards and land release are checked but have nothing to
    # draw, so their layers are hidden; the status line still counts them.
    for layer in ("hazards-fill", "hazards-line", "land-release-fill"):
        assert visibility(page, layer) == "none", layer
    page.locator("#map-status", has_text="0 hazards").wait_for()
    assert page.get_by_label("Hazards (SHA / CHA)").is_checked()

    x, y = HAZARD_AT
    live.services.store.add(Hazard(hazard_kind="CHA", name="Speed test", status="approved",
                                   geometry=Polygon([(x, y), (x + 0.02, y),
                                                     (x + 0.02, y + 0.02), (x, y + 0.02)])),
                            by="editor")
    # The filters' Apply reloads the layers: the hazard comes, and its layers show.
    page.get_by_role("button", name="Apply filters").click()
    page.locator("#map-status", has_text="1 hazards").wait_for()
    page.wait_for_function("window.__map.getLayoutProperty('hazards-fill', 'visibility')"
                           " === 'visible'", polling=100)
    jump(page, x + 0.01, y + 0.01, 12)
    drawn = page.evaluate("window.__map.queryRenderedFeatures({layers: ['hazards-fill']})"
                          ".map(f => f.properties.name)")
    assert "Speed test" in drawn
    # Unchecking hides it, checking shows it again (it has data now).
    page.get_by_label("Hazards (SHA / CHA)").uncheck()
    page.wait_for_function("window.__map.getLayoutProperty('hazards-fill', 'visibility')"
                           " === 'none'", polling=100)
    page.get_by_label("Hazards (SHA / CHA)").check()
    page.wait_for_function("window.__map.getLayoutProperty('hazards-fill', 'visibility')"
                           " === 'visible'", polling=100)
    assert page.js_errors == []


def test_cluster_labels_stay_in_the_page_across_moves(new_page: Any, live: Any) -> None:
    store = live.services.store
    for i in range(12):
        store.add(Accident(accident_date=date(2019, 7, 1 + i), status="approved",
                           geometry=Point(ACCIDENTS_AT[0] + i * 0.0008,
                                          ACCIDENTS_AT[1] - i * 0.0008),
                           accident_kind="mine"), by="editor")
    page = new_page()
    page.goto(live.url + "/")
    map_ready(page)
    jump(page, ACCIDENTS_AT[0], ACCIDENTS_AT[1], 7)
    label = "[...document.querySelectorAll('.cluster-label')].find(e => e.textContent === '12')"
    page.wait_for_function(f"!!({label})", polling=100)
    # Mark the label, then watch the map's markers while the map moves a little and
    # settles: the same element stays, moved, and no label leaves or enters the page.
    page.evaluate(f"""() => {{
        const el = {label}; el.dataset.kept = 'yes';
        window.__labelMoves = 0;
        new MutationObserver(records => {{
            for (const r of records)
                for (const n of [...r.addedNodes, ...r.removedNodes])
                    if (n.classList && n.classList.contains('cluster-label')) window.__labelMoves++;
        }}).observe(window.__map.getCanvasContainer(), {{childList: true}});
    }}""")
    before = page.evaluate(f"({label}).getBoundingClientRect().x")
    page.evaluate("""() => new Promise(resolve => {
        window.__map.once('idle', resolve); window.__map.panBy([40, 0], {duration: 0});
    })""")
    page.wait_for_timeout(300)  # the labels are refreshed on "idle": let that run
    assert page.evaluate(f"({label}).dataset.kept") == "yes"
    assert page.evaluate("window.__labelMoves") == 0
    after = page.evaluate(f"({label}).getBoundingClientRect().x")
    assert abs((before - after) - 40) < 2, (before, after)
    assert page.evaluate("document.querySelectorAll('.cluster-label').length") == \
        page.evaluate("new Set(window.__map.queryRenderedFeatures({layers: "
                      "['accidents-clusters']}).map(f => f.properties.cid)).size")
    assert page.js_errors == []
