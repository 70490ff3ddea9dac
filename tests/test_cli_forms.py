# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction forms build` and `mineaction forms import` (issue 21, item 6): the forms
written as XLSForms that pyxform converts, and an ODK Central export of the accident form
imported with its victims and photo; a bad export is refused naming file, row, field."""

from __future__ import annotations

import csv
import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from openpyxl import load_workbook
from pytest import MonkeyPatch
from pyxform.xls2xform import convert
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.io.xlsform import FORMS
from mineaction.store import open_store
from mineaction.store.query import Query

runner = CliRunner()
KEY = "uuid:1b0f3c52-7e0a-4d7b-9f7e-2a6c9d1e8b30"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _central_zip(path: Path, latitude: str = "6.1432") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mineaction_accident.csv", _csv([
            ["SubmissionDate", "accident_date", "geometry-Latitude", "geometry-Longitude",
             "geometry-Altitude", "geometry-Accuracy", "accident_kind", "device_category",
             "photo", "meta-instanceID", "KEY", "ReviewState"],
            ["2024-03-06T14:02:11.120Z", "2024-03-05", latitude, "-75.2088", "2150", "4.8",
             "mine", "ap_mine", "p1.jpg", KEY, KEY, ""]]))
        z.writestr("mineaction_accident-victims.csv", _csv([
            ["outcome", "sex", "age", "PARENT_KEY", "KEY"],
            ["injured", "male", "34", KEY, f"{KEY}/victims[1]"],
            ["killed", "female", "40", KEY, f"{KEY}/victims[2]"]]))
        z.writestr("media/p1.jpg", b"\xff\xd8\xff\xe0photo\xff\xd9")
    return path


def test_forms_build_writes_every_form_that_pyxform_converts(tmp_path: Path) -> None:
    result = runner.invoke(app, ["forms", "build", "--out", str(tmp_path / "forms")])
    assert result.exit_code == 0, result.output
    for name, form in FORMS.items():
        path = tmp_path / "forms" / f"{name}.xlsx"
        assert f"{path}: {form.title}" in result.output
        assert form.form_id in convert(xlsform=str(path)).xform
        header = next(load_workbook(path)["survey"].iter_rows(values_only=True))
        assert "label::Español (es)" in header
    assert "without a translation" not in result.output  # the catalogue has them all


def test_forms_build_one_form_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["forms", "build", "--out", str(tmp_path),
                                 "--form", "accident", "--language", "en"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["accident.xlsx"]
    header = next(load_workbook(tmp_path / "accident.xlsx")["survey"]
                  .iter_rows(values_only=True))
    assert "label::English (en)" in header and "label::Español (es)" not in header
    bad = runner.invoke(app, ["forms", "build", "--out", str(tmp_path), "--form", "mines"])
    assert bad.exit_code == 2 and "no form 'mines'" in bad.output


def test_forms_import_central_zip(tmp_path: Path) -> None:
    store = tmp_path / "store.gpkg"
    export = _central_zip(tmp_path / "mineaction_accident.zip")
    dry = runner.invoke(app, ["forms", "import", str(export), "--dry-run",
                              "--store", str(store)])
    assert dry.exit_code == 0, dry.output
    assert "attachments    would add 1" in dry.output
    result = runner.invoke(app, ["forms", "import", str(export), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "form accident" in result.output
    assert "victim         added 2" in result.output
    assert "attachments    added 1" in result.output
    with open_store(store) as s:
        (accident,) = s.query(Query(kind="accident")).items
        victims = s.query(Query(kind="victim")).items
        assert accident.status == "submitted"
        assert {v.accident_id for v in victims} == {accident.id}  # type: ignore[attr-defined]


def test_forms_import_refuses_a_bad_export_naming_where(tmp_path: Path) -> None:
    store = tmp_path / "store.gpkg"
    export = _central_zip(tmp_path / "mineaction_accident.zip", latitude="abc")
    result = runner.invoke(app, ["forms", "import", str(export), "--store", str(store)])
    assert result.exit_code == 1
    assert ("mineaction_accident.zip:mineaction_accident.csv, row 2, field geometry "
            "(column 'geometry-Latitude')") in result.output
    assert "nothing was imported" in result.output
    with open_store(store) as s:
        assert s.query(Query(kind="accident")).items == []
    other = tmp_path / "notes.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    unknown = runner.invoke(app, ["forms", "import", str(other), "--store", str(store)])
    assert unknown.exit_code == 2 and "give --form" in unknown.output


class _Central(BaseHTTPRequestHandler):
    """Just enough of ODK Central's API: a session for one account, the CSV zip export of
    the accident form of project 7, and signing out."""

    export = b""
    calls: list[str] = []

    def log_message(self, *args: object) -> None:  # quiet test output
        pass

    def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 -- http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(f"POST {self.path}")
        if self.path == "/v1/sessions" and body == {"email": "ana@example.org",
                                                    "password": "s3cret"}:
            self._answer(200, b'{"token": "tok-1", "expiresAt": "2030-01-01T00:00:00Z"}')
        else:
            self._answer(401, b'{"message": "Could not authenticate"}')

    def do_GET(self) -> None:  # noqa: N802
        self.calls.append(f"GET {self.path}")
        if self.headers.get("Authorization") != "Bearer tok-1":
            self._answer(401, b"{}")
        elif self.path == ("/v1/projects/7/forms/mineaction_accident/submissions.csv.zip"
                           "?attachments=true"):
            self._answer(200, self.export, "application/zip")
        else:
            self._answer(404, b"{}")

    def do_DELETE(self) -> None:  # noqa: N802
        self.calls.append(f"DELETE {self.path}")
        self._answer(200, b'{"success": true}')


def test_forms_import_pulls_from_an_odk_central_server(tmp_path: Path,
                                                        monkeypatch: MonkeyPatch) -> None:
    _Central.export = _central_zip(tmp_path / "export.zip").read_bytes()
    _Central.calls = []
    server = HTTPServer(("127.0.0.1", 0), _Central)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    store = tmp_path / "store.gpkg"
    monkeypatch.setenv("MINEACTION_CENTRAL_EMAIL", "ana@example.org")
    try:
        monkeypatch.setenv("MINEACTION_CENTRAL_PASSWORD", "wrong")
        refused = runner.invoke(app, ["forms", "import", "--central", url, "--project", "7",
                                      "--form", "accident", "--store", str(store)])
        assert refused.exit_code == 1 and "refused the email and password" in refused.output
        monkeypatch.setenv("MINEACTION_CENTRAL_PASSWORD", "s3cret")
        missing = runner.invoke(app, ["forms", "import", "--central", url, "--project", "8",
                                      "--form", "accident", "--store", str(store)])
        assert missing.exit_code == 1 and "no such project or form" in missing.output
        result = runner.invoke(app, ["forms", "import", "--central", url, "--project", "7",
                                     "--form", "accident", "--store", str(store)])
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    assert result.exit_code == 0, result.output
    assert f"{url} (project 7): form accident, imported" in result.output
    assert "victim         added 2" in result.output and "attachments    added 1" in result.output
    assert "DELETE /v1/sessions/tok-1" in _Central.calls  # signed out
    with open_store(store) as s:
        assert len(s.query(Query(kind="victim")).items) == 2
    plain = runner.invoke(app, ["forms", "import", "--central", "http://central.example.org",
                                "--project", "7", "--form", "accident", "--store", str(store)])
    assert plain.exit_code == 1 and "use https" in plain.output
    neither = runner.invoke(app, ["forms", "import", "--store", str(store)])
    assert neither.exit_code == 2
    status = runner.invoke(app, ["forms", "import", str(tmp_path / "export.zip"),
                                 "--status", "final", "--store", str(store)])
    assert status.exit_code == 2 and "give one of draft, submitted" in status.output
