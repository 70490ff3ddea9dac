"""A list page's `next` link: the request's own URL with the next cursor in place of its
own (routers/records.py, `next_page_url`), which a client follows to the last page."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from api_helpers import accident
from starlette.requests import Request

from mineaction.api.routers.records import next_page_url


def _url(query: bytes, cursor: str = "99") -> str:
    scope = {"type": "http", "method": "GET", "scheme": "http", "path": "/api/v1/accidents",
             "root_path": "", "query_string": query, "headers": [(b"host", b"example.org")],
             "server": ("127.0.0.1", 8000)}
    return next_page_url(Request(scope), cursor)


@pytest.mark.parametrize(("query", "expected"), [
    (b"", "cursor=99"),
    (b"f=geojson&bbox=-76.5,6,-75,7.25", "f=geojson&bbox=-76.5,6,-75,7.25&cursor=99"),
    (b"cursor=5&limit=2", "limit=2&cursor=99"),  # replaced, not repeated
    (b"c%75rsor=5&x=1", "x=1&cursor=99"),  # however its name is spelled
    (b"cursor=1&cursor=2&a=%E2%82%AC&b", "a=%E2%82%AC&b&cursor=99"),
    (b"a=\xe2\x82\xac b", "a=%E2%82%AC+b&cursor=99"),  # not a valid URL: encoded
    (b"q=<x>", "q=%3Cx%3E&cursor=99"),
])
def test_the_link_keeps_the_query_and_replaces_the_cursor(query: bytes, expected: str) -> None:
    url = _url(query)
    assert url == f"http://example.org/api/v1/accidents?{expected}"
    assert [v for k, v in parse_qsl(urlsplit(url).query) if k == "cursor"] == ["99"]


def test_following_next_links_reads_every_record_once(api) -> None:  # type: ignore[no-untyped-def]
    editor = api.as_("editor")
    made = set()
    for i in range(7):
        made.add(editor.post("/api/v1/accidents", json=accident(
            geometry={"type": "Point", "coordinates": [-75.0 + i / 100, 6.0]})).json()["id"])
    editor.post("/api/v1/accidents", json=accident(
        geometry={"type": "Point", "coordinates": [-70.0, 2.0]}))  # outside the box
    url: str | None = "/api/v1/accidents?bbox=-75.5,5.5,-74.5,6.5&limit=3&f=geojson"
    seen: list[str] = []
    pages = 0
    while url:
        page = editor.get(url).json()
        seen += [f["id"] for f in page["features"]]
        nexts = [link["href"] for link in page["links"] if link["rel"] == "next"]
        assert (page["next_cursor"] is None) == (not nexts)
        url = nexts[0] if nexts else None
        if url:
            assert url.startswith("http://testserver/api/v1/accidents?bbox=-75.5,5.5,")
        pages += 1
    assert pages == 3 and len(seen) == 7 and set(seen) == made
