"""A PostGIS restart under way: no request fails. Connections are tested before they
are lent, except to the prepared reads, which recover by themselves; and a connection
lost in the middle of a request gives a clear 503 with Retry-After."""

from __future__ import annotations

import psycopg
import pytest
from api_helpers import accident


def _drop_connections(url: str) -> int:
    """Terminate every other session of the database, as a restart does."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as killer:
        rows = killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = current_database() "
                              "AND pid <> pg_backend_pid()").fetchall()
    return len(rows)


def test_no_request_fails_after_a_restart(api, store) -> None:  # type: ignore[no-untyped-def]
    if store.dialect != "postgis":
        pytest.skip("a GeoPackage has no connection to lose")
    editor, approver = api.as_("editor"), api.as_("approver")
    created = editor.post("/api/v1/accidents", json=accident())
    assert created.status_code == 201
    url = f"/api/v1/accidents/{created.json()['id']}"
    assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
    assert approver.post(f"{url}/approve", headers={"If-Match": '"2"'}).status_code == 200

    for call in (lambda: api.public.get("/api/v1/accidents"),  # prepared path
                 lambda: api.public.get(url),
                 lambda: editor.get("/api/v1/accidents"),  # token lookup first
                 lambda: editor.patch(url, json={"narrative": "kept"},
                                      headers={"If-Match": '"3"'})):
        assert _drop_connections(store.location) >= 1
        answer = call()
        assert answer.status_code == 200, answer.text
    assert editor.get(url).json()["narrative"] == "kept"


def test_a_connection_lost_mid_request_is_a_503() -> None:
    import sqlalchemy as sa

    from mineaction.http.errors import to_response

    lost = sa.exc.OperationalError("UPDATE ...", {}, Exception("server closed the connection"),
                                   connection_invalidated=True)
    answer = to_response(lost)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert b'"unavailable"' in answer.body
    other = sa.exc.OperationalError("SELECT ...", {}, Exception("deadlock"))
    assert to_response(other).status_code == 500
