# SPDX-License-Identifier: GPL-3.0-or-later
"""Attacks on record attachments (issue 21, 3: photos and documents of any record), each
as made through the web routes (web/attachments.py) by a browser signed in by its
session cookie: an HTML page named .png, a path in the file name, an oversized file, and
reading an attachment of a record one may not see (the public, a field user who did not
write the draft, another organisation when organisations do not see each other's)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

import pytest
from api_helpers import ORG, OTHER_ORG, PASSWORD, Api, Client

from mineaction.services.attachments import MAX_BYTES
from mineaction.web import mount_web


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (the test does not trust a magic number alone to be a picture)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def web(api: Api) -> Api:
    mount_web(api.app, api.services.settings)
    return api


def _browser(api: Api, role: str, name: str, org: str | None = ORG) -> Client:
    api.user(role, name=name, org=org)
    client = api.anonymous()
    r = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client


def _draft_hazard(api: Api) -> str:
    r = api.as_("editor").post("/api/v1/hazards", json={
        "hazard_kind": "SHA", "name": "Loma attachments", "organisation_id": ORG})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _upload(client: Client, record_id: str, name: str, content: bytes,
            claimed: str = "image/png") -> Any:
    return client.post(f"/records/hazards/{record_id}/attachments",
                       files={"file": (name, content, claimed)}, data={"caption": "photo"})


def _attachments(api: Api, record_id: str) -> list[dict[str, Any]]:
    import uuid

    from mineaction.access.roles import Principal, Role
    from mineaction.services.attachments import Attachments

    return Attachments(api.services.records).of_record(Principal("admin", Role.admin), "hazard",
                                                       uuid.UUID(record_id))


def test_only_who_may_read_the_record_fetches_its_attachment(web: Api) -> None:
    rid = _draft_hazard(web)
    editor = _browser(web, "editor", "editor")
    picture = _png()
    r = _upload(editor, rid, "site.png", picture)
    assert r.status_code == 303
    assert r.headers["location"].endswith(f"/records/hazards/{rid}#attachments")
    [meta] = _attachments(web, rid)
    assert meta["media_type"] == "image/png"
    assert meta["sha256"] == hashlib.sha256(picture).hexdigest()
    url = f"/web/attachments/{meta['id']}"
    got = editor.get(url)
    assert got.status_code == 200 and got.content == picture
    assert got.headers["content-type"] == "image/png"
    assert "nosniff" in got.headers["x-content-type-options"]
    assert "sandbox" in got.headers["content-security-policy"]
    # The record page lists it with a thumbnail and offers the upload form.
    page = editor.get(f"/records/hazards/{rid}").text
    assert f'<img src="{url}"' in page and 'id="attachment-upload"' in page

    # The public: neither the web route nor the API's.
    assert web.anonymous().get(url).status_code == 401
    assert web.anonymous().get(f"/api/v1/attachments/{meta['id']}").status_code == 401
    assert f'src="{url}"' not in web.anonymous().get(f"/records/hazards/{rid}").text
    # A field user who did not write the draft does not see the record, nor its file.
    outsider = _browser(web, "field", "fred")
    assert outsider.get(f"/records/hazards/{rid}").status_code == 404
    assert outsider.get(url).status_code == 404
    # A viewer reads the record, so its attachment; but may not add one.
    viewer = _browser(web, "viewer", "vera")
    assert viewer.get(url).status_code == 200
    assert _upload(viewer, rid, "more.png", picture).status_code == 403
    # Another organisation, when organisations do not see each other's records.
    other = _browser(web, "editor", "olga", org=OTHER_ORG)
    assert other.get(url).status_code == 200  # cross-organisation visibility on
    web.services.records.policy = type(web.services.records.policy)(
        cross_organisation_visibility=False)
    web.services.records._access.clear()
    assert other.get(url).status_code == 404
    assert _upload(other, rid, "theirs.png", picture).status_code == 404
    assert editor.get(url).status_code == 200
    assert len(_attachments(web, rid)) == 1


def test_an_html_file_named_png_is_refused(web: Api) -> None:
    rid = _draft_hazard(web)
    editor = _browser(web, "editor", "editor")
    page = b"<html><script>fetch('/api/v1/users')</script></html>"
    r = _upload(editor, rid, "photo.png", page, claimed="image/png")
    assert r.status_code == 415
    assert "not a JPEG, PNG, WebP or PDF file" in r.text
    # a PNG signature glued before HTML is a PNG as far as bytes go, but an SVG is not
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert _upload(editor, rid, "x.svg", svg, claimed="image/svg+xml").status_code == 415
    assert _attachments(web, rid) == []


def test_a_path_in_the_file_name_is_stored_as_a_plain_name(web: Api) -> None:
    rid = _draft_hazard(web)
    editor = _browser(web, "editor", "editor")
    for name in ("../../../etc/passwd.png", "..\\..\\windows\\win.ini", "\x00evil\r\n.png.html"):
        assert _upload(editor, rid, name, _png()).status_code == 303
    names = [a["file_name"] for a in _attachments(web, rid)]
    assert names[:2] == ["passwd.png", "win.png"]
    assert names[2].endswith("evil_0D_0A.png")  # as the browser percent-encoded it
    assert all(n.count(".") == 1 and ".." not in n and n.isprintable() for n in names)
    for a in _attachments(web, rid):
        disposition = editor.get(f"/web/attachments/{a['id']}").headers["content-disposition"]
        assert "/" not in disposition and "\\" not in disposition and "\r" not in disposition


def test_safe_names_from_any_source() -> None:
    from mineaction.services.attachments import safe_name

    assert safe_name("\x00evil\r\n.png.html", "png") == "evil.png"
    assert safe_name("/var/www/../../.htaccess", "pdf") == "htaccess.pdf"
    assert safe_name("", "jpg") == "attachment.jpg"
    assert safe_name("informe final 2023.v2.PDF", "pdf") == "informe final 2023.v2.pdf"
    assert len(safe_name("a" * 1000 + ".png", "png")) <= 120


def test_size_limit_and_no_attachment_without_a_record(web: Api) -> None:
    rid = _draft_hazard(web)
    editor = _browser(web, "editor", "editor")
    big = _png() + b"\x00" * MAX_BYTES
    assert _upload(editor, rid, "big.png", big).status_code == 413
    assert _upload(editor, "00000000-0000-4000-8000-000000000000", "a.png",
                   _png()).status_code == 404
    assert _upload(editor, "not-an-id", "a.png", _png()).status_code == 404
    assert editor.get("/web/attachments/00000000-0000-4000-8000-000000000000").status_code == 404
    # The public is sent to sign in; nothing is stored.
    r = _upload(web.anonymous(), rid, "a.png", _png())
    assert r.status_code == 303 and "/login" in r.headers["location"]
    assert _attachments(web, rid) == []


def test_another_site_cannot_attach_with_the_signed_in_cookie(web: Api) -> None:
    rid = _draft_hazard(web)
    editor = _browser(web, "editor", "editor")
    for headers in ({"Origin": "http://127.0.0.1:9999"}, {"Origin": "null"},
                    {"Origin": "", "Referer": "http://evil.example/attack.html"}):
        r = editor.post(f"/records/hazards/{rid}/attachments", headers=headers,
                        files={"file": ("x.png", _png(), "image/png")})
        assert r.status_code == 403, headers
    assert _attachments(web, rid) == []
