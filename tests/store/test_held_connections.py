"""store/held.py: a thread that runs an event loop keeps one connection for the prepared
reads, detached from the pool, in autocommit; other threads borrow from the pool. On both
stores, and on PostGIS a held connection the database dropped is replaced without a
failed read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from shapely.geometry import Point

from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.models import Accident
from mineaction.store import Query, Store, open_store

T = TypeVar("T")
BOX = (-75.1, 5.9, -74.9, 6.1)
PAGE = Query(kind="accident", bbox=BOX, status=("approved",), limit=100)


def on_a_loop(fn: Callable[[], T]) -> T:
    """fn() called from a coroutine, as an API worker's quick reads are."""
    async def run() -> T:
        return fn()
    return asyncio.run(run())


def _ids(store: Store) -> list[str]:
    return [r["id"] for r in store.query_rows(PAGE)[0]]


def test_only_event_loop_threads_hold_a_connection(store: Store) -> None:
    store.add(Accident(geometry=Point(-75, 6), status="approved"))
    assert store._held.cursor() is None  # no loop: the pool's
    assert _ids(store) and len(store._held) == 0
    pool = store.engine.pool
    assert on_a_loop(lambda: _ids(store)) == _ids(store)
    assert len(store._held) == 1
    # Detached: the pool counts it neither as lent nor as kept, and can open its own.
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    held = on_a_loop(lambda: store._held.cursor().connection)
    assert on_a_loop(lambda: store._held.cursor().connection) is held  # loop after loop
    assert len(store._held) == 1


def test_each_loop_thread_has_its_own(store: Store) -> None:
    store.add(Accident(geometry=Point(-75, 6), status="approved"))
    seen: list[Any] = []

    def loop_thread() -> None:
        on_a_loop(lambda: _ids(store))
        seen.append(on_a_loop(lambda: store._held.cursor().connection))

    threads = [threading.Thread(target=loop_thread) for _ in range(2)]
    for t in threads:
        t.start()
        t.join()  # one after the other: a later thread may take a dead one's ident
    if threads[0].ident != threads[1].ident:
        assert seen[0] is not seen[1] and len(store._held) == 2


def test_reads_on_a_held_connection_see_every_commit(store: Store) -> None:
    """Autocommit: no snapshot is kept between reads, and no transaction is left open."""
    first = store.add(Accident(geometry=Point(-75, 6), status="approved"))

    async def reads() -> tuple[list[str], list[str]]:
        before = _ids(store)
        second = store.add(Accident(geometry=Point(-75.01, 6), status="approved"))
        after = _ids(store)
        draft = store.get("accident", second.id).model_copy(
            update={"status": WorkflowStatus.draft})
        store.update(draft, expected_version=1)
        return before, after + ["-"] + _ids(store)

    before, after = asyncio.run(reads())
    assert before == [str(first.id)]
    assert len(after) == 4 and after[-1] == str(first.id)
    held = on_a_loop(lambda: store._held.cursor().connection)
    if store.dialect == "postgis":
        assert held.autocommit
        assert held.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    else:
        assert held.isolation_level is None and not held.in_transaction


def test_closing_the_store_closes_them(store_location: str) -> None:
    with open_store(store_location) as s:
        s.add(Accident(geometry=Point(-75, 6), status="approved"))
        on_a_loop(lambda: _ids(s))
        held = on_a_loop(lambda: s._held.cursor().connection)
    assert len(s._held) == 0
    if s.dialect == "postgis":
        assert held.closed
    else:
        try:
            held.execute("SELECT 1")
        except Exception as exc:
            assert "closed" in str(exc)
        else:
            raise AssertionError("the held SQLite connection is still open")


def test_a_held_connection_the_database_dropped_is_replaced(fresh_postgis_url: str) -> None:
    with open_store(fresh_postgis_url, pool_size=2) as s:
        s.add(Accident(geometry=Point(-75, 6), status="approved"))

        async def pid() -> int:
            held = s._held.cursor().connection
            return int(held.execute("SELECT pg_backend_pid()").fetchone()[0])

        async def read_after_termination() -> tuple[int, list[str], int]:
            first = await pid()
            with psycopg.connect(fresh_postgis_url, autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (first,))
            rows = _ids(s)  # meets the dead connection, is run again on the pool
            return first, rows, await pid()

        first, rows, second = asyncio.run(read_after_termination())
        assert len(rows) == 1
        assert second != first


def test_a_refused_read_leaves_the_held_connection_usable(store: Store) -> None:
    """A value the database refuses fails that read only (as the general path raises
    it); the held connection and its cursor serve the next read."""
    import sqlalchemy as sa

    store.add(Accident(geometry=Point(-75, 6), status="approved"))

    async def reads() -> tuple[str, list[str]]:
        try:
            store.query_rows(Query(kind="accident", dataset="nul\x00", limit=10))
            outcome = "answered"
        except sa.exc.DataError:
            outcome = "refused"
        return outcome, _ids(store)

    outcome, ids = asyncio.run(reads())
    assert outcome == ("refused" if store.dialect == "postgis" else "answered")
    assert len(ids) == 1 and len(store._held) == 1
