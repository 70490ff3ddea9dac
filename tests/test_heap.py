# SPDX-License-Identifier: GPL-3.0-or-later
"""The server's long-lived objects leave the garbage collector's full passes once the
start-up warm-up is done (http/heap.py, issue 21). Each check runs in a fresh interpreter,
as a server process starts: this test process may have frozen already."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any


def run(code: str) -> Any:
    """What `code`, run in a fresh interpreter, prints last (JSON)."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freezing_takes_what_is_alive_and_leaves_what_comes_later() -> None:
    got = run("""
        import gc, json
        from mineaction.http import heap
        kept = [[] for _ in range(1000)]          # long-lived containers
        before = len(gc.get_objects())
        frozen = heap.freeze_long_lived()
        walked = len(gc.get_objects())
        later = [[] for _ in range(500)]          # made after: collected as before
        print(json.dumps({"frozen": frozen, "count": gc.get_freeze_count(),
                          "before": before, "walked": walked,
                          "kept_walked": any(o is kept for o in gc.get_objects()),
                          "later_walked": any(o is later for o in gc.get_objects())}))
    """)
    assert got["frozen"] == got["count"] >= got["before"] > 1000
    assert got["walked"] < 100
    assert got["kept_walked"] is False and got["later_walked"] is True


def test_the_collector_is_paused_for_the_block_and_put_back_as_it_was() -> None:
    got = run("""
        import gc, json
        from mineaction.http import heap
        states = []
        with heap.collector_paused():
            states.append(gc.isenabled())
        states.append(gc.isenabled())
        gc.disable()
        with heap.collector_paused():
            pass
        states.append(gc.isenabled())             # someone else had it off: stays off
        print(json.dumps(states))
    """)
    assert got == [False, True, False]


def test_the_basemap_warm_up_freezes_the_process_s_long_lived_objects() -> None:
    got = run("""
        import gc, json, threading
        from mineaction.web import basemap
        basemap.warm_up()
        for t in threading.enumerate():
            if t.name == "basemap-warm-up":
                t.join()
        places = basemap.basemap().detail
        frozen = gc.get_freeze_count()
        # a second app's warm-up finds the basemap built and freezes nothing more
        garbage = [[] for _ in range(100)]
        basemap.warm_up()
        for t in threading.enumerate():
            if t.name == "basemap-warm-up":
                t.join()
        print(json.dumps({"frozen": frozen, "walked": len(gc.get_objects()),
                          "enabled": gc.isenabled(),
                          "garbage_walked": any(o is garbage for o in gc.get_objects()),
                          "places_walked": any(o is places for o in gc.get_objects())}))
    """)
    # The basemap (tens of thousands of objects) and the modules are out of every full
    # pass; the collector is on again.
    assert got["frozen"] > 50_000
    assert got["walked"] < got["frozen"] / 10
    assert got["places_walked"] is False and got["enabled"] is True
    assert got["garbage_walked"] is True
