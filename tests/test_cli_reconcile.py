"""`mineaction reconcile` (issue 17): link two sources, read the queue, decide, undo, and
see `stats casualties` count each victim once (or every record with --per-record)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mineaction.cli import app
from mineaction.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent / "linkage"))

from test_reconcile_service import OWN, SHARED, _report  # noqa: E402

runner = CliRunner()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.gpkg"
    with open_store(path) as store:
        for i in range(SHARED + OWN):
            _report(store, "police-2021", i)
        for i in range(SHARED):
            _report(store, "hospital-2021", i, shift_days=i % 3)
    return path


def cli(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--store", str(path)], env={"COLUMNS": "100"})
    return result.exit_code, result.output


def total(path: Path, *extra: str) -> int:
    code, out = cli(path, "stats", "casualties", "--format", "csv", *extra)
    assert code == 0, out
    return int(out.splitlines()[1].split(",")[0])


def test_link_review_decide_and_count_once(store_path: Path) -> None:
    assert total(store_path) == 2 * SHARED + OWN
    code, out = cli(store_path, "reconcile", "run", "police-2021", "hospital-2021",
                    "--upper", "1", "--lower", "0.5")
    assert code == 0, out
    assert f"links review {SHARED}" in out and f"{SHARED} entities" in out
    assert total(store_path) == SHARED + OWN  # pairs in review count once
    assert total(store_path, "--per-record") == 2 * SHARED + OWN

    code, out = cli(store_path, "reconcile", "queue", "--limit", "2")
    assert code == 0, out
    assert f"{SHARED} review links of victims (showing 1-2)" in out
    links = re.findall(r"^link ([0-9a-f-]{36})", out, re.M)
    assert len(links) == 2
    assert "outcome" in out and "accident_date" in out

    code, out = cli(store_path, "reconcile", "reject", links[0], "--note", "two people")
    assert code == 0 and f"link {links[0]}: rejected" in out
    assert total(store_path) == SHARED + OWN + 1
    code, out = cli(store_path, "reconcile", "undo", links[0])
    assert code == 0 and "back to review" in out
    assert total(store_path) == SHARED + OWN
    code, out = cli(store_path, "reconcile", "confirm", links[1])
    assert code == 0 and "confirmed" in out
    code, out = cli(store_path, "reconcile", "queue")
    assert f"{SHARED - 1} review links" in out


def test_errors_are_clear(store_path: Path) -> None:
    code, out = cli(store_path, "reconcile", "run", "police-2021")
    assert code == 2 and "at least two datasets" in out
    code, out = cli(store_path, "reconcile", "run", "police-2021", "nowhere")
    assert code == 2 and "no victim records in dataset(s) nowhere" in out
    code, out = cli(store_path, "reconcile", "confirm", "no-such-link")
    assert code == 2 and "no link no-such-link" in out
    code, out = cli(store_path, "reconcile", "undo", "no-such-link")
    assert code == 2


def test_stats_sources_shows_overlaps_and_the_estimate(tmp_path: Path) -> None:
    """Three sources, linked: per source, what only it has, the overlaps, and the estimate
    of the victims none recorded (three sources give one; here, with an interval)."""
    path = tmp_path / "three.gpkg"
    n = SHARED + OWN
    with open_store(path) as store:
        for i in range(n):
            if i % 10 < 7:
                _report(store, "police", i)
            if i % 2 == 0:
                _report(store, "hospital", i, shift_days=1)
            if i % 3 == 0:
                _report(store, "press", i, shift_days=2)
    code, out = cli(path, "reconcile", "run", "police", "hospital", "press")
    assert code == 0, out
    code, out = cli(path, "stats", "sources", "--chart", str(tmp_path / "upset.png"))
    assert code == 0, out
    assert "police" in out and "hospital & press" in out.replace("press & hospital",
                                                                 "hospital & press")
    recorded = len({i for i in range(n) if i % 10 < 7 or i % 2 == 0 or i % 3 == 0})
    assert f"distinct: {recorded}" in out
    assert "estimated in all" in out or "no estimate of the unrecorded" in out
    assert (tmp_path / "upset.png").read_bytes()[:4] == b"\x89PNG"
    code, out = cli(path, "stats", "sources", "--sources", "police,nowhere")
    assert code == 2 and "nowhere" in out


def test_entity_shows_its_records_and_each_field_with_its_source(store_path: Path) -> None:
    code, out = cli(store_path, "reconcile", "run", "police-2021", "hospital-2021",
                    "--reliability", "hospital-2021,police-2021")
    assert code == 0, out
    with open_store(store_path) as s:
        from mineaction.store import Query

        police = s.query(Query(kind="victim", dataset="police-2021", limit=1)).items[0]
    code, out = cli(store_path, "reconcile", "entity", str(police.id))
    assert code == 0, out
    lines = out.splitlines()
    assert "hospital-2021" in lines[0] and "representative" in lines[0]
    assert "police-2021" in lines[1] and "representative" not in lines[1]
    assert "as one record" in out
    assert re.search(r"outcome\s+\S+\s+from hospital-2021", out)


def test_a_press_that_counts_casualties_is_imported_and_estimated_from(tmp_path: Path
                                                                        ) -> None:
    """A press monitor's table of accidents with "killed" and "injured" counts (thousands
    separators and all) imported through a mapping: stored as counts on accidents, shown
    apart by `stats sources`, and the estimate of the unrecorded comes from the accident
    model with the centre and the NGO as lists."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "analysis"))
    from sources_fixture import load_counts

    path = tmp_path / "counts.gpkg"
    with open_store(path) as store:
        truth = load_counts(store, accidents=120, store_press=False)
    rows = ["ref;fecha;municipio;muertos;heridos"]
    for i, (when, pcode, killed, injured) in enumerate(truth["press"]):
        # A municipality code without its leading zero, as spreadsheets write it.
        rows.append(f"P{i};{when:%d/%m/%Y};{int(pcode)};{killed:,};{injured:,}")
    (tmp_path / "press.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "press.yaml").write_text("""\
name: press-monitor
dataset: press
country: COL
targets:
  - kind: accidents
    external_id: ref
    fields:
      accident_date: {from: fecha, date_format: "%d/%m/%Y"}
      admin_area_pcode: {from: municipio, pad: 5}
      accident_kind: {constant: mine}
      reported_killed: {from: muertos, number: {thousands: ","}}
      reported_injured: {from: heridos, number: {thousands: ","}}
""", encoding="utf-8")
    code, out = cli(path, "import", str(tmp_path / "press.csv"), "--mapping",
                    str(tmp_path / "press.yaml"))
    assert code == 0, out
    code, out = cli(path, "stats", "sources", "--all-statuses")
    assert code == 0, out
    killed, injured = truth["press_killed"], truth["press_injured"]
    row = next(x for x in out.splitlines() if x.startswith("│ press"))
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[1:] == [str(truth["press_accidents"]), str(killed), str(injured)]
    assert "estimated in all" in out and "counted by press" in out
    low, high = (int(x.replace(",", "")) for x in
                 re.search(r"interval ([\d,]+) to ([\d,]+)", out).groups())  # type: ignore
    assert low <= truth["total"] <= high
