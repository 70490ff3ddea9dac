"""The command examples of the docs run, and print what the docs say (#16).

A ```console block in docs/user-guide.md or docs/commands/*.md is executed when the line
before its fence is the marker

    <!-- executed -->            or    <!-- executed: exit=1 -->

Each `$ mineaction ...` line of the block runs (in this process, through the command
line's Typer app, with COLUMNS=100) in a fresh directory holding the demo store
(`mineaction.gpkg`, built once per session as scripts/demo builds it, from the AICMA and
DANE files of data/colombia, which are there under their own names; a copy for a block that
imports or exports personal data, which write to the store), and its standard output then
standard error must match the lines that follow it, up to the next `$ ` line. A line `...`
(indented or not) stands for any number of lines. Timings (`in 6.3 s`), ids (UUIDs) and
timestamps are normalised on both sides; trailing spaces are ignored. `exit=N` is the exit
status every command of the block must end with (default 0).
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mineaction.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "user-guide.md", *sorted((ROOT / "docs" / "commands").glob("*.md"))]
DATA = ROOT / "data" / "colombia"
DEMO_FILES = {  # what scripts/demo imports, in its order
    DATA / "admin" / "departments_dane_mgn2021.geojson": "dane-departments",
    DATA / "admin" / "municipalities_dane_mgn2021.geojson": "dane-municipalities",
    DATA / "aicma_victims_register_2021-06.csv": "aicma-victims",
    DATA / "aicma_events_1990-2014.geojson": "aicma-events",
}
MARKER = re.compile(r"^<!-- executed(?::\s*exit=(\d+))?\s*-->$")
ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb", "MINEACTION_STORE": None}
WRITES = re.compile(r"^mineaction (import|init)\b|--include-personal-data")


@dataclass
class Example:
    path: Path
    line: int  # of the fence, 1-based
    exit_status: int
    commands: list[tuple[str, list[str]]]  # (command, expected lines)

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def examples(path: Path) -> list[Example]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        marker = MARKER.match(line.strip())
        if not marker:
            continue
        assert lines[i + 1].strip() == "```console", f"{path}:{i + 1}: marker not before a block"
        end = next(j for j in range(i + 2, len(lines)) if lines[j].strip() == "```")
        commands: list[tuple[str, list[str]]] = []
        for body in lines[i + 2:end]:
            if body.startswith("$ "):
                commands.append((body[2:], []))
            else:
                assert commands, f"{path}:{i + 2}: output before the first `$ ` line"
                commands[-1][1].append(body)
        found.append(Example(path, i + 2, int(marker.group(1) or 0), commands))
    return found


ALL = [example for path in DOCS for example in examples(path)]

NORMALISE = [
    (re.compile(r"\bin \d+(\.\d+)? s\b"), "in N s"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00|Z)?"), "<time>"),
]


def normalise(line: str) -> str:
    for pattern, replacement in NORMALISE:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def matches(expected: list[str], actual: list[str]) -> bool:
    """`expected` (with `...` lines matching any number of lines) matches `actual`."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and normalise(head) == normalise(actual[0]) and matches(rest, actual[1:])


def run(argv: list[str]) -> tuple[int, list[str]]:
    """`mineaction ARGV` in the current directory: its exit status, and its standard output
    then standard error."""
    result = CliRunner().invoke(app, argv, env=ENV, catch_exceptions=False)
    return result.exit_code, (result.stdout + result.stderr).splitlines()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo data under its own names and the store scripts/demo builds from it."""
    where = tmp_path_factory.mktemp("demo")
    for source in DEMO_FILES:
        (where / source.name).symlink_to(source)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(where)
        for source, mapping in [(None, None), *DEMO_FILES.items()]:
            argv = ["init"] if source is None else ["import", source.name, "--mapping", mapping]
            status, output = run(argv)
            assert status == 0, output
    return where


def test_the_marked_examples_are_found() -> None:
    assert len(ALL) >= 10, [e.id for e in ALL]


@pytest.mark.parametrize("example", ALL, ids=lambda e: e.id)
def test_doc_example_prints_what_the_docs_say(example: Example, demo_dir: Path,
                                              tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [p.name for p in DEMO_FILES]:
        (tmp_path / name).symlink_to(demo_dir / name)
    store = tmp_path / "mineaction.gpkg"
    if any(WRITES.search(command) for command, _ in example.commands):
        shutil.copy(demo_dir / "mineaction.gpkg", store)
    else:
        store.symlink_to(demo_dir / "mineaction.gpkg")
    monkeypatch.chdir(tmp_path)
    for command, expected in example.commands:
        argv = shlex.split(command)
        assert argv[0] == "mineaction", f"{example.id}: only mineaction commands run"
        status, actual = run(argv[1:])
        assert matches(expected, actual), (
            f"{example.id}: `{command}` printed\n" + "\n".join(actual[:60])
            + "\n\nwhere the docs say\n" + "\n".join(expected))
        assert status == example.exit_status, (
            f"{example.id}: `{command}` exited {status}, the docs say {example.exit_status}")
