# SPDX-License-Identifier: GPL-3.0-or-later
"""The reports menu (issue 21, 5) in Chromium: a form for every report of the registry
with its own parameters; a signed-in user makes the annual report as HTML in a new tab;
a missing parameter is refused by the browser before the request; the public is sent to
sign in."""

from __future__ import annotations

from typing import Any

from mineaction.reports.kinds import REPORTS


def test_every_report_has_its_form_and_one_is_made(page: Any, live: Any) -> None:
    page.goto(f"{live.url}/reports")
    assert page.locator("#reports form").count() == 0
    assert page.locator("#reports a[href='/login?next=/reports']").count() == 1

    live.login(page, "viewer")
    page.goto(f"{live.url}/reports")
    for kind in REPORTS.values():
        form = page.locator(f"#report-{kind.name}")
        assert form.count() == 1, kind.name
        for p in kind.params:
            field = form.locator(f"[name={p.name}]")
            assert field.count() == 1, (kind.name, p.name)
            assert (field.get_attribute("required") is not None) == p.required
    # the browser refuses a form without its required year: no request is made
    annual = page.locator("#report-annual")
    assert annual.locator("#annual-year").evaluate("e => e.checkValidity()") is False
    annual.locator("#annual-year").fill("2020")
    annual.locator("#annual-format").select_option("html")
    with page.context.expect_page() as opened:
        annual.locator("button[type=submit]").click()
    report = opened.value
    report.wait_for_load_state()
    assert "/api/v1/reports/annual?year=2020" in report.url
    assert "2020" in report.inner_text("body")
