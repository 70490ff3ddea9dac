# SPDX-License-Identifier: GPL-3.0-or-later
"""The server process's long-lived objects, kept out of the garbage collector's full passes.

Python's cyclic collector walks every object it tracks on a full (generation 2) pass, and
no request runs meanwhile. Once started, a server process holds some 350,000 of them (the
modules, FastAPI's routes and models, SQLAlchemy's metadata, the basemap's places and
outlines: web/basemap.py), and each full pass took 120-220 ms on our 2-core machine: the
slowest tiles of bench/web_bench.py waited that long in the server, and six such passes
while the basemap was built held up the first visitor's map by a second (issue 21).

`freeze_long_lived` moves what is alive to the permanent generation, which collections
skip (`gc.freeze`, CPython 3.7+): full passes after it took 14-23 ms. It is called once a
process, when the start-up warm-up is done. A frozen object is still freed when its last
reference goes; only a reference cycle among objects alive at that moment would outlive
its use, once, and those are the start-up's own. Objects made later are collected as
before. `collector_paused` keeps the collector off while a warm-up builds many objects
that all survive (each pass over them would find nothing to free).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_once = threading.Lock()
_frozen = False


def freeze_long_lived() -> bool:
    """Freeze what is alive now, the first time a process asks; whether this call did."""
    global _frozen
    with _once:
        if _frozen:
            return False
        _frozen = True
    gc.freeze()
    return True


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
