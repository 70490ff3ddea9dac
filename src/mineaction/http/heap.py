# SPDX-License-Identifier: GPL-3.0-or-later
"""The server process's long-lived objects, kept out of the garbage collector's full passes.

Python's cyclic collector walks every object it tracks on a full (generation 2) pass, and
no request runs meanwhile. Once started, a server process holds some 350,000 of them (the
modules, FastAPI's routes and models, SQLAlchemy's metadata, the basemap's places and
outlines: web/basemap.py), and each full pass took 120-220 ms on our 2-core machine: most
of the p99 latency under load once connections were accepted fairly (issue 3), the
slowest tiles of bench/web_bench.py, and, six passes while the basemap was built, a
second of the first visitor's map (issue 21).

`freeze_long_lived` moves what is alive to the permanent generation, which collections
skip (`gc.freeze`, CPython 3.7+): full passes after it took 14-23 ms. It is called at the
end of each start-up build: when a worker starts serving (api/serving.py) and when the
basemap has been built (web/basemap.py, once a process), which may come later. A frozen
object is still freed when its last reference goes; only a reference cycle among the
objects alive at that moment would outlive its use, and those are the start-up's own.
Objects made later are collected as before. `collector_paused` keeps the collector off
while a build makes many objects that all survive (each pass over them finds nothing).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_long_lived(*, collect_first: bool = False) -> int:
    """Freeze what is alive now; how many objects the permanent generation holds then.
    `collect_first`: a full pass before, so that no garbage cycle is frozen (one pause of
    its own: for a worker about to serve, not for a build while visitors are served)."""
    if collect_first:
        gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off for the block (reference counting still frees at once),
    back on after it unless someone had turned it off before."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
