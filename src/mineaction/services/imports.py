"""Imports through the API: upload, dry run with row errors, then commit, as background jobs
whose progress can be polled and which can be cancelled.

Jobs run one at a time per worker process, in a daemon thread: the file is read, mapped
and checked without holding the store's write lock, which is taken only for the short
write at the end (io/pipeline.py; issue 15: on GeoPackage the running import held the only
write lock for its whole run, and every sign-in, edit and audit-log write waited for it).
Their state is kept in the import_jobs table, so any worker answers a poll (and can cancel
a job another worker runs); rows read so far are written there after each chunk of rows.

A job can be cancelled (`cancel`), and stops past its limits (rows, vertices per geometry,
seconds, memory: the import_* settings). Shutting down cancels what runs and waits for it
a few seconds at most; a job left "running" by a worker that died (a crash, kill -9) is
marked failed when the server starts again, or when it is polled.

Uploads wait in a folder only the server's user may open (0700, files 0600); a finished
dry run's upload is kept `upload_keep_hours` for its commit, then deleted. Answers never
give server paths: messages name the file only.

API imports land as `submitted`, awaiting approval (issue 3); the CLI's land approved.
Only mappings shipped with mineaction can be named: a path would let a client read server
files.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import socket
import stat
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from mineaction.access.roles import Policy, Principal, may_review, writable_organisation
from mineaction.audit.schema import IMPORT_JOBS
from mineaction.io.errors import FileError
from mineaction.io.mapping import MappingError, entity_kind, load_mapping, shipped_mappings
from mineaction.io.pipeline import (
    ImportCancelled,
    ImportConflict,
    ImportLimits,
    ImportRejected,
    ImportStopped,
    import_file,
)
from mineaction.services.errors import Conflict, Invalid, NotFoundError, PayloadTooLarge
from mineaction.services.settings import Settings
from mineaction.store.base import Store

log = logging.getLogger("mineaction.services.imports")
MAX_ERRORS_SHOWN = 1000
# States in which a job has not ended yet.
ACTIVE = ("queued", "running", "cancelling")
# How long `shutdown` waits for a cancelled job to stop (it stops between chunks).
SHUTDOWN_WAIT_S = 4.0
DEFAULT_KEEP_HOURS = 24.0
_HOST = socket.gethostname()
# The ImportJobs of this process that have not shut down: their jobs are alive.
_LIVE: set[str] = set()


def _report_json(report: Any) -> dict[str, Any]:
    return {"rows_read": report.rows_read, "dataset": report.dataset,
            "dry_run": report.dry_run, "committed": report.committed,
            "seconds": round(report.seconds, 3), "import_id": report.import_id,
            "kinds": {k: vars(v) for k, v in report.kinds.items()},
            "error_count": len(report.errors),
            "errors": [{"row": e.row, "field": e.field, "message": e.message,
                        "column": e.column} for e in report.errors[:MAX_ERRORS_SHOWN]],
            "flag_count": len(report.flags),
            "flags": [{"row": f.row, "kind": f.kind, "record_id": f.record_id,
                       "field": f.field, "message": f.message}
                      for f in report.flags[:MAX_ERRORS_SHOWN]]}


def limits_from(settings: Settings) -> ImportLimits:
    """The limits of API imports, from the import_* settings (0 is no limit)."""
    return ImportLimits(max_rows=settings.import_max_rows or None,
                        max_vertices=settings.import_max_vertices or None,
                        max_seconds=settings.import_max_seconds or None,
                        max_memory_mb=settings.import_max_memory_mb or None)


def _private_dir(path: Path, *, default: bool) -> Path:
    """``path`` made a folder only this user may open (0700). The default one lives in a
    shared temporary folder: if someone else made it first (or a link in its place), a
    fresh private one is used instead."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
        ours = not hasattr(os, "getuid") or st.st_uid == os.getuid()
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or not ours:
            raise PermissionError(f"{path} is not a folder of this user")
        os.chmod(path, 0o700)
        return path
    except OSError as exc:
        if not default:
            raise
        fresh = Path(tempfile.mkdtemp(prefix="mineaction-uploads-"))
        log.warning("upload folder %s refused (%s); using %s", path, exc, fresh)
        return fresh


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


class ImportJobs:
    def __init__(self, store: Store, upload_dir: Path | None, max_bytes: int) -> None:
        self.store = store
        if upload_dir is None:
            uid = os.getuid() if hasattr(os, "getuid") else "user"
            self.upload_dir = _private_dir(
                Path(tempfile.gettempdir()) / f"mineaction-uploads-{uid}", default=True)
        else:
            self.upload_dir = _private_dir(Path(upload_dir), default=False)
        self.max_bytes = max_bytes
        # Organisation scoping (access/roles.py): set by the container from the settings.
        self.policy = Policy()
        self.keep_hours = DEFAULT_KEEP_HOURS
        self.token = uuid.uuid4().hex
        self.worker = f"{_HOST}:{os.getpid()}:{self.token}"
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel: dict[str, threading.Event] = {}  # jobs of this process not ended
        self._lock = threading.Lock()
        self._closed = False
        _LIVE.add(self.token)
        self._recover()

    # -- life cycle -----------------------------------------------------------------------
    def _worker_gone(self, worker: str | None) -> bool:
        """Whether the worker that ran a job has died (so the job never ends by itself).
        Workers on other hosts cannot be asked: their jobs are left as they are."""
        if not worker:
            return True  # written before jobs named their worker
        host, _, rest = worker.partition(":")
        pid_text, _, token = rest.partition(":")
        if host != _HOST or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            return token not in _LIVE
        return not _pid_alive(pid)

    def _recover(self) -> None:
        """Jobs a dead worker left queued or running are failed; expired uploads go."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(IMPORT_JOBS.c.id, IMPORT_JOBS.c.params,
                                          IMPORT_JOBS.c.upload_path)
                                .where(IMPORT_JOBS.c.state.in_(ACTIVE))).all()
        for job_id, params, upload in rows:
            if self._worker_gone(json.loads(str(params)).get("_worker")):
                self._fail_orphan(str(job_id), str(upload) if upload else None)
        self.sweep()

    def _fail_orphan(self, job_id: str, upload: str | None) -> None:
        body = {"message": "the server stopped while this job ran; nothing was imported: "
                           "start the import again"}
        with self.store.transaction() as conn:
            done = conn.execute(IMPORT_JOBS.update().where(
                (IMPORT_JOBS.c.id == job_id) & IMPORT_JOBS.c.state.in_(ACTIVE)).values(
                state="failed", report=json.dumps(body), updated_at=datetime.now(UTC)))
        if done.rowcount and upload:
            self._remove_upload(job_id, Path(upload))
        log.warning("import job %s was left running by a stopped worker: marked failed",
                    job_id)

    def _remove_upload(self, job_id: str, path: Path) -> None:
        """Delete an upload's folder: the folder this module made for it, and only that."""
        if path.parent.name == job_id:
            shutil.rmtree(path.parent, ignore_errors=True)

    def sweep(self) -> None:
        """Delete the uploads of dry runs finished more than `keep_hours` ago: they can no
        longer be committed."""
        cutoff = datetime.now(UTC) - timedelta(hours=self.keep_hours)
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(IMPORT_JOBS.c.id, IMPORT_JOBS.c.upload_path).where(
                IMPORT_JOBS.c.dry_run.is_(True) & IMPORT_JOBS.c.state.not_in(ACTIVE)
                & (IMPORT_JOBS.c.updated_at < cutoff))).all()
        for job_id, upload in rows:
            if upload and Path(str(upload)).exists():
                self._remove_upload(str(job_id), Path(str(upload)))

    def shutdown(self, wait_s: float = SHUTDOWN_WAIT_S) -> None:
        """Cancel the jobs of this process and wait for them `wait_s` at most: a server
        told to stop (SIGTERM) stops within seconds, even during an import. A job that
        has not stopped by then is left to the process's exit (its transaction, if any,
        is rolled back) and marked failed at the next start."""
        with self._lock:
            self._closed = True
            for event in self._cancel.values():
                event.set()
            thread = self._thread
        self._queue.put(None)
        if thread is not None:
            thread.join(wait_s)
            if thread.is_alive():
                log.warning("an import job did not stop within %.0f s of shutdown", wait_s)
                return  # still using this instance: its jobs count as alive till exit
        _LIVE.discard(self.token)

    # -- requests -------------------------------------------------------------------------
    def start(self, p: Principal, file_name: str, stream: BinaryIO, *, kind: str | None,
              mapping: str | None, dataset: str | None, dry_run: bool,
              limits: ImportLimits | None = None) -> dict[str, Any]:
        if mapping is not None and mapping not in shipped_mappings():
            raise Invalid(f"unknown mapping {mapping!r}; shipped: "
                          f"{', '.join(shipped_mappings())}")
        if mapping is None and kind is None:
            raise Invalid("give a kind or a mapping")
        if kind is not None:
            try:
                kind = entity_kind(kind)
            except MappingError as exc:
                raise Invalid(str(exc)) from None
        self.sweep()
        job_id = str(uuid.uuid4())
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file_name or "upload").name)[-120:]
        folder = self.upload_dir / job_id
        folder.mkdir(mode=0o700)
        target = folder / (safe.lstrip(".") or "upload")
        written = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                written += len(chunk)
                if written > self.max_bytes:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
                out.write(chunk)
        params = {"kind": kind, "mapping": mapping, "dataset": dataset}
        return self._enqueue(p, job_id, target, params, dry_run, limits)

    def commit(self, p: Principal, job_id: str, limits: ImportLimits | None = None
               ) -> dict[str, Any]:
        """Import for real a file whose dry run is done."""
        job = self.get(p, job_id)
        if not job["dry_run"] or job["state"] != "done":
            raise Conflict(f"job {job_id} is {job['state']}; only a finished dry run can "
                           "be committed")
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(IMPORT_JOBS).where(IMPORT_JOBS.c.id == job_id)
                               ).mappings().one()
        path = Path(row["upload_path"])
        if not path.is_file():
            raise Conflict(f"the upload of job {job_id} is gone (committed already, or kept "
                           "past its time); upload it again")
        params = {k: v for k, v in json.loads(row["params"]).items()
                  if not k.startswith("_")}
        return self._enqueue(p, str(uuid.uuid4()), path, params, False, limits)

    def _row(self, p: Principal, job_id: str) -> Any:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(IMPORT_JOBS).where(IMPORT_JOBS.c.id == job_id)
                               ).mappings().first()
        if row is None or (row["created_by"] != p.username and not may_review(p)):
            raise NotFoundError(f"no import job {job_id}")
        return row

    def get(self, p: Principal, job_id: str) -> dict[str, Any]:
        row = self._row(p, job_id)
        params = json.loads(row["params"])
        if row["state"] in ACTIVE and job_id not in self._cancel \
                and self._worker_gone(params.get("_worker")):
            self._fail_orphan(job_id, row["upload_path"])
            row = self._row(p, job_id)
        return {"id": row["id"], "state": row["state"], "dry_run": bool(row["dry_run"]),
                "file_name": row["file_name"],
                **{k: v for k, v in params.items() if not k.startswith("_")},
                "rows_read": row["rows_read"], "created_by": row["created_by"],
                "created_at": row["created_at"].isoformat(),
                "report": json.loads(row["report"]) if row["report"] else None}

    def cancel(self, p: Principal, job_id: str) -> dict[str, Any]:
        """Stop a queued or running job; nothing it read is written. The job says
        "cancelling" until it has stopped (within a chunk of rows), then "cancelled"."""
        row = self._row(p, job_id)
        if row["state"] not in ACTIVE:
            raise Conflict(f"job {job_id} is {row['state']}; only a queued or running job "
                           "can be cancelled")
        with self.store.transaction() as conn:
            conn.execute(IMPORT_JOBS.update().where(
                (IMPORT_JOBS.c.id == job_id) & IMPORT_JOBS.c.state.in_(ACTIVE)).values(
                state="cancelling", updated_at=datetime.now(UTC)))
        event = self._cancel.get(job_id)
        if event is not None:
            event.set()
        return self.get(p, job_id)

    # -- running --------------------------------------------------------------------------
    def _enqueue(self, p: Principal, job_id: str, path: Path, params: dict[str, Any],
                 dry_run: bool, limits: ImportLimits | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        with self._lock:
            if self._closed:
                raise Conflict("the server is shutting down; start the import again later")
            self._cancel[job_id] = threading.Event()
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, daemon=True,
                                                name="mineaction-import")
                self._thread.start()
        with self.store.transaction() as conn:
            conn.execute(IMPORT_JOBS.insert().values(
                id=job_id, state="queued", dry_run=dry_run, file_name=path.name,
                upload_path=str(path), params=json.dumps({**params, "_worker": self.worker}),
                rows_read=0, created_by=p.username, created_at=now, updated_at=now))
        # An editor imports for its own organisation only, as it writes (issue 15, 9).
        limits = replace(limits or ImportLimits(),
                         organisation=writable_organisation(p, self.policy))
        self._queue.put((job_id, path, params, dry_run, p.username, limits))
        return self.get(p, job_id)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._run(*item)
            except Exception:  # noqa: BLE001 -- the worker thread must outlive a bad job
                log.exception("import job %s could not be run", item[0])
            finally:
                self._cancel.pop(item[0], None)
        # Jobs still queued at shutdown: they never ran.
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                self._finish(item[0], item[1], False, "cancelled",
                             {"message": "the server stopped before this job ran"})

    def _set(self, job_id: str, **values: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(IMPORT_JOBS.update().where(IMPORT_JOBS.c.id == job_id)
                         .values(updated_at=datetime.now(UTC), **values))

    def _scrub(self, text: str, path: Path) -> str:
        """Server paths out of a message: the upload is named by its file name only."""
        for folder in {str(path.parent), str(self.upload_dir), str(self.upload_dir.resolve()),
                       tempfile.gettempdir()}:
            text = re.sub(re.escape(folder) + r"[/\\]?([^\s'\":,;)]*)",
                          lambda m: Path(m.group(1)).name or path.name, text)
        return text

    def _finish(self, job_id: str, path: Path, dry_run: bool, state: str,
                body: dict[str, Any], rows_read: int | None = None) -> None:
        values: dict[str, Any] = {"state": state, "report": self._scrub(json.dumps(body), path)}
        if rows_read is not None:
            values["rows_read"] = rows_read
        if not dry_run or state != "done":
            # The upload of a commit is its dry run's: both are done with it. Removed before
            # the job is said to be over, so that a client told "done" finds it gone (a
            # crash in between leaves a running job, failed at the next start).
            shutil.rmtree(path.parent, ignore_errors=True)
        self._set(job_id, **values)

    def _run(self, job_id: str, path: Path, params: dict[str, Any], dry_run: bool,
             user: str, limits: ImportLimits) -> None:
        event = self._cancel.get(job_id) or threading.Event()
        with self.store.transaction() as conn:
            started = conn.execute(IMPORT_JOBS.update().where(
                (IMPORT_JOBS.c.id == job_id) & (IMPORT_JOBS.c.state == "queued")).values(
                state="running", updated_at=datetime.now(UTC))).rowcount
        if not started or event.is_set():
            self._finish(job_id, path, dry_run, "cancelled",
                         {"message": "the import was cancelled; nothing was imported"}, 0)
            return
        rows = [0]
        last = [time.monotonic()]

        def cancelled() -> bool:
            if event.is_set():
                return True
            if time.monotonic() - last[0] < 1:
                return False
            # Another worker may have been asked to cancel this job: the table says so.
            last[0] = time.monotonic()
            with self.store.engine.connect() as conn:
                state = conn.execute(sa.select(IMPORT_JOBS.c.state).where(
                    IMPORT_JOBS.c.id == job_id)).scalar()
            return state == "cancelling"

        def progress(n: int) -> None:
            rows[0] += n
            self._set(job_id, rows_read=rows[0])

        body: dict[str, Any]
        try:
            mapping = load_mapping(params["mapping"]) if params.get("mapping") else None
            report = import_file(self.store, path, kind=params.get("kind"), mapping=mapping,
                                 dataset=params.get("dataset"), dry_run=dry_run,
                                 status="submitted", user=user, progress=progress,
                                 limits=limits, cancelled=cancelled)
            state, body = "done", _report_json(report)
        except ImportRejected as exc:
            state, body = "rejected", _report_json(exc.report)
        except ImportCancelled as exc:
            state, body = "cancelled", {"message": str(exc)}
        except ImportStopped as exc:  # past a limit
            state, body = "failed", {"message": str(exc)}
        except FileError as exc:
            state, body = "failed", {"message": f"{path.name}: {exc.message}"}
        except (MappingError, ImportConflict) as exc:
            state, body = "failed", {"message": str(exc)}
        except Exception:  # noqa: BLE001 -- a job must end in a state the client can see
            log.exception("import job %s failed", job_id)
            state, body = "failed", {"message": "internal error; see the server log"}
        self._finish(job_id, path, dry_run, state, body, body.get("rows_read", rows[0]))
