"""Issue 15, item 1: one import stopped every write. It held the GeoPackage store's only
write lock for its whole run, reading the upload included, so sign-ins, token creation,
edits and the personal-data reads that write to the audit log waited 30 s and failed
with 500 "database is locked". Now the file is read, mapped and checked outside the write
transaction, which is taken only for the short write at the end."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import shapely
from api_helpers import PASSWORD, Api, accident, victim
from pyogrio import raw
from test_imports_helpers import GOOD, SlowReader, upload, wait_job

QUICK_S = 3.0  # a write waiting for the import's lock waited 30 s, then failed


def test_sign_in_works_while_an_import_runs(api: Api, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    editor = api.as_("editor")
    approver = api.as_("approver")
    acc = editor.post("/api/v1/accidents", json=accident()).json()
    vic = editor.post("/api/v1/victims", json=victim(acc["id"])).json()
    reader = SlowReader(monkeypatch)
    job = upload(editor, GOOD, dry_run=False, dataset="big")
    reader.wait_reading()
    try:
        for what, call in (
            ("sign-in", lambda: api.anonymous().post("/api/v1/auth/login", json={
                "username": "editor", "password": PASSWORD})),
            ("token", lambda: editor.post("/api/v1/auth/tokens", json={"name": "script"})),
            ("edit", lambda: editor.patch(f"/api/v1/accidents/{acc['id']}",
                                          json={"narrative": "revised"},
                                          headers={"If-Match": '"1"'})),
            ("new record", lambda: editor.post("/api/v1/accidents", json=accident())),
            # An approver reading a victim's personal data writes to the audit log.
            ("logged read", lambda: approver.get(f"/api/v1/victims/{vic['id']}")),
        ):
            started = time.monotonic()
            r = call()
            took = time.monotonic() - started
            assert r.status_code < 300, (what, r.status_code, r.text)
            assert took < QUICK_S, f"{what} waited {took:.1f} s for the import"
        assert editor.get(f"/api/v1/imports/{job['id']}").json()["state"] == "running"
    finally:
        reader.release()
    done = wait_job(editor, job["id"])
    assert done["state"] == "done" and done["report"]["committed"], done
    assert done["report"]["kinds"]["accident"]["added"] == 40


def test_records_edited_while_an_import_reads_are_not_overwritten(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading outside the write transaction must not let an import write over an edit
    made meanwhile: it checks the dataset is as it was planned against, else writes
    nothing."""
    editor = api.as_("editor")
    first = wait_job(editor, upload(editor, GOOD, dry_run=False, dataset="d")["id"])
    assert first["state"] == "done", first
    changed = GOOD.replace("a1,2020-01-02,mine", "a1,2020-01-02,ied")
    reader = SlowReader(monkeypatch)
    job = upload(editor, changed, dry_run=False, dataset="d")
    reader.wait_reading()
    items = editor.get("/api/v1/accidents", params={"limit": 100}).json()["items"]
    target = next(i for i in items if i["external_id"] == "a2")
    r = editor.patch(f"/api/v1/accidents/{target['id']}", json={"narrative": "edited by hand"},
                     headers={"If-Match": f'"{target["version"]}"'})
    assert r.status_code == 200, r.text
    reader.release()
    done = wait_job(editor, job["id"])
    assert done["state"] == "failed" and "changed while" in done["report"]["message"], done
    after = editor.get(f"/api/v1/accidents/{target['id']}").json()
    assert after["narrative"] == "edited by hand"


def _slow_view_geopackage(path: Path) -> None:
    """A GeoPackage whose only layer is a view that takes long to read (a recursive
    query), as the attacker's 72 KB file was."""
    points = shapely.points(np.array([[-75.1, 6.1]]))
    raw.write(str(path), shapely.to_wkb(points), [np.array(["x"], dtype=object)],
              ["accident_kind"], driver="GPKG", geometry_type="Point", crs="EPSG:4326",
              layer="base")
    with sqlite3.connect(path) as db:
        db.execute("""CREATE VIEW slow AS WITH RECURSIVE n(i) AS
            (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30000000)
            SELECT b.fid AS fid, b.geom AS geom, b.accident_kind AS accident_kind
            FROM base b, (SELECT max(i) AS m FROM n) WHERE m > 0""")
        db.execute("UPDATE gpkg_contents SET table_name = 'slow', identifier = 'slow' "
                   "WHERE table_name = 'base'")
        db.execute("UPDATE gpkg_geometry_columns SET table_name = 'slow' "
                   "WHERE table_name = 'base'")
        db.execute("DELETE FROM gpkg_extensions")
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                  ).fetchall():
            db.execute(f'DROP TRIGGER "{name}"')


def test_a_geopackage_whose_layer_is_a_slow_view_holds_no_lock(
        api: Api, tmp_path: Path) -> None:
    path = tmp_path / "view.gpkg"
    _slow_view_geopackage(path)
    editor = api.as_("editor")
    job = upload(editor, path.read_bytes(), name="view.gpkg", dry_run=False)
    started = time.monotonic()
    r = api.anonymous().post("/api/v1/auth/login", json={"username": "editor",
                                                         "password": PASSWORD})
    assert r.status_code == 200 and time.monotonic() - started < QUICK_S
    done = wait_job(editor, job["id"], timeout=15)
    assert done["state"] == "failed", done
    message = done["report"]["message"]
    assert "view" in message and "view.gpkg" in message, message
    assert time.monotonic() - started < 10  # refused before reading, not read for ever
