"""The field forms' service worker keeps every script the new-record form imports, at any
depth: a module it does not keep makes the form's import fail offline, and the tablet
shows a blank form (a helper module added to basemap.js for issue 21 would have done so).
"""

from __future__ import annotations

import re
from pathlib import Path

JS = Path(__file__).parents[2] / "src" / "mineaction" / "web" / "static" / "js"
IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["']\./([\w.-]+\.js)["']""", re.M | re.S)


def imported(module: str) -> set[str]:
    """`module` and every module it imports from this folder, at any depth."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(IMPORT.findall((JS / name).read_text(encoding="utf-8")))
    return seen


def kept_by_worker() -> set[str]:
    source = (JS / "field_sw.js").read_text(encoding="utf-8")
    assets = re.search(r"const ASSETS = \[(.*?)\];", source, re.S)
    assert assets is not None
    return set(re.findall(r'"/web/static/js/([\w.-]+\.js)"', assets.group(1)))


def test_the_import_finder_sees_nested_imports() -> None:
    # form.js imports basemap.js, which imports frame_hold.js.
    assert {"form.js", "basemap.js", "frame_hold.js", "common.js"} <= imported("form.js")


def test_the_worker_keeps_every_module_the_form_imports() -> None:
    missing = imported("form.js") - kept_by_worker()
    assert not missing, f"static/js/field_sw.js ASSETS lacks {sorted(missing)}"
