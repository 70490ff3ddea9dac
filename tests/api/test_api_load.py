"""Load test: 8 concurrent writers over uvicorn on 127.0.0.1, against both stores, for
MINEACTION_LOAD_SECONDS (10 s by default here to keep CI bounded; bench/api_bench.py runs
30 s). Every 201 is in the store exactly once, nothing else is, the shared record's
version counts every successful edit (none lost), and the audit chain verifies with one
entry per write. PostGIS runs two worker processes, so the chain is appended from two
processes at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from loadtest import run_writers, server

from mineaction.audit.log import attach, verify
from mineaction.auth.schema import ensure_server_tables
from mineaction.auth.users import UserDirectory
from mineaction.domain.models import Accident
from mineaction.store import Query, open_store

SECONDS = float(os.environ.get("MINEACTION_LOAD_SECONDS", "10"))
WRITERS = 8


@pytest.mark.slow
@pytest.mark.parametrize("which", ["gpkg", "postgis"])
def test_eight_writers_no_lost_or_duplicated_writes(which: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    location = (str(tmp_path / "load.gpkg") if which == "gpkg"
                else request.getfixturevalue("fresh_postgis_url"))
    with open_store(location) as store:
        ensure_server_tables(store)
        attach(store)
        from argon2 import PasswordHasher

        users = UserDirectory(store, PasswordHasher(time_cost=1, memory_cost=64))
        tokens = []
        for i in range(WRITERS):
            u = users.add(f"writer{i}", "a long password", "editor")
            tokens.append(users.issue(u, "token")[0])
        hot = store.add(Accident(narrative="hot"), by="setup")
        entries_before = verify(store).entries

    with server(location, workers=2 if which == "postgis" else 1) as base:
        out = run_writers(base, tokens, str(hot.id), SECONDS)
    print(f"\n{which}: {out.requests} requests in {SECONDS:.0f} s, {len(out.created)} "
          f"created, {out.patched} edits won, {out.stale} got 412, {len(out.errors)} errors")
    assert not out.errors, out.errors[:5]
    assert len(out.created) > WRITERS and out.patched > 0

    with open_store(location) as store:
        stored = store.query(Query(kind="accident", limit=None))
        narratives = [r.narrative for r in stored.items if r.id != hot.id]
        ids = {str(r.id) for r in stored.items if r.id != hot.id}
        assert len(narratives) == len(set(narratives)), "duplicated writes"
        assert ids == set(out.created), "lost or phantom writes"
        hot_now = store.get("accident", hot.id)
        assert hot_now.version == 1 + out.patched, "lost edits"
        report = verify(store)
        assert report.ok, report.problems[:5]
        assert report.entries == entries_before + len(out.created) + out.patched
