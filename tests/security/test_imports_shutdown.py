"""Issue 15, item 1: SIGTERM did not stop the server during an import (the import
executor was waited for), and after a restart the job still said "running". Now a
shutdown cancels the jobs in hand and waits for them a few seconds at most, and jobs a
dead worker left running are marked failed when the server starts (or is polled)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from api_helpers import PASSWORD, Api, make_settings
from test_imports_helpers import GOOD, SlowReader, upload, wait_job

from mineaction.audit.schema import IMPORT_JOBS
from mineaction.io import pipeline
from mineaction.services.container import build_services
from mineaction.services.imports import ImportJobs
from mineaction.store import open_store


def _slow_chunks(monkeypatch: pytest.MonkeyPatch, pause_s: float) -> None:
    real = pipeline.iter_table_chunks

    def slow(path: Any, **kw: Any) -> Any:
        kw["chunksize"] = 1
        for chunk in real(path, **kw):
            time.sleep(pause_s)
            yield chunk

    monkeypatch.setattr(pipeline, "iter_table_chunks", slow)


def test_shutdown_cancels_a_running_import(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _slow_chunks(monkeypatch, 0.2)  # 40 rows: 8 s of reading
    editor = api.as_("editor")
    job = upload(editor, GOOD, dry_run=False)
    wait_job(editor, job["id"], until=("running",))
    started = time.monotonic()
    api.services.jobs.shutdown()
    assert time.monotonic() - started < 2
    done = editor.get(f"/api/v1/imports/{job['id']}").json()
    assert done["state"] == "cancelled", done
    assert editor.get("/api/v1/accidents").json()["items"] == []
    # A server shutting down takes no new jobs.
    r = editor.post("/api/v1/imports", files={"file": ("a.csv", GOOD.encode())},
                    data={"kind": "accidents"})
    assert r.status_code == 409


def test_shutdown_does_not_wait_for_ever_on_a_stuck_reader(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = SlowReader(monkeypatch, hold_s=12)  # never released: stuck in a read
    editor = api.as_("editor")
    upload(editor, GOOD, dry_run=False)
    reader.wait_reading()
    started = time.monotonic()
    api.services.jobs.shutdown(wait_s=1)
    assert time.monotonic() - started < 3
    reader.release()


def test_jobs_left_running_by_a_dead_worker_are_failed_on_start(api: Api) -> None:
    store = api.services.store
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = datetime.now(UTC)
    with store.transaction() as conn:
        for job_id, worker in (("crashed", f"{socket.gethostname()}:{dead.pid}:x"),
                               ("old", None), ("elsewhere", "another-host:1:x")):
            conn.execute(IMPORT_JOBS.insert().values(
                id=job_id, state="running", dry_run=False, file_name="a.csv",
                upload_path="/nowhere/a.csv", params=json.dumps(
                    {"kind": "accident", **({"_worker": worker} if worker else {})}),
                rows_read=0, created_by="editor", created_at=now, updated_at=now))
    ImportJobs(store, api.services.jobs.upload_dir, 1 << 20).shutdown()
    with store.engine.connect() as conn:
        states = dict(conn.execute(sa.select(IMPORT_JOBS.c.id, IMPORT_JOBS.c.state)).all())
    # A worker on another host cannot be asked whether it lives: its job is left alone.
    assert states == {"crashed": "failed", "old": "failed", "elsewhere": "running"}
    report = api.as_("admin").get("/api/v1/imports/crashed").json()["report"]
    assert "the server stopped" in report["message"]


# -- a real server --------------------------------------------------------------------------

SERVE = textwrap.dedent("""
    import sys, time
    from mineaction.io import pipeline
    real = pipeline.iter_table_chunks
    def slow(path, **kw):  # a huge file: a chunk every half second
        kw["chunksize"] = 1
        for chunk in real(path, **kw):
            time.sleep(0.5)
            yield chunk
    pipeline.iter_table_chunks = slow
    from mineaction.cli import main
    sys.argv = ["mineaction", "serve", "--store", sys.argv[1], "--port", sys.argv[2],
                "--no-access-log"]
    main()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    store_path = str(tmp_path / f"{uuid.uuid4().hex}.gpkg")
    settings = make_settings(store_path, tmp_path)
    with open_store(store_path) as store:
        services = build_services(settings, store)
        services.users.add("editor", PASSWORD, "editor", None)
        token, _ = services.users.issue(services.users.get("editor"), "token")
        services.close()
    port = _free_port()
    env = {**os.environ, "MINEACTION_UPLOAD_DIR": str(tmp_path / "uploads"),
           "MINEACTION_ARGON2_TIME_COST": "1", "MINEACTION_ARGON2_MEMORY_KIB": "64"}
    script = tmp_path / "slow_serve.py"
    script.write_text(SERVE)
    proc = subprocess.Popen([sys.executable, str(script), store_path, str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/api/v1/auth/me", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the server did not start")
        time.sleep(0.2)
    return proc, store_path, {"base": base, "token": token}


def _start_import(info: dict[str, str]) -> str:
    headers = {"Authorization": f"Bearer {info['token']}"}
    r = httpx.post(f"{info['base']}/api/v1/imports", headers=headers,
                   files={"file": ("acc.csv", GOOD.encode())},
                   data={"kind": "accidents", "dry_run": "false"})
    assert r.status_code == 202, r.text
    job_id: str = r.json()["id"]
    for _ in range(100):
        job = httpx.get(f"{info['base']}/api/v1/imports/{job_id}", headers=headers).json()
        if job["state"] == "running" and job["rows_read"] > 0:
            return job_id
        time.sleep(0.1)
    raise AssertionError(f"the import is {job['state']}")


def _job_state(store_path: str, job_id: str) -> str:
    with open_store(store_path) as store:
        with store.engine.connect() as conn:
            state: str = conn.execute(sa.select(IMPORT_JOBS.c.state).where(
                IMPORT_JOBS.c.id == job_id)).scalar_one()
            return state


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_sigterm_stops_serve_within_10_s_during_an_import(tmp_path: Path) -> None:
    proc, store_path, info = _server(tmp_path)
    try:
        job_id = _start_import(info)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _job_state(store_path, job_id) == "cancelled"
    assert not any((tmp_path / "uploads").iterdir())  # its upload is gone too


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_job_killed_with_its_server_is_failed_at_the_next_start(tmp_path: Path) -> None:
    proc, store_path, info = _server(tmp_path)
    try:
        job_id = _start_import(info)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _job_state(store_path, job_id) == "running"  # as kill -9 left it
    with open_store(store_path) as store:
        services = build_services(make_settings(store_path, tmp_path), store)
        services.close()
    assert _job_state(store_path, job_id) == "failed"
    with open_store(store_path) as store, store.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM accidents")).scalar() == 0
