"""Cross-site request forgery from the same site (issue 15, 6): a page on another port of
the same host approved a record as the signed-in approver with a cookie-authenticated
POST carrying no body, or a text/plain one. Writes with the session cookie must now
come from the server's own origin."""

from __future__ import annotations

from typing import Any

from api_helpers import PASSWORD, Api, accident

EVIL = "http://testserver:8081"  # the same host, another port: the same site


def _approver_browser(api: Api) -> Any:
    api.user("approver")
    browser = api.anonymous()
    r = browser.post("/api/v1/auth/login", json={"username": "approver", "password": PASSWORD})
    assert r.status_code == 200
    return browser


def _submitted(api: Api) -> str:
    editor = api.as_("editor")
    rec = editor.post("/api/v1/accidents", json=accident()).json()
    url = f"/api/v1/accidents/{rec['id']}"
    assert editor.post(f"{url}/submit", headers={"If-Match": '"1"'}).status_code == 200
    return url


def test_another_port_cannot_approve_as_the_signed_in_approver(api: Api) -> None:
    url = _submitted(api)
    browser = _approver_browser(api)
    for headers, body in (({"Origin": EVIL}, None),
                          ({"Origin": EVIL, "Content-Type": "text/plain"}, "x"),
                          ({"Origin": "null"}, None),
                          ({"Origin": "", "Referer": f"{EVIL}/attack.html"}, None)):
        r = browser.post(f"{url}/approve", headers=headers, content=body)
        assert r.status_code == 403, (headers, r.text)
    assert api.as_("viewer").get(url).json()["status"] == "submitted"
    # The server's own pages still can.
    assert browser.post(f"{url}/approve").status_code == 200


def test_a_write_with_the_cookie_and_no_origin_is_refused(api: Api) -> None:
    browser = _approver_browser(api)
    r = browser.post("/api/v1/auth/tokens", json={"name": "stolen"}, headers={"Origin": ""})
    assert r.status_code == 403
    r = browser.post("/api/v1/auth/logout", headers={"Origin": EVIL})
    assert r.status_code == 403
    assert browser.get("/api/v1/auth/me").json()["username"] == "approver"


def test_bearer_tokens_need_no_origin(api: Api) -> None:
    # A script's token is never added by a browser on its own: nothing to forge.
    r = api.as_("editor").post("/api/v1/accidents", json=accident())
    assert r.status_code == 201


def test_another_port_cannot_bulk_approve_from_the_approvals_page(api: Api) -> None:
    """The web approval queue's form (issue 21) is a cookie-authenticated POST too."""
    url = _submitted(api)
    item = f"accident:{url.rsplit('/', 1)[1]}:2"
    browser = _approver_browser(api)
    for headers in ({"Origin": EVIL}, {"Origin": "null"},
                    {"Origin": "", "Referer": f"{EVIL}/attack.html"}):
        r = browser.post("/approvals", data={"item": item, "action": "approve"},
                         headers=headers)
        assert r.status_code == 403, (headers, r.text)
    assert api.as_("viewer").get(url).json()["status"] == "submitted"
    r = browser.post("/approvals", data={"item": item, "action": "approve"})
    assert r.status_code == 200 and "1 record done." in r.text
    assert api.as_("viewer").get(url).json()["status"] == "approved"
