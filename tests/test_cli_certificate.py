"""`mineaction site-check --certificate` and `mineaction certificate verify` (issue 20): a
certificate written as a PDF (the public view, whoever runs the command), verified
unchanged (exit 0), then changed (exit 1, the record and field named); an unknown id is a
usage error (exit 2)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.domain.models import Hazard, MinefieldRecord
from mineaction.store import open_store

runner = CliRunner()
LON, LAT = -75.0, 6.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        store.add(Hazard(name="H-1", hazard_kind="CHA", hazard_status="open",
                         geometry=box(LON, LAT, LON + 0.001, LAT + 0.001), dataset="t",
                         external_id="h1", status="approved"))
        store.add(Hazard(name="H-draft", hazard_kind="SHA", hazard_status="open",
                         geometry=box(LON, LAT, LON + 0.0002, LAT + 0.0002), dataset="t",
                         external_id="h2", status="draft"))
        store.add(MinefieldRecord(name="MF-1", geometry=box(LON, LAT, LON + 0.0005,
                                                            LAT + 0.0005),
                                  dataset="t", external_id="m1", status="approved"))
    return path


def cli(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--store", str(path)], env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_a_certificate_is_written_and_verified(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "cert.pdf"
    code, text = cli(store_path, "site-check", f"--point={LON + 0.0001},{LAT + 0.0001}",
                     "--certificate", str(out), "--lang", "es")
    assert code == 0, text
    assert out.read_bytes().startswith(b"%PDF")
    cert_id = re.search(r"certificate ([0-9a-f-]{36})", text)
    assert cert_id is not None, text
    pdf_text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                              check=False).stdout if _has_pdftotext() else ""
    if pdf_text:
        assert "Certificado de consulta de sitio" in pdf_text
        assert "H-draft" not in pdf_text and "MF-1" not in pdf_text
    code, text = cli(store_path, "certificate", "verify", cert_id.group(1))
    assert code == 0, text
    assert "unchanged" in text

    with open_store(store_path) as store:
        hazard = next(h for h in store.query(_query()).items if h.name == "H-1")
        changed = type(hazard).model_validate({**hazard.model_dump(), "hazard_status": "closed"})
        store.update(changed, expected_version=hazard.version)
    code, text = cli(store_path, "certificate", "verify", cert_id.group(1), "--json")
    assert code == 1, text
    result = json.loads(text)
    assert result["unchanged"] is False
    assert [(c["id"], c["fields"]) for c in result["changed"]] == [
        (str(hazard.id), ["hazard_status"])]


def test_an_unknown_certificate(store_path: Path) -> None:
    code, text = cli(store_path, "certificate", "verify", "00000000-0000-4000-8000-000000000000")
    assert code == 2
    assert "no certificate" in text


def test_no_certificate_for_a_batch(store_path: Path, tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text("id,lon,lat\na,-75,6\n")
    code, text = cli(store_path, "site-check", str(sites), "--batch", "--certificate",
                     str(tmp_path / "x.pdf"))
    assert code == 2
    assert "--certificate is for one site" in text


def _query():  # type: ignore[no-untyped-def]
    from mineaction.store.query import Query

    return Query(kind="hazard", limit=None)


def _has_pdftotext() -> bool:
    import shutil

    return shutil.which("pdftotext") is not None
