"""PostGIS connections give up on a database that stops answering (store/postgis.py says
why), unless the URL says otherwise; connections the database dropped are replaced
without a failed request."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import sqlalchemy as sa

from mineaction.store import open_store
from mineaction.store.postgis import CONNECTION_DEFAULTS, _connection_defaults, ping_on_checkout
from mineaction.store.query import Query
from mineaction.store.reading import SELF_HEALING_CHECKOUT


def test_url_settings_win_over_the_defaults() -> None:
    assert _connection_defaults("postgresql://u@h/db") == CONNECTION_DEFAULTS
    kept = _connection_defaults("postgresql://u@h/db?connect_timeout=3&keepalives_idle=5")
    assert kept == {"tcp_user_timeout": CONNECTION_DEFAULTS["tcp_user_timeout"],
                    "options": CONNECTION_DEFAULTS["options"]}


def test_lists_read_timestamps_whatever_the_databases_datestyle_and_zone(
        fresh_postgis_url: str) -> None:
    """List pages read timestamps as PostgreSQL's text: a database set to another
    DateStyle or time zone still gives what the record itself says."""
    from shapely.geometry import Point

    from mineaction.domain.models import Accident

    with psycopg.connect(fresh_postgis_url, autocommit=True) as admin:
        dbname = admin.info.dbname
        admin.execute(f'ALTER DATABASE "{dbname}" SET DateStyle = \'SQL, DMY\'')
        admin.execute(f'ALTER DATABASE "{dbname}" SET TimeZone = \'America/Bogota\'')
    with open_store(fresh_postgis_url) as s:
        added = s.add(Accident(geometry=Point(-74.1, 4.6)))
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW DateStyle").scalar().startswith("ISO")
        rows, _ = s.query_rows(Query(kind="accident"))
        stored = s.get("accident", added.id).model_dump(mode="json")
    assert rows[0]["created_at"] == stored["created_at"]
    assert rows[0]["created_at"].endswith("-05:00")  # Bogotá's offset, as psycopg gives it


def test_live_connections_carry_the_timeouts(fresh_postgis_url: str) -> None:
    with open_store(fresh_postgis_url) as s, s.engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        params = dbapi.info.get_parameters()  # type: ignore[attr-defined]
    assert params["connect_timeout"] == "10"
    assert params["tcp_user_timeout"] == "15000"
    separator = "&" if "?" in fresh_postgis_url else "?"
    with open_store(f"{fresh_postgis_url}{separator}connect_timeout=4") as s, \
            s.engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        assert dbapi.info.get_parameters()["connect_timeout"] == "4"  # type: ignore[attr-defined]


def _backend_pids(store: Any) -> set[int]:
    """The server processes of the store's pooled connections, by opening them all."""
    conns = [store.engine.connect() for _ in range(store.engine.pool.size())]
    try:
        return {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in conns}
    finally:
        for c in conns:
            c.close()


def _terminate(url: str, pids: set[int]) -> None:
    """What a database restart does to those connections."""
    killer = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                             autocommit=True)
    with killer:
        for pid in pids:
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_that_died_is_replaced_before_use(fresh_postgis_url: str) -> None:
    with open_store(fresh_postgis_url, pool_size=2) as s:
        pids = _backend_pids(s)
        _terminate(fresh_postgis_url, pids)
        # Writes go through SQLAlchemy: no statement fails, on any pooled connection.
        for _ in range(3):
            with s.engine.begin() as conn:
                assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() not in pids


def test_a_list_survives_connections_that_died_in_use(fresh_postgis_url: str) -> None:
    """The prepared read path is not pinged: its first statement meets the dead
    connection, and the store retries it on a fresh one."""
    with open_store(fresh_postgis_url, pool_size=2) as s:
        pids = _backend_pids(s)
        _terminate(fresh_postgis_url, pids)
        rows, _ = s.query_rows(Query(kind="accident", bbox=(-76, 6, -75, 7), limit=10))
        assert rows == []
        assert not _backend_pids(s) & pids


def test_only_self_healing_checkouts_skip_the_ping() -> None:
    """SQLite stands in for the database: every checkout is tested, but those of the
    prepared read path."""
    executed: list[str] = []

    class Cursor(sqlite3.Cursor):
        def execute(self, sql: str, *args: Any) -> Any:  # type: ignore[override]
            executed.append(sql)
            return super().execute(sql, *args)

    class Connection(sqlite3.Connection):
        def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
            return super().cursor(factory)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(":memory:", check_same_thread=False, factory=Connection)

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=sa.pool.QueuePool)
    ping_on_checkout(engine)
    for _ in range(3):
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 2")
    pings = executed.count("SELECT 1")
    assert pings == 3
    token = SELF_HEALING_CHECKOUT.set(True)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 2")
    finally:
        SELF_HEALING_CHECKOUT.reset(token)
    assert executed.count("SELECT 1") == pings
    engine.dispose()
