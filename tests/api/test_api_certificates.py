"""Site check certificates over the API (issue 20), on both stores: anyone issues one
(the public view, whoever asks), downloads its PDF (in the language asked, or another
with ?lang=) and verifies it; a change behind it shows; an unknown id is a 404; issuing
is limited per client."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from api_helpers import Api
from shapely.geometry import box, mapping

from mineaction.domain.models import Hazard, MinefieldRecord
from mineaction.store import Store

LON, LAT = -75.0, 6.0
PLOT = box(LON, LAT, LON + 0.001, LAT + 0.001)


def _seed(store: Store) -> dict[str, str]:
    def key(n: int, status: str = "approved") -> dict[str, str]:
        return {"dataset": "t", "external_id": f"c{n}", "status": status}

    hz = store.add(Hazard(name="H-1", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON + 0.0005, LAT, LON + 0.002, LAT + 0.001), **key(1)))
    draft = store.add(Hazard(name="H-draft", hazard_kind="SHA", hazard_status="open",
                             geometry=box(LON, LAT, LON + 0.0002, LAT + 0.0002), **key(2, "draft")))
    mf = store.add(MinefieldRecord(name="MF-1", geometry=box(LON, LAT, LON + 0.0004,
                                                             LAT + 0.0004), **key(3)))
    return {"hazard": str(hz.id), "draft": str(draft.id), "mf": str(mf.id)}


def _pdf_text(pdf: bytes, tmp_path: Path) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    path = tmp_path / "c.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_anyone_issues_downloads_and_verifies(api: Api, tmp_path: Path) -> None:
    ids = _seed(api.services.store)
    r = api.public.post("/api/v1/site-check/certificates", json={
        "geometry": mapping(PLOT), "buffer_m": 500, "nearby_m": 2000, "lang": "es"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["pdf"] == f"/api/v1/site-check/certificates/{made['id']}.pdf"
    assert made["verify"] == f"/api/v1/site-check/certificates/{made['id']}/verify"
    assert made["records"] == 1
    pdf = api.public.get(made["pdf"])
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content, tmp_path)
    if text is not None:
        assert "Certificado de consulta de sitio" in text
        assert "El sitio está dentro del área peligrosa registrada H-1" in " ".join(text.split())
        assert made["evidence_hash"] in text
        english = _pdf_text(api.public.get(made["pdf"], params={"lang": "en"}).content,
                            tmp_path)
        assert english is not None and "Site check certificate" in english
    v = api.public.get(made["verify"])
    assert v.status_code == 200, v.text
    assert v.json()["unchanged"] is True and v.json()["stored_hash_ok"] is True

    # an editor changes the hazard: the certificate says so
    editor = api.as_("editor")
    current = editor.get(f"/api/v1/hazards/{ids['hazard']}")
    assert current.status_code == 200, current.text
    r = editor.patch(f"/api/v1/hazards/{ids['hazard']}", json={"hazard_status": "closed"},
                     headers={"If-Match": current.headers["ETag"]})
    assert r.status_code == 200, r.text
    body = api.public.get(made["verify"]).json()
    assert body["unchanged"] is False
    # an edit sends an approved record back for review: the public no longer sees it
    assert [(d["id"], d["reason"]) for d in body["deleted"]] == [(ids["hazard"],
                                                                  "no longer public")]


def test_unknown_certificates_are_404(api: Api) -> None:
    for url in ("/api/v1/site-check/certificates/00000000-0000-4000-8000-000000000000.pdf",
                "/api/v1/site-check/certificates/nope/verify",
                "/api/v1/site-check/certificates/00000000-0000-4000-8000-000000000000/verify"):
        assert api.public.get(url).status_code == 404, url


def test_bad_sites_and_languages_are_refused(api: Api) -> None:
    r = api.public.post("/api/v1/site-check/certificates", json={
        "geometry": {"type": "Pointy"}})
    assert r.status_code == 422 and "geometry" in r.text
    r = api.public.post("/api/v1/site-check/certificates", json={
        "geometry": mapping(PLOT), "lang": "xx"})
    assert r.status_code == 422 and "lang" in r.text


def test_issuing_is_limited_per_client(api: Api) -> None:
    from mineaction.api.routers import site_check

    body = {"geometry": {"type": "Point", "coordinates": [LON, LAT]}}
    codes = [api.public.post("/api/v1/site-check/certificates", json=body).status_code
             for _ in range(site_check.CERTIFICATES_PER_WINDOW + 1)]
    assert codes[:-1] == [201] * site_check.CERTIFICATES_PER_WINDOW
    assert codes[-1] == 429
