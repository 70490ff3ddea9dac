# SPDX-License-Identifier: GPL-3.0-or-later
"""A connection held for quick reads (`Store._prepared_rows` under `quick_reads`).

An API worker runs its quick reads (a list page in a small box, GET by id) one after the
other on its event loop (api/routers/records.py, `_read`, says why). Borrowing a pooled
connection for each of them, switching it to autocommit and handing it back reset
(SQLAlchemy's Connection, its execution options, the pool's checkin) cost about 230 µs
of CPU a read, against 115 µs for the read's own round trip (`SELECT 1`, one process,
alternating blocks): a tenth of a list page's CPU in issue 3's benchmark.

So a thread running quick reads keeps one connection, and one cursor on it, for them (a
new cursor a read cost psycopg another 46 µs):
- borrowed once from the pool and detached from it, so it is no longer counted there and
  the pool never runs short because of it;
- in autocommit mode for good, and used for nothing but single SELECTs run to their end,
  so no transaction is ever left open on it, and each read sees every committed write;
- at most one per thread, used by that thread only. Only a caller that promises quick
  reads, one at a time (`quick_reads`), uses it: other reads, on the API's thread pool or
  the command line, keep borrowing from the pool, so the connections of a worker do not
  multiply with its threads.

Because its reads are known to be small, a store may set the held connection's session
up for them (`session`). PostgreSQL plans a prepared statement afresh for each execution
as long as its custom plans look cheaper than a generic one, and for a bbox they always
do: planning a list page cost 0.28-0.31 ms of the database's 0.9-1.0 ms a page (3,000
pages, one connection). A generic plan, made once, uses the spatial index as a small box
needs; for a box the size of a country it would read every row in it (3.2 s against a
few ms for the plan made for that box), so it is kept to this connection.

A held connection that fails as disconnected is dropped (`discard`), and the next quick
read opens another. `close` closes them all, with the store.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

# True while the calling code runs quick reads: small and bounded (a page of at most 100
# in a small box, GET by id), one after the other on this thread (an event loop).
QUICK_READS: contextvars.ContextVar[bool] = contextvars.ContextVar("quick_reads",
                                                                  default=False)


@contextmanager
def quick_reads() -> Iterator[None]:
    """Reads inside are quick ones (`QUICK_READS`), and may use the held connection."""
    token = QUICK_READS.set(True)
    try:
        yield
    finally:
        QUICK_READS.reset(token)


class HeldConnections:
    """The held connection of each thread that runs quick reads, for one engine."""

    def __init__(self, engine: sa.Engine, session: Sequence[str] = ()) -> None:
        self.engine = engine
        self.session = tuple(session)  # SQL run once on each held connection
        # thread ident -> (detached pool connection, its cursor)
        self._by_thread: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def cursor(self) -> Any | None:
        """The calling thread's held DBAPI cursor, opened on first use, or None outside
        quick reads (the caller should borrow from the pool)."""
        if not QUICK_READS.get():
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
            cursor = dbapi.cursor()
            for statement in self.session:
                cursor.execute(statement)
        except BaseException:
            fresh.close()
            raise
        with self._lock:
            self._by_thread[threading.get_ident()] = (fresh, cursor)
        return fresh, cursor

    def discard(self, error: BaseException | None = None) -> None:
        """Drop the calling thread's held connection (it failed as disconnected, with
        `error`)."""
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
