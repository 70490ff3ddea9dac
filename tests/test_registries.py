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
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fastapi import APIRouter, FastAPI

from mineaction.cli import app as cli_app
from mineaction.io import formats

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
    assert _choices(export_format) == [f.name for f in formats.writable()]
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
