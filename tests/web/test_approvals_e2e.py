# SPDX-License-Identifier: GPL-3.0-or-later
"""The approval queue in Chromium (issue 21, 4), on a desktop and on an 800x1280 touch
tablet: an approver filters the queue, rejects two records at once with a reason and
approves the rest; the submitter, signing in next, reads what came back and why. The
page runs under its Content-Security-Policy."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from shapely.geometry import box
from test_web_e2e import screenshot

from mineaction.access.roles import Principal, Role


def _submit(live: Any, who: Principal, name: str, x: float) -> str:
    records = live.services.records
    created, _ = records.create(who, "hazard", {
        "name": name, "hazard_kind": "SHA",
        "geometry": box(x, 6.0, x + 0.001, 6.001).__geo_interface__})
    records.transition(who, "hazard", uuid.UUID(created["id"]), "submit", None, 1)
    return str(created["id"])


def test_an_approver_rejects_two_at_once_and_the_submitter_reads_why(
        device: Any, live: Any, tmp_path: Path) -> None:
    # one server serves both devices: a submitter of this run's own
    name = f"erin-{uuid.uuid4().hex[:6]}"
    live.user("editor", name)
    erin = Principal(name, Role.editor)
    ids = [_submit(live, erin, name, -75.0 + i / 100) for i, name in
           enumerate(("Queue school", "Queue bridge", "Queue well"))]

    approver = device()
    live.login(approver, "approver", "abel")
    approver.goto(f"{live.url}/approvals?submitted_by={name}")
    assert approver.locator("#approvals-queue tbody tr").count() == 3
    for rid in ids[:2]:
        approver.locator(f"#item-{rid}").check()
    approver.fill("#reason", "Polygon crosses the river")
    if not approver.touch:  # the queue with two chosen to reject, for docs/ and the README
        screenshot(approver, "review-queue.png", tmp_path)
    approver.locator("button[value=reject]").click()
    approver.wait_for_selector("#approvals-done")
    assert "2 records done." in approver.inner_text("#approvals-done")
    assert approver.locator("#approvals-queue tbody tr").count() == 1
    # rejecting without a reason is refused, naming why, and nothing changes
    approver.locator(f"#item-{ids[2]}").check()
    approver.locator("button[value=reject]").click()
    assert "needs a reason" in approver.inner_text("#approvals-error")
    approver.locator(f"#item-{ids[2]}").check()
    approver.locator("button[value=approve]").click()
    approver.wait_for_selector("#approvals-done")
    assert "Nothing is waiting" in approver.inner_text("#approvals")  # of this submitter
    assert not [e for e in approver.console_errors if "Content Security Policy" in e]

    submitter = device()
    live.login(submitter, "editor", name)  # lands on /records
    returned = submitter.locator("#returned li")
    assert returned.count() == 2
    assert "Polygon crosses the river" in returned.first.inner_text()
    assert "abel" in returned.first.inner_text()

    editor = device()
    live.login(editor, "editor", "edgar")
    assert editor.locator("#returned").count() == 0
    editor.goto(f"{live.url}/approvals")
    assert editor.locator("#approvals-queue").count() == 0  # not an approver's page
