"""Issue 15, items 1 and 11: an import could not be stopped and had no limits; a polygon
of 1,000,000 vertices was accepted (every map load of its layer was then 28 MB). Now API
imports can be cancelled, and stop past limits on rows, seconds and vertices per
geometry, writing nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from api_helpers import Api
from test_imports_helpers import GOOD, SlowReader, upload, wait_job


def test_a_running_import_can_be_cancelled(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = api.as_("editor")
    reader = SlowReader(monkeypatch, hold_s=20)
    job = upload(editor, GOOD, dry_run=False)
    reader.wait_reading()
    try:
        assert api.as_("editor", name="editor_b").post(
            f"/api/v1/imports/{job['id']}/cancel").status_code == 404  # not theirs
        assert api.as_("viewer").post(
            f"/api/v1/imports/{job['id']}/cancel").status_code == 403
        started = time.monotonic()
        r = editor.post(f"/api/v1/imports/{job['id']}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "cancelling", r.text
    finally:
        reader.release()  # the reader's next chunk is where the job notices
    done = wait_job(editor, job["id"])
    assert done["state"] == "cancelled" and time.monotonic() - started < 5, done
    assert "nothing was imported" in done["report"]["message"]
    assert editor.get("/api/v1/accidents").json()["items"] == []
    # An ended job cannot be cancelled; its upload is gone.
    assert editor.post(f"/api/v1/imports/{job['id']}/cancel").status_code == 409
    assert not (api.services.jobs.upload_dir / job["id"]).exists()


@pytest.mark.parametrize("settings_overrides", [{"import_max_rows": 10}])
def test_an_import_past_the_row_limit_writes_nothing(api: Api) -> None:
    editor = api.as_("editor")
    done = wait_job(editor, upload(editor, GOOD, dry_run=False)["id"])
    assert done["state"] == "failed", done
    assert "more than 10 rows" in done["report"]["message"]
    assert editor.get("/api/v1/accidents").json()["items"] == []


@pytest.mark.parametrize("settings_overrides", [{"import_max_seconds": 0.5}])
def test_an_import_past_the_time_limit_writes_nothing(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    editor = api.as_("editor")
    reader = SlowReader(monkeypatch, hold_s=1.5)  # the reader is slow; nobody releases it
    done = wait_job(editor, upload(editor, GOOD, dry_run=False)["id"])
    del reader
    assert done["state"] == "failed", done
    assert "longer than 0.5 s" in done["report"]["message"]
    assert editor.get("/api/v1/accidents").json()["items"] == []


def _ring(n: int) -> list[list[float]]:
    import math

    points = [[-75 + 0.01 * math.cos(2 * math.pi * i / n),
               6 + 0.01 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    return [*points, points[0]]


def _hazards(vertices: int) -> bytes:
    features: list[dict[str, Any]] = [
        {"type": "Feature", "properties": {"hazard_kind": "SHA", "external_id": name},
         "geometry": {"type": "Polygon", "coordinates": [_ring(n)]}}
        for name, n in (("small", 10), ("huge", vertices))]
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


@pytest.mark.parametrize("settings_overrides", [{"import_max_vertices": 1000}])
def test_a_polygon_of_too_many_vertices_is_a_row_error(api: Api) -> None:
    editor = api.as_("editor")
    job = upload(editor, _hazards(5000), name="areas.geojson", kind="hazards")
    done = wait_job(editor, job["id"])
    assert done["state"] == "rejected", done
    [error] = done["report"]["errors"]
    assert error["row"] == 2 and error["field"] == "geometry", error
    assert "5,001 vertices" in error["message"] and "1,000" in error["message"]
