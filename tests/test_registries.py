"""Everything a user reads about file formats, report kinds and statistics dimensions comes
from their one declaration each (issue 14): io/formats.py's FORMATS, reports/kinds.py's
REPORTS and analysis/dimensions.py's DIMENSIONS. These tests hold the command line's help
and choices, the API's OpenAPI descriptions and the docs to them, so a format, report or
dimension declared there and missing anywhere else fails here.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fastapi import APIRouter, FastAPI

from mineaction.cli import app as cli_app
from mineaction.io import formats
from mineaction.store import Store

DOCS = Path(__file__).resolve().parents[1] / "docs"
CLI = typer.main.get_command(cli_app)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_command_docs",
                                                  DOCS / "generate_command_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def _command(*path: str) -> Any:
    command = CLI
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


def _param(command: Any, name: str) -> Any:
    return next(p for p in command.params if p.name == name)


def _choices(param: Any) -> list[str]:
    """The values an option accepts, as docs/generate_command_docs.py reads them."""
    choices = GEN._choices(param)
    assert choices, f"{param.name} offers no choices"
    return list(choices)


def _doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _table_names(text: str) -> list[str]:
    """The `name`s that start the rows of the Markdown tables in `text` (not the headers)."""
    return [n for n in re.findall(r"^\| `([^`]+)`", text, flags=re.MULTILINE)
            if not n.startswith("-")]


def _openapi(router: APIRouter) -> dict[str, Any]:
    api = FastAPI()
    api.include_router(router)
    return api.openapi()


# -- file formats -----------------------------------------------------------------------------


def test_the_command_line_offers_every_format() -> None:
    file_help = _param(_command("import"), "file").help
    for fmt in formats.readable():
        assert f"{fmt.label} ({fmt.suffixes_text})" in file_help
    export_format = _param(_command("export"), "format")
    # imsma is a layout of every kind at once (io/imsma.py, #23), not a table's format
    assert _choices(export_format) == [f.name for f in formats.writable()] + ["imsma"]
    for fmt in formats.writable():
        assert fmt.name in export_format.help


def test_the_api_upload_lists_every_readable_format() -> None:
    from mineaction.api.routers import imports

    schema = _openapi(imports.router)["components"]["schemas"]
    upload = next(s for name, s in schema.items() if name.startswith("Body_start_import"))
    description = upload["properties"]["file"]["description"]
    for fmt in formats.readable():
        assert f"{fmt.label} (`{fmt.name}`; {fmt.suffixes_text})" in description


def test_the_docs_list_every_format() -> None:
    import_page = _doc("commands/import.md")
    for fmt in formats.readable():
        assert f"{fmt.label} ({fmt.suffixes_text})" in import_page
    assert _table_names(_doc("commands/export.md")) == [f.name for f in formats.writable()]
    guide = _doc("user-guide.md")
    reads = guide[guide.index("`import` reads:"):guide.index("### Mappings")]
    for fmt in formats.readable():
        for suffix in fmt.suffixes:
            assert f"`{suffix}`" in reads, (fmt.name, suffix)
    writes = guide[guide.index("`export` writes"):]
    assert [f.name for f in formats.writable()] == _table_names(writes)[:len(formats.writable())]


# -- report kinds -----------------------------------------------------------------------------


def test_the_command_line_has_a_report_command_per_kind() -> None:
    from mineaction.reports.kinds import REPORTS

    commands = _command("report").commands  # type: ignore[attr-defined]
    assert list(commands) == list(REPORTS)
    for kind in REPORTS.values():
        command = commands[kind.name]
        assert command.help == kind.summary
        options = {o for p in command.params for o in p.opts}
        for param in kind.params:
            assert param.option in options, (kind.name, param.option)
            option = next(p for p in command.params if param.option in p.opts)
            assert option.required is param.required and option.help == param.help


def test_the_api_offers_every_report_kind_and_parameter() -> None:
    from mineaction.api.routers import reports as router
    from mineaction.reports.kinds import REPORTS

    spec = _openapi(router.router)
    operation = spec["paths"]["/reports/{kind}"]["get"]
    assert spec["components"]["schemas"]["KindName"]["enum"] == list(REPORTS)
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    for kind in REPORTS.values():
        assert kind.name in operation["summary"]
        for param in kind.params:
            assert f"- {kind.name}: {param.help}" in query[param.name]["description"]


def test_the_docs_show_every_report_kind() -> None:
    from mineaction.reports.kinds import REPORTS

    guide = _doc("reports.md")
    for kind in REPORTS.values():
        assert f"mineaction report {kind.name} " in guide, kind.name
        assert (DOCS / "commands" / f"report-{kind.name}.md").exists()
        assert (Path(__file__).resolve().parents[1] / "src" / "mineaction" / "reports"
                / "templates" / kind.template).exists()


def test_an_unknown_report_parameter_or_kind_is_refused() -> None:
    from mineaction.reports.kinds import REPORTS, ParameterError
    from mineaction.reports.render import build_context

    with pytest.raises(ParameterError) as missing:
        REPORTS["monthly"].options({"admin_area": "05"})
    assert missing.value.parameter == "month"
    with pytest.raises(ParameterError, match="YYYY-MM"):
        REPORTS["monthly"].options({"month": "June"})
    assert REPORTS["monthly"].options({"month": "2020-06"})["month"].isoformat() == "2020-06-01"
    with pytest.raises(ValueError, match="choose from annual"):
        build_context(None, "weekly")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no report takes yaer"):
        build_context(None, "annual", yaer=2020)  # type: ignore[arg-type]


# -- statistics dimensions --------------------------------------------------------------------


def test_the_command_line_groups_by_every_dimension() -> None:
    from mineaction.analysis.dimensions import DIMENSIONS

    assert _choices(_param(_command("stats", "casualties"), "by")) == list(DIMENSIONS)


def test_the_api_describes_every_dimension() -> None:
    from mineaction.analysis.dimensions import DIMENSIONS
    from mineaction.api.routers import stats

    operation = _openapi(stats.router)["paths"]["/stats/casualties"]["get"]
    by = next(p for p in operation["parameters"] if p["name"] == "by")
    for d in DIMENSIONS.values():
        assert f"- `{d.name}`: {d.help}" in by["description"]


def test_the_docs_describe_every_dimension() -> None:
    from mineaction.analysis.dimensions import DIMENSIONS

    page = _doc("commands/stats-casualties.md")
    assert _table_names(page) == list(DIMENSIONS), "the table of `--by` values"
    assert "--by " + "|".join(DIMENSIONS) in page  # the generated option line


def test_the_casualties_module_reads_the_declarations() -> None:
    from mineaction.analysis import casualties, dimensions

    assert casualties.DIMENSIONS is dimensions.DIMENSIONS
    assert set(casualties.EXPRESSIONS) == set(dimensions.DIMENSIONS)
    assert casualties.CATEGORICAL == tuple(
        d.name for d in dimensions.DIMENSIONS.values() if d.categorical)


def test_the_subsets_of_dimensions_name_declared_ones() -> None:
    """What reports title, the open-data package publishes and the public summary offers are
    chosen among the declared dimensions, never re-declared."""
    from mineaction.analysis.dimensions import DIMENSIONS
    from mineaction.reports.labels import DIMENSION_TITLES
    from mineaction.reports.publish import PUBLISHED_DIMENSIONS
    from mineaction.services.summary import PUBLIC_DIMENSIONS

    for subset in (DIMENSION_TITLES, PUBLISHED_DIMENSIONS, PUBLIC_DIMENSIONS):
        assert set(subset) <= set(DIMENSIONS)


# Accidents (date, admin area, device, kind) and their victims (outcome, role, sex, age,
# activity): every dimension has at least two values and a missing one among them.
ACCIDENTS = [
    (date(2006, 2, 11), "05001", "ap_mine", "mine",
     [("killed", "civilian", "male", 30, "agriculture"),
      ("injured", "civilian", "female", 9, "playing")]),
    (date(2006, 7, 1), "05002", "uxo", "erw",
     [("injured", "security_forces", "male", None, "military_duty")]),
    (date(2006, 12, 31), "13001", "ied", "ied",
     [("unknown", "unknown", "unknown", 41, "unknown"),
      ("injured", "deminer", "male", 25, "demining")]),
    (date(2019, 4, 30), None, "unknown", "other",
     [("killed", "civilian", "female", 17, "travelling")]),
    (None, "05001", "booby_trap", "mine", [("injured", "civilian", "male", 50, "herding")]),
]


def _varied(model: Any, i: int) -> dict[str, Any]:
    """Every other single-choice field of `model` set to its i-th value (cycling), so a
    dimension added over any such field finds several groups here without a new row."""
    import enum
    import typing

    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        choices = [a for a in typing.get_args(info.annotation) or (info.annotation,)
                   if isinstance(a, type) and issubclass(a, enum.Enum)]
        if choices and name not in ("status", "device_category", "accident_kind"):
            members = list(choices[0])
            out[name] = members[i % len(members)]
    return out


@pytest.fixture
def small_store(store_location: str) -> Iterator[Store]:
    from shapely.geometry import Point

    from mineaction.domain.models import Accident, Victim
    from mineaction.store import open_store

    store = open_store(store_location)
    try:
        for i, (when, pcode, device, kind, victims) in enumerate(ACCIDENTS):
            accident = store.add(Accident(
                geometry=Point(-75.5, 6.2), accident_date=when, admin_area_pcode=pcode,
                device_category=device, accident_kind=kind, **_varied(Accident, i)))
            for outcome, role, sex, age, activity in victims:
                store.add(Victim(accident_id=accident.id, outcome=outcome, role=role,
                                 sex=sex, age=age, activity=activity))
        yield store
    finally:
        store.close()


def test_every_dimension_groups_and_drills_down_on_both_stores(small_store: Store) -> None:
    """Whatever a dimension's expression, its groups add up to the total and each cell
    drills down to exactly the victims it counted."""
    from mineaction.analysis.casualties import casualties, casualty_stats, drilldown_ids
    from mineaction.analysis.dimensions import DIMENSIONS

    total = casualties(small_store, statuses=None).total()
    assert total["casualties"] == sum(len(a[-1]) for a in ACCIDENTS)
    for name in DIMENSIONS:
        table = casualties(small_store, [name], statuses=None)
        assert len(table.rows) >= 2, name
        assert table.total() == total, name
        for row in table.rows:
            ids = drilldown_ids(small_store, {name: row[name]}, statuses=None)
            assert len(ids) == row["casualties"], (name, row)
        stats = casualty_stats(small_store, [name], statuses=None)
        assert (f"pct_of_known_{DIMENSIONS[name].column_name}" in stats["rows"][0]) \
            is DIMENSIONS[name].categorical


def test_casualties_by_quarter(small_store: Store) -> None:
    """The dimension added to show that one takes a declaration, its docs row and a test."""
    from mineaction.analysis.casualties import casualties

    table = casualties(small_store, ["quarter", "outcome"], statuses=None)
    assert {(r["quarter"], r["outcome"]): r["casualties"] for r in table.rows} == {
        (None, "injured"): 1, ("2006-Q1", "killed"): 1, ("2006-Q1", "injured"): 1,
        ("2006-Q3", "injured"): 1, ("2006-Q4", "unknown"): 1, ("2006-Q4", "injured"): 1,
        ("2019-Q2", "killed"): 1}
    known = [r["quarter"] for r in table.rows if r["quarter"] is not None]
    assert known == sorted(known)  # in time order, as text sorts
