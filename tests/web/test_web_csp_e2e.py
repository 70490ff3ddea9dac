"""The web application works under its own Content-Security-Policy (http/guard.py): the
map, a record page and a form load in Chromium with the policy enforced, and the browser
reports no violation. (The other browser tests bypass the policy only because
Playwright's waiting on a condition evaluates a string.)"""

from __future__ import annotations

from typing import Any


def _violations(page: Any) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text)
            if "Content Security Policy" in m.text or "Content-Security-Policy" in m.text
            else None)
    return seen


def test_pages_run_under_their_content_security_policy(new_page: Any, live: Any) -> None:
    page = new_page(csp=True)
    violations = _violations(page)
    answer = page.goto(live.url + "/")
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    # map.js marks the map ready once its layers are drawn and it is idle.
    page.locator("#map[data-ready=true]").wait_for(timeout=20_000)
    live.login(page, "editor")
    page.goto(live.url + "/records/hazards/new")
    page.locator("#draw-map[data-ready=true]").wait_for()
    page.goto(live.url + "/dashboard")
    page.wait_for_timeout(500)
    assert page.js_errors == []
    assert violations == []
