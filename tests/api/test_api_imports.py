"""Imports through the API: upload, dry-run report with row errors, commit as a background
job with progress; API imports land as submitted."""

from __future__ import annotations

import time
from typing import Any

GOOD = ("external_id,accident_date,accident_kind,longitude,latitude\n"
        "a1,2020-01-02,mine,-75.1,6.1\n"
        "a2,2020-02-03,ied,-75.2,6.2\n")
BAD = GOOD + "a3,2020-13-45,mine,-75.3,6.3\n"


def _wait(client, job: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for _ in range(300):
        job = client.get(f"/api/v1/imports/{job['id']}").json()
        if job["state"] not in ("queued", "running"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import job still {job['state']}")


def test_dry_run_then_commit(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    r = editor.post("/api/v1/imports", files={"file": ("acc.csv", GOOD.encode())},
                    data={"kind": "accidents", "dataset": "test", "dry_run": "true"})
    assert r.status_code == 202, r.text
    job = _wait(editor, r.json())
    assert job["state"] == "done" and job["rows_read"] == 2, job
    assert job["report"]["kinds"]["accident"]["added"] == 2
    assert job["report"]["committed"] is False
    assert editor.get("/api/v1/accidents").json()["items"] == []

    r = editor.post(f"/api/v1/imports/{job['id']}/commit")
    assert r.status_code == 202
    done = _wait(editor, r.json())
    assert done["state"] == "done" and done["report"]["committed"] is True
    items = editor.get("/api/v1/accidents").json()["items"]
    assert len(items) == 2 and {i["status"] for i in items} == {"submitted"}
    assert {i["created_by"] for i in items} == {"editor"}
    # A committed job cannot be committed twice; others' jobs are not visible.
    assert editor.post(f"/api/v1/imports/{done['id']}/commit").status_code == 409
    assert api.as_("field").get(f"/api/v1/imports/{done['id']}").status_code == 404
    entries = api.as_("admin").get("/api/v1/audit/entries").json()
    assert any(e["action"] == "import" and e["actor"] == "editor" for e in entries)


def test_row_errors_are_reported_and_nothing_lands(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    r = editor.post("/api/v1/imports", files={"file": ("acc.csv", BAD.encode())},
                    data={"kind": "accidents", "dry_run": "false"})
    job = _wait(editor, r.json())
    assert job["state"] == "rejected"
    errors = job["report"]["errors"]
    assert len(errors) == 1 and errors[0]["row"] == 4 and errors[0]["field"] == "accident_date"
    assert editor.get("/api/v1/accidents").json()["items"] == []


def test_only_shipped_mappings_and_size_limit(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    r = editor.post("/api/v1/imports", files={"file": ("a.csv", GOOD.encode())},
                    data={"mapping": "/etc/passwd"})
    assert r.status_code == 422 and "shipped" in r.json()["message"]
    big = editor.post("/api/v1/accidents", content=b"{" + b" " * 2_000_000 + b"}",
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
