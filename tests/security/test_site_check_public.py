"""The public's site check and its certificates (issue 20) never carry a draft record or a
minefield record's id, nor a field the public never sees: a certificate is the public view
even when an admin issues it, and its PDF, its verification and the public web page's
answer hold only what the public may see."""

from __future__ import annotations

from datetime import date

from api_helpers import Api
from shapely.geometry import Point, box, mapping

from mineaction.domain.models import Accident, Hazard, MinefieldRecord
from mineaction.services.certificates import Certificates

LON, LAT = -75.0, 6.0
PLOT = box(LON, LAT, LON + 0.001, LAT + 0.001)


def _seed(api: Api) -> dict[str, str]:
    store = api.services.store

    def key(n: int, status: str = "approved") -> dict[str, str]:
        return {"dataset": "t", "external_id": f"sec{n}", "status": status}

    hz = store.add(Hazard(name="H-public", hazard_kind="CHA", hazard_status="open",
                          geometry=box(LON, LAT, LON + 0.002, LAT + 0.002), **key(1)))
    draft = store.add(Hazard(name="H-draft-secret", hazard_kind="SHA", hazard_status="open",
                             geometry=box(LON, LAT, LON + 0.0005, LAT + 0.0005),
                             **key(2, "draft")))
    mf = store.add(MinefieldRecord(name="MF-secret", geometry=box(LON, LAT, LON + 0.0004,
                                                                  LAT + 0.0004), **key(3)))
    acc = store.add(Accident(accident_date=date(2015, 5, 5), geometry=Point(LON + 0.003, LAT),
                             accident_kind="mine", narrative="narrative-secret",
                             place_name="place-secret", **key(4)))
    return {"hazard": str(hz.id), "draft": str(draft.id), "mf": str(mf.id),
            "accident": str(acc.id)}


SECRETS = ("H-draft-secret", "MF-secret", "narrative-secret", "place-secret")


def test_certificate_issued_by_admin_is_the_public_view(api: Api) -> None:
    ids = _seed(api)
    admin = api.as_("admin")
    # the admin's own site check sees the draft and the minefield record ...
    own = admin.post("/api/v1/site-check", json={"geometry": mapping(PLOT)}).json()
    assert ids["draft"] in str(own) and ids["mf"] in str(own)
    # ... the certificate the admin issues does not
    r = admin.post("/api/v1/site-check/certificates", json={"geometry": mapping(PLOT)})
    assert r.status_code == 201, r.text
    made = r.json()
    # what was kept in the store, and the PDF's HTML
    kept = Certificates(api.services.store).get(made["id"])
    kept_text = str(kept)
    for secret in (ids["draft"], ids["mf"], *SECRETS):
        assert secret not in kept_text, secret
    assert {e["id"] for e in kept["evidence"]["records"]} == {ids["hazard"], ids["accident"]}
    html = Certificates(api.services.store).html(made["id"])
    for secret in (ids["draft"], ids["mf"], *SECRETS):
        assert secret not in html, secret
    verified = api.public.get(made["verify"]).json()
    assert verified["unchanged"] is True
    for secret in (ids["draft"], ids["mf"], *SECRETS):
        assert secret not in str(verified)


def test_public_site_check_and_web_answer_have_no_draft_or_minefield_record(api: Api) -> None:
    ids = _seed(api)
    body = {"geometry": mapping(PLOT), "buffer_m": 500, "nearby_m": 2000}
    public = api.public.post("/api/v1/site-check", json=body).json()
    # the web page's answer is the public view whoever is signed in
    web = api.browser("admin").post("/web/api/site-check", json=body)
    assert web.status_code == 200, web.text
    for answer in (str(public), web.text):
        for secret in (ids["draft"], ids["mf"], *SECRETS):
            assert secret not in answer, secret
        assert ids["hazard"] in answer


def test_verifying_tells_nothing_of_drafts_added_later(api: Api) -> None:
    ids = _seed(api)
    made = api.public.post("/api/v1/site-check/certificates",
                           json={"geometry": mapping(PLOT)}).json()
    draft = api.services.store.add(Hazard(
        name="H-new-draft", hazard_kind="SHA", hazard_status="open",
        geometry=box(LON, LAT, LON + 0.0003, LAT + 0.0003), status="draft", dataset="t",
        external_id="sec-new"))
    verified = api.public.get(made["verify"]).json()
    assert verified["unchanged"] is True
    assert str(draft.id) not in str(verified) and ids["draft"] not in str(verified)


def test_the_publics_narrow_read_counts_rounded_places_and_no_draft(api: Api) -> None:
    """The public's check reads only the rounding cells near the site (issue 20): an
    approved accident 4 km away whose rounded place is 550 m from the site counts, at that
    rounded distance, never at its true place; a draft in the same cell does not; a viewer
    measures true places and so counts neither within 2 km."""
    store = api.services.store

    def acc(n: int, lon: float, lat: float, status: str = "approved") -> str:
        return str(store.add(Accident(accident_date=date(2016, 1, 1), geometry=Point(lon, lat),
                                      accident_kind="mine", dataset="t",
                                      external_id=f"cell{n}", status=status)).id)

    near_cell = acc(1, -74.97, 6.02)  # rounds to (-75.0, 6.0)
    draft = acc(2, -74.98, 6.01, "draft")  # the same cell, a draft
    far_cell = acc(3, -75.06, 6.0)  # 6 km away, rounds to (-75.1, 6.0): 10.5 km
    site = "/api/v1/site-check?lon=-75.005&lat=6.0&nearby_m=2000"
    public = api.public.get(site).json()
    assert public["accidents"]["count"] == 1
    assert public["records_used"]["accident"] == [near_cell]
    assert 540 < public["accidents"]["nearest_m"] < 560  # the rounded place's distance
    assert draft not in str(public) and far_cell not in str(public)
    viewer = api.as_("viewer").get(site).json()
    assert viewer["accidents"]["count"] == 0
