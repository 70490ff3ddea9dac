"""Forms in Chromium: pick lists choose linked records by name instead of typed ids
(issue 4)."""

from __future__ import annotations

import re
from typing import Any

from mineaction.domain.models import Hazard


def test_pick_a_hazard_by_name_with_the_keyboard(new_page: Any, live: Any) -> None:
    store = live.services.store
    wanted = store.add(Hazard(hazard_kind="SHA", name="Vereda Pickme", status="approved"),
                       by="approver")
    store.add(Hazard(hazard_kind="CHA", name="Vereda Pickmore", status="approved"),
              by="approver")
    page = new_page()
    live.login(page, "editor")
    page.goto(live.url + "/records/accidents/new")
    box = page.get_by_role("combobox", name="Hazard")
    box.press_sequentially("pickm")
    options = page.get_by_role("listbox", name="Hazard found").get_by_role("option")
    options.filter(has_text="Vereda Pickmore").wait_for()
    texts = options.all_inner_texts()
    assert len(texts) == 2 and box.get_attribute("aria-expanded") == "true"
    for _ in range(next(i for i, t in enumerate(texts) if "Vereda Pickme ·" in t) + 1):
        box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant")
    box.press("Enter")
    assert box.get_attribute("aria-expanded") == "false"
    assert "Vereda Pickme" in box.input_value() and "SHA" in box.input_value()
    hidden = page.locator('input[type="hidden"][name="hazard_id"]')
    assert hidden.input_value() == str(wanted.id)
    page.get_by_label("Accident date").fill("2022-02-02")
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/accidents/[0-9a-f-]{36}$"))
    rid = page.url.rsplit("/", 1)[1]
    assert live.services.store.get("accident", rid).hazard_id == wanted.id

    # Editing shows the linked hazard by name; emptying the box unlinks it.
    page.goto(f"{live.url}/records/accidents/{rid}/edit")
    box = page.get_by_role("combobox", name="Hazard")
    assert "Vereda Pickme" in box.input_value()
    box.fill("")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/records/accidents/{rid}$"))
    assert live.services.store.get("accident", rid).hazard_id is None
    # Nothing found says so.
    page.goto(live.url + "/records/accidents/new")
    page.get_by_role("combobox", name="Hazard").press_sequentially("no such hazard")
    page.get_by_role("listbox", name="Hazard found").get_by_text("No match.").wait_for()
    assert page.js_errors == []


def test_sources_linked_and_unlinked_in_the_form(new_page: Any, live: Any) -> None:
    from mineaction.domain.models import Source

    store = live.services.store
    report = store.add(Source(source_kind="official", title="Informe Sourcepick 2021",
                              status="approved"), by="approver")
    news = store.add(Source(source_kind="media", title="Sourcepick en la prensa",
                            status="approved"), by="approver")
    page = new_page()
    live.login(page, "editor")
    page.goto(live.url + "/records/hazards/new")
    page.get_by_label("Hazard kind").select_option("SHA")
    page.get_by_label("Name", exact=True).fill("Hazard with sources")
    # A new hazard needs a location (issue 16, 8).
    page.locator("#coord-input").fill("6.1412, -75.1834")
    page.get_by_role("button", name="Read coordinates").click()
    page.locator("#coord-result span").first.wait_for()
    box = page.get_by_role("combobox", name="Link a source")
    found = page.get_by_role("listbox", name="Sources found").get_by_role("option")
    for title in ("Informe Sourcepick", "Sourcepick en la prensa"):
        box.press_sequentially(title.lower())
        found.filter(has_text=title).first.click()
        # Chosen sources are listed; the box is ready for the next one.
        assert box.input_value() == ""
    chips = page.get_by_role("list", name="Linked sources").get_by_role("listitem")
    assert chips.count() == 2
    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(re.compile(r"/records/hazards/[0-9a-f-]{36}$"))
    rid = page.url.rsplit("/", 1)[1]
    assert set(store.get("hazard", rid).source_ids) == {report.id, news.id}
    # The record page shows them; the edit form lists them and unlinks one.
    assert page.get_by_role("link", name="Informe Sourcepick 2021").count() == 1
    page.goto(f"{live.url}/records/hazards/{rid}/edit")
    assert chips.count() == 2
    page.get_by_role("button", name="Unlink source Sourcepick en la prensa").click()
    assert chips.count() == 1
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/records/hazards/{rid}$"))
    assert store.get("hazard", rid).source_ids == [report.id]
    assert page.js_errors == []
