"""Helpers of the import attacks (issue 15, items 1, 11, 15): a reader that reads slowly
until the test lets it go, uploading, and waiting for a job. No tests here."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from mineaction.io import pipeline

GOOD = ("external_id,accident_date,accident_kind,longitude,latitude\n"
        + "".join(f"a{i},2020-01-{1 + i % 28:02d},mine,-75.1,6.1\n" for i in range(40)))


class SlowReader:
    """Stands in for the file reader: yields the file a few rows at a time, and after the
    first chunk waits until `release()` (at most `hold_s`), as a huge file or a slow
    GeoPackage view would keep an import reading."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, rows: int = 5,
                 hold_s: float = 15.0) -> None:
        self.gate = threading.Event()
        self.reading = threading.Event()
        self.hold_s = hold_s
        real = pipeline.iter_table_chunks

        def slow(path: Any, **kw: Any) -> Iterator[pd.DataFrame]:
            kw["chunksize"] = rows
            for i, chunk in enumerate(real(path, **kw)):
                if i == 1:
                    self.reading.set()
                    self.gate.wait(self.hold_s)
                yield chunk

        monkeypatch.setattr(pipeline, "iter_table_chunks", slow)

    def wait_reading(self, timeout: float = 10.0) -> None:
        assert self.reading.wait(timeout), "the import never started reading"

    def release(self) -> None:
        self.gate.set()


def wait_job(client: Any, job_id: str, *, until: tuple[str, ...] = (),
             timeout: float = 30.0) -> dict[str, Any]:
    """Poll a job until it has ended (or reached one of `until`)."""
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/imports/{job_id}").json()
        if job["state"] in until or (not until and job["state"] not in
                                     ("queued", "running", "cancelling")):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"import job still {job['state']}")
        time.sleep(0.05)


def upload(client: Any, text: str | bytes, *, name: str = "acc.csv", dry_run: bool = True,
           kind: str = "accidents", **data: str) -> dict[str, Any]:
    body = text.encode() if isinstance(text, str) else text
    r = client.post("/api/v1/imports", files={"file": (name, body)},
                    data={"kind": kind, "dry_run": str(dry_run).lower(), **data})
    assert r.status_code == 202, r.text
    job: dict[str, Any] = r.json()
    return job
