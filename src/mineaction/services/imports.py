"""Imports through the API: upload, dry run with row errors, then commit, as background jobs
whose progress can be polled.

Jobs run one at a time per worker process in a thread (an import is one store transaction;
two at once would only queue on the write lock). Their state is kept in the import_jobs
table, so any worker answers a poll; rows read so far are written there about once a
second on PostGIS, and kept in memory on GeoPackage, whose single writer lock the running
import holds (a poll reaching another worker then sees "running" without the count).

API imports land as `submitted`, awaiting approval (issue 3); the CLI's land approved.
Only mappings shipped with mineaction can be named: a path would let a client read server
files.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from mineaction.access.roles import Principal, may_review
from mineaction.audit.schema import IMPORT_JOBS
from mineaction.io.errors import FileError
from mineaction.io.mapping import MappingError, entity_kind, load_mapping, shipped_mappings
from mineaction.io.pipeline import ImportRejected, import_file
from mineaction.services.errors import Conflict, Invalid, NotFoundError, PayloadTooLarge
from mineaction.store.base import Store

log = logging.getLogger("mineaction.services.imports")
MAX_ERRORS_SHOWN = 1000


def _report_json(report: Any) -> dict[str, Any]:
    return {"rows_read": report.rows_read, "dataset": report.dataset,
            "dry_run": report.dry_run, "committed": report.committed,
            "seconds": round(report.seconds, 3), "import_id": report.import_id,
            "kinds": {k: vars(v) for k, v in report.kinds.items()},
            "error_count": len(report.errors),
            "errors": [{"row": e.row, "field": e.field, "message": e.message,
                        "column": e.column} for e in report.errors[:MAX_ERRORS_SHOWN]],
            "flag_count": len(report.flags)}


class ImportJobs:
    def __init__(self, store: Store, upload_dir: Path | None, max_bytes: int) -> None:
        self.store = store
        self.upload_dir = upload_dir or Path(tempfile.gettempdir()) / "mineaction-uploads"
        self.max_bytes = max_bytes
        self._executor: ThreadPoolExecutor | None = None
        self._progress: dict[str, int] = {}
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="mineaction-import")
            return self._executor

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    # -- requests -------------------------------------------------------------------------
    def start(self, p: Principal, file_name: str, stream: BinaryIO, *, kind: str | None,
              mapping: str | None, dataset: str | None, dry_run: bool) -> dict[str, Any]:
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
        job_id = str(uuid.uuid4())
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file_name or "upload").name)[-120:]
        folder = self.upload_dir / job_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (safe.lstrip(".") or "upload")
        written = 0
        with target.open("wb") as out:
            while chunk := stream.read(1 << 20):
                written += len(chunk)
                if written > self.max_bytes:
                    out.close()
                    shutil.rmtree(folder, ignore_errors=True)
                    raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
                out.write(chunk)
        params = {"kind": kind, "mapping": mapping, "dataset": dataset}
        return self._enqueue(p, job_id, target, params, dry_run)

    def commit(self, p: Principal, job_id: str) -> dict[str, Any]:
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
            raise Conflict(f"the upload of job {job_id} is gone; upload it again")
        return self._enqueue(p, str(uuid.uuid4()), path, json.loads(row["params"]), False)

    def get(self, p: Principal, job_id: str) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(IMPORT_JOBS).where(IMPORT_JOBS.c.id == job_id)
                               ).mappings().first()
        if row is None or (row["created_by"] != p.username and not may_review(p)):
            raise NotFoundError(f"no import job {job_id}")
        rows_read = self._progress.get(job_id, row["rows_read"])
        return {"id": row["id"], "state": row["state"], "dry_run": bool(row["dry_run"]),
                "file_name": row["file_name"], **json.loads(row["params"]),
                "rows_read": rows_read, "created_by": row["created_by"],
                "created_at": row["created_at"].isoformat(),
                "report": json.loads(row["report"]) if row["report"] else None}

    # -- running --------------------------------------------------------------------------
    def _enqueue(self, p: Principal, job_id: str, path: Path, params: dict[str, Any],
                 dry_run: bool) -> dict[str, Any]:
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            conn.execute(IMPORT_JOBS.insert().values(
                id=job_id, state="queued", dry_run=dry_run, file_name=path.name,
                upload_path=str(path), params=json.dumps(params), rows_read=0,
                created_by=p.username, created_at=now, updated_at=now))
        self._pool().submit(self._run, job_id, path, params, dry_run, p.username)
        return self.get(p, job_id)

    def _set(self, job_id: str, **values: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(IMPORT_JOBS.update().where(IMPORT_JOBS.c.id == job_id)
                         .values(updated_at=datetime.now(UTC), **values))

    def _run(self, job_id: str, path: Path, params: dict[str, Any], dry_run: bool,
             user: str) -> None:
        self._set(job_id, state="running")
        self._progress[job_id] = 0
        last_write = [time.monotonic()]

        def progress(n: int) -> None:
            self._progress[job_id] = self._progress.get(job_id, 0) + n
            if self.store.dialect == "postgis" and time.monotonic() - last_write[0] > 1:
                last_write[0] = time.monotonic()
                self._set(job_id, rows_read=self._progress[job_id])

        try:
            mapping = load_mapping(params["mapping"]) if params.get("mapping") else None
            report = import_file(self.store, path, kind=params.get("kind"), mapping=mapping,
                                 dataset=params.get("dataset"), dry_run=dry_run,
                                 status="submitted", user=user, progress=progress)
            state, body = "done", _report_json(report)
        except ImportRejected as exc:
            state, body = "rejected", _report_json(exc.report)
        except (MappingError, FileError) as exc:
            state, body = "failed", {"message": str(exc)}
        except Exception:  # noqa: BLE001 -- a job must end in a state the client can see
            log.exception("import job %s failed", job_id)
            state, body = "failed", {"message": "internal error; see the server log"}
        self._set(job_id, state=state, report=json.dumps(body),
                  rows_read=body.get("rows_read", self._progress.get(job_id, 0)))
        self._progress.pop(job_id, None)
        if not dry_run or state != "done":
            shutil.rmtree(path.parent, ignore_errors=True)
