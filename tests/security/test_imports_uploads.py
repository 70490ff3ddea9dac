"""Issue 15, item 15: uploads. Finished dry-run uploads were never deleted; they were kept
world-readable in a shared temporary folder; job reports gave server paths to the
client."""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

import pytest
from api_helpers import Api
from test_imports_helpers import GOOD, upload, wait_job

from mineaction.services.imports import ImportJobs


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_uploads_are_readable_by_the_server_user_only(api: Api) -> None:
    editor = api.as_("editor")
    job = wait_job(editor, upload(editor, GOOD)["id"])
    assert job["state"] == "done"
    folder = api.services.jobs.upload_dir
    [kept] = list((folder / job["id"]).iterdir())
    assert _mode(folder) == 0o700 and _mode(folder / job["id"]) == 0o700
    assert _mode(kept) == 0o600


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_shared_default_upload_folder_is_made_private_or_not_used(
        api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    default = tmp_path / f"mineaction-uploads-{os.getuid()}"
    default.mkdir(mode=0o777)
    os.chmod(default, 0o777)  # made by us, but open to all: closed
    jobs = ImportJobs(api.services.store, None, 1 << 20)
    assert jobs.upload_dir == default and _mode(default) == 0o700
    jobs.shutdown()
    default.rmdir()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    default.symlink_to(elsewhere)  # a link planted where the folder would be: not followed
    jobs = ImportJobs(api.services.store, None, 1 << 20)
    assert jobs.upload_dir not in (default, elsewhere) and _mode(jobs.upload_dir) == 0o700
    jobs.shutdown()
    jobs.upload_dir.rmdir()


@pytest.mark.parametrize("settings_overrides", [{"upload_keep_hours": 0.0003}])  # ~1 s
def test_finished_dry_run_uploads_are_deleted(api: Api) -> None:
    editor = api.as_("editor")
    folder = api.services.jobs.upload_dir
    first = wait_job(editor, upload(editor, GOOD)["id"])
    assert (folder / first["id"]).exists()  # kept for its commit
    time.sleep(1.3)
    second = wait_job(editor, upload(editor, GOOD)["id"])  # any upload sweeps expired ones
    assert not (folder / first["id"]).exists()
    r = editor.post(f"/api/v1/imports/{first['id']}/commit")
    assert r.status_code == 409 and "upload it again" in r.json()["message"]
    # A committed dry run's upload goes with its commit; rejected ones at once.
    done = wait_job(editor, editor.post(f"/api/v1/imports/{second['id']}/commit").json()["id"])
    assert done["state"] == "done" and not (folder / second["id"]).exists()
    bad = wait_job(editor, upload(editor, GOOD + "zz,2020-13-45,mine,-75,6\n")["id"])
    assert bad["state"] == "rejected" and not (folder / bad["id"]).exists()
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("name", "body"), [
    ("broken.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),
    ("junk.fgb", b"not a FlatGeobuf file at all"),  # GDAL names the file by its path
    ("broken.xlsx", b"PK\x03\x04 not really"),
    ("shapes.zip", b"PK\x05\x06" + b"\x00" * 18),
])
def test_job_reports_never_give_server_paths(api: Api, name: str, body: bytes) -> None:
    editor = api.as_("editor")
    job = wait_job(editor, upload(editor, body, name=name)["id"])
    assert job["state"] == "failed", job
    text = str(job)
    assert name in job["report"]["message"]
    folder = str(api.services.jobs.upload_dir)
    for secret in (folder, str(Path(folder).resolve()), tempfile.gettempdir(), "/vsizip/"):
        assert secret not in text, (secret, text)
    assert "upload_path" not in job and "_worker" not in job


def test_an_upload_is_gone_before_its_job_is_said_to_be_over(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client told "done" must find the upload gone: removed first, then the state set
    (found under load, when the client polled between the two)."""
    import sqlalchemy as sa

    import mineaction.services.imports as imports

    editor = api.as_("editor")
    dry = wait_job(editor, upload(editor, GOOD)["id"])
    states_seen_at_removal: list[str] = []
    real_rmtree = imports.shutil.rmtree

    def rmtree_noting_the_state(path: Path, **kw: object) -> None:
        jobs = imports.IMPORT_JOBS
        with api.services.store.engine.connect() as conn:
            states_seen_at_removal.extend(conn.execute(
                sa.select(jobs.c.state).where(~jobs.c.dry_run
                                              & jobs.c.upload_path.startswith(str(path))
                                              )).scalars())
        real_rmtree(path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(imports.shutil, "rmtree", rmtree_noting_the_state)
    commit = editor.post(f"/api/v1/imports/{dry['id']}/commit").json()
    assert wait_job(editor, commit["id"])["state"] == "done"
    assert states_seen_at_removal, "the committed upload was not removed"
    assert "done" not in states_seen_at_removal, states_seen_at_removal
