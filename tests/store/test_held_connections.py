"""store/held.py: a thread that runs quick reads keeps one connection for them, detached
from the pool, in autocommit; other reads borrow from the pool. On both stores; on PostGIS
the held connection plans generically, and one the database dropped is replaced without
a failed read."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from shapely.geometry import Point

from mineaction.domain.enums import WorkflowStatus
from mineaction.domain.models import Accident
from mineaction.store import Query, Store, open_store
from mineaction.store.held import quick_reads

T = TypeVar("T")
BOX = (-75.1, 5.9, -74.9, 6.1)
PAGE = Query(kind="accident", bbox=BOX, status=("approved",), limit=100)


def quick(fn: Callable[[], T]) -> T:
    """fn() run as the API runs its quick reads."""
    with quick_reads():
        return fn()


def _ids(store: Store) -> list[str]:
    return [r["id"] for r in store.query_rows(PAGE)[0]]


def test_only_quick_reads_hold_a_connection(store: Store) -> None:
    store.add(Accident(geometry=Point(-75, 6), status="approved"))
    assert store._held.cursor() is None  # not quick: the pool's
    assert _ids(store) and len(store._held) == 0
    pool = store.engine.pool
    assert quick(lambda: _ids(store)) == _ids(store)
    assert len(store._held) == 1
    # Detached: the pool counts it neither as lent nor as kept, and can open its own.
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    held = quick(lambda: store._held.cursor().connection)
    assert quick(lambda: store._held.cursor().connection) is held  # loop after loop
    assert len(store._held) == 1


def test_each_thread_has_its_own(store: Store) -> None:
    store.add(Accident(geometry=Point(-75, 6), status="approved"))
    seen: list[Any] = []

    def reader() -> None:
        quick(lambda: _ids(store))
        seen.append(quick(lambda: store._held.cursor().connection))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
        t.join()  # one after the other: a later thread may take a dead one's ident
    if threads[0].ident != threads[1].ident:
        assert seen[0] is not seen[1] and len(store._held) == 2


def test_reads_on_a_held_connection_see_every_commit(store: Store) -> None:
    """Autocommit: no snapshot is kept between reads, and no transaction is left open."""
    first = store.add(Accident(geometry=Point(-75, 6), status="approved"))

    def reads() -> tuple[list[str], list[str]]:
        before = _ids(store)
        second = store.add(Accident(geometry=Point(-75.01, 6), status="approved"))
        after = _ids(store)
        draft = store.get("accident", second.id).model_copy(
            update={"status": WorkflowStatus.draft})
        store.update(draft, expected_version=1)
        return before, after + ["-"] + _ids(store)

    before, after = quick(reads)
    assert before == [str(first.id)]
    assert len(after) == 4 and after[-1] == str(first.id)
    held = quick(lambda: store._held.cursor().connection)
    if store.dialect == "postgis":
        assert held.autocommit
        assert held.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    else:
        assert held.isolation_level is None and not held.in_transaction


def test_closing_the_store_closes_them(store_location: str) -> None:
    with open_store(store_location) as s:
        s.add(Accident(geometry=Point(-75, 6), status="approved"))
        quick(lambda: _ids(s))
        held = quick(lambda: s._held.cursor().connection)
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

        def pid() -> int:
            held = s._held.cursor().connection
            return int(held.execute("SELECT pg_backend_pid()").fetchone()[0])

        def read_after_termination() -> tuple[int, list[str], int]:
            first = pid()
            with psycopg.connect(fresh_postgis_url, autocommit=True) as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (first,))
            rows = _ids(s)  # meets the dead connection, is run again on the pool
            return first, rows, pid()

        first, rows, second = quick(read_after_termination)
        assert len(rows) == 1
        assert second != first


def test_a_refused_read_leaves_the_held_connection_usable(store: Store) -> None:
    """A value the database refuses fails that read only (as the general path raises
    it); the held connection and its cursor serve the next read."""
    import sqlalchemy as sa

    store.add(Accident(geometry=Point(-75, 6), status="approved"))

    def reads() -> tuple[str, list[str]]:
        try:
            store.query_rows(Query(kind="accident", dataset="nul\x00", limit=10))
            outcome = "answered"
        except sa.exc.DataError:
            outcome = "refused"
        return outcome, _ids(store)

    outcome, ids = quick(reads)
    assert outcome == ("refused" if store.dialect == "postgis" else "answered")
    assert len(ids) == 1 and len(store._held) == 1


def test_the_held_connection_plans_generically_and_only_it(fresh_postgis_url: str) -> None:
    """A generic plan suits only the small boxes of quick reads (store/held.py): the
    pool's connections keep planning each statement for its own values."""
    with open_store(fresh_postgis_url) as s:
        s.add(Accident(geometry=Point(-75, 6), status="approved"))
        assert quick(lambda: _ids(s)) and quick(lambda: _ids(s))

        def mode(connection: Any) -> str:
            return str(connection.execute("SHOW plan_cache_mode").fetchone()[0])

        assert quick(lambda: mode(s._held.cursor().connection)) == "force_generic_plan"
        with s.engine.connect() as pooled:
            assert pooled.exec_driver_sql("SHOW plan_cache_mode").scalar() == "auto"
