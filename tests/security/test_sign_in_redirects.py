"""Open redirect after sign-in (issue 15, 12): `/login?next=/\\host` and `next=/%09/host`
sent the signed-in browser to another site. `next` is now a path on this site or the
home page: checked by one function on the server (auth/next_path.py) and again by the
browser's own URL parser in login.js."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from api_helpers import Api

from mineaction.auth.next_path import safe_next

# Known ways past a "starts with / and not //" check, and other ways off the site.
BYPASSES = [
    "//evil.example", "///evil.example", "////evil.example", "/\\evil.example",
    "\\\\evil.example", "/\\/evil.example", "\\/evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", "/\x00/evil.example", "/ /evil.example",
    "/\u3000/evil.example", "/\u00a0/evil.example", "/\x0b/evil.example",
    "/records\\..\\..\\evil.example", "https://evil.example", "http:evil.example",
    "http:/evil.example", "https:\\\\evil.example", "javascript:alert(1)",
    "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>", "evil.example",
    " /records", "/records ", "", "/" + "a" * 3000,
]
SAFE = ["/", "/records", "/records/accidents?status=draft&sort=-accident_date",
        "/records/accidents/6f1c#history", "/a//b", "/imports?x=%2F%2Fevil.example",
        "/records/caf%C3%A9"]


@pytest.mark.parametrize("value", BYPASSES)
def test_no_known_bypass_leaves_the_site(value: str) -> None:
    assert safe_next(value) == "/"


@pytest.mark.parametrize("value", SAFE)
def test_a_path_on_this_site_is_kept(value: str) -> None:
    assert safe_next(value) == value


def _page_next(api: Api, raw_query: str) -> str:
    page = api.anonymous().get(f"/login?next={raw_query}")
    assert page.status_code == 200
    found = re.search(r'data-next="([^"]*)"', page.text)
    assert found
    return found.group(1)


def test_the_sign_in_page_sends_the_browser_nowhere_else(api: Api) -> None:
    # As an attacker's link would carry them: %09 is a tab, %5C a backslash.
    for raw in ("/%09/evil.example", "/%5Cevil.example", "%2F%2Fevil.example",
                "/%0A/evil.example", "https%3A%2F%2Fevil.example", "/%E3%80%80/evil.example"):
        assert _page_next(api, raw) == "/", raw
    for value in BYPASSES[:12]:
        assert _page_next(api, quote(value, safe="")) == "/", value
    assert _page_next(api, quote("/records/accidents?status=draft", safe="")) == \
        "/records/accidents?status=draft".replace("&", "&amp;")


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_login_js_follows_only_paths_of_its_own_origin(tmp_path: Path) -> None:
    js = (Path(__file__).resolve().parents[2] / "src/mineaction/web/static/js/login.js"
          ).read_text()
    body = re.search(r"^function sameSite\(next\) \{.*?^\}", js, re.S | re.M)
    assert body, "login.js defines sameSite(next)"
    script = tmp_path / "check.cjs"
    script.write_text(
        "const window = {location: {origin: 'http://testserver'}};\n" + body.group(0)
        + f"\nconst values = {json.dumps(BYPASSES + SAFE)};\n"
        "console.log(JSON.stringify(values.map(sameSite)));\n")
    out = json.loads(subprocess.run(["node", str(script)], capture_output=True, text=True,
                                    check=True, timeout=60).stdout)
    assert out[:len(BYPASSES)] == ["/"] * len(BYPASSES)
    assert out[len(BYPASSES):] == SAFE
