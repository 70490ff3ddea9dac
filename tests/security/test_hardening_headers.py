"""Hardening headers on every answer (issue 15, 18): no sniffing, no framing, a
Content-Security-Policy on pages, no caching of what a signed-in user was given, HSTS
when the session cookie is HTTPS-only."""

from __future__ import annotations

import pytest
from api_helpers import Api

PATHS = ["/", "/records/accidents", "/api/v1/accidents", "/api/v1/health", "/api/v1/docs",
         "/web/api/layers/hazards", "/api/v1/no-such-thing"]


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_forbids_sniffing_and_framing(api: Api, path: str) -> None:
    r = api.public.get(path)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    if r.headers.get("content-type", "").startswith("text/html"):
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "strict-transport-security" not in r.headers  # cookies not HTTPS-only here


def test_pages_allow_only_their_own_scripts(api: Api) -> None:
    csp = api.public.get("/records/accidents").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline or evaluated script
    assert directives["object-src"] == "'none'"


def test_answers_to_signed_in_users_are_not_stored(api: Api) -> None:
    editor = api.as_("editor")
    assert editor.get("/api/v1/victims").headers["cache-control"] == "no-store"
    assert editor.get("/api/v1/auth/me").headers["cache-control"] == "no-store"
    assert "no-store" not in api.public.get("/api/v1/accidents").headers.get(
        "cache-control", "")


@pytest.mark.parametrize("settings_overrides", [{"cookie_secure": True}])
def test_hsts_when_cookies_are_https_only(api: Api) -> None:
    assert "max-age=" in api.public.get("/api/v1/health").headers["strict-transport-security"]
