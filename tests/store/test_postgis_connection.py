"""PostGIS connections give up on a database that stops answering (store/postgis.py says
why), unless the URL says otherwise."""

from __future__ import annotations

from mineaction.store import open_store
from mineaction.store.postgis import CONNECTION_DEFAULTS, _connection_defaults


def test_url_settings_win_over_the_defaults() -> None:
    assert _connection_defaults("postgresql://u@h/db") == CONNECTION_DEFAULTS
    kept = _connection_defaults("postgresql://u@h/db?connect_timeout=3&keepalives_idle=5")
    assert kept == {"tcp_user_timeout": CONNECTION_DEFAULTS["tcp_user_timeout"]}


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
