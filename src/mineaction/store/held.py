# SPDX-License-Identifier: GPL-3.0-or-later
"""A connection held by each event-loop thread for the prepared reads (`Store._prepared_rows`).

An API worker runs its quick reads (a list page in a small box, GET by id) one after the
other on its event loop (api/routers/records.py says why). Borrowing a pooled connection
for each of them, switching it to autocommit and handing it back reset (SQLAlchemy's
Connection, its execution options, the pool's checkin) cost about 230 µs of CPU a read,
against 115 µs for the read's own round trip (`SELECT 1`, one process, alternating
blocks): a tenth of a list page's CPU in issue 3's benchmark.

So a thread that runs an event loop keeps one connection, and one cursor on it, for
these reads (a cursor a read cost psycopg another 46 µs):
- borrowed once from the pool and detached from it, so it is no longer counted there and
  the pool never runs short because of it;
- in autocommit mode for good, and used for nothing but single SELECTs run to their end,
  so no transaction is ever left open on it, and each read sees every committed write;
- at most one per thread, used by that thread only. Threads without an event loop (the
  API's thread pool, the CLI) keep borrowing from the pool: holding a connection for each
  of them would multiply the connections of every worker.

A held connection that fails as disconnected is dropped (`discard`), and the next read
opens another. `close` closes them all, with the store.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import sqlalchemy as sa


class HeldConnections:
    """The held connection of each event-loop thread, for one engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        # thread ident -> (detached pool connection, its cursor)
        self._by_thread: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def cursor(self) -> Any | None:
        """The calling thread's held DBAPI cursor, opened on first use, or None when the
        thread runs no event loop (it should borrow from the pool)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None
        # A dead thread's ident may be given to a new thread, which then takes over its
        # connection: the dead one no longer uses it.
        held = self._by_thread.get(threading.get_ident())
        if held is None:
            held = self._open()
        return held[1]

    def _open(self) -> tuple[Any, Any]:
        # Tested before use (the checkout's ping) only when opened: afterwards, a read
        # that meets a dropped connection discards it and is run again on the pool.
        fresh = self.engine.raw_connection()
        try:
            fresh.detach()
            dbapi = fresh.dbapi_connection
            assert dbapi is not None
            self.engine.dialect.set_isolation_level(dbapi, "AUTOCOMMIT")
            held = (fresh, dbapi.cursor())
        except BaseException:
            fresh.close()
            raise
        with self._lock:
            self._by_thread[threading.get_ident()] = held
        return held

    def discard(self) -> None:
        """Drop the calling thread's held connection (it failed as disconnected)."""
        with self._lock:
            held = self._by_thread.pop(threading.get_ident(), None)
        if held is not None:
            _close_quietly(held[0])

    def close(self) -> None:
        """Close every held connection (the store is closing)."""
        with self._lock:
            held, self._by_thread = list(self._by_thread.values()), {}
        for connection, _ in held:
            _close_quietly(connection)

    def __len__(self) -> int:
        return len(self._by_thread)


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a connection the database dropped may fail to close: it is gone
        pass
