"""The user documentation keeps up with the code.

- every command and subcommand of the CLI has a page in docs/commands/, and every option of
  it appears on that page;
- every option that the mapping-file format accepts, and every key the shipped and example
  mappings use, is documented in docs/mappings.md;
- the KoboToolbox example in docs/examples/ imports cleanly and puts its DMS and MGRS points
  where they belong;
- docs/generate_command_docs.py --check passes: the generated parts of the pages are
  current.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyproj import Geod, Proj

from mineaction.io import mapping as mapping_module
from mineaction.io.mapping import load_mapping, shipped_mappings
from mineaction.io.pipeline import import_file
from mineaction.store import Query, open_store

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"
GENERATOR = DOCS / "generate_command_docs.py"
EXAMPLES = DOCS / "examples"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_command_docs", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


GEN = _generator()
COMMANDS = GEN.leaf_commands()


def test_the_cli_has_the_commands_we_document() -> None:
    names = {" ".join(c.path) for c in COMMANDS}
    assert {"init", "info", "mappings", "import", "list", "export", "flags",
            "stats casualties"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c.path))
def test_every_command_has_a_page(command: Any) -> None:
    assert command.page.exists(), f"no page {command.page.relative_to(REPO_ROOT)} for " \
                                  f"`{command.title}`: run python docs/generate_command_docs.py"
    text = command.page.read_text(encoding="utf-8")
    assert text.startswith(f"# {command.title}\n")
    for heading in ("## Options", "## Exit status", "## Example"):
        assert heading in text, f"{command.page.name} has no {heading!r} section"
    assert "TODO" not in text, f"{command.page.name} still has TODO placeholders"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c.path))
def test_every_option_is_on_its_page(command: Any) -> None:
    text = command.page.read_text(encoding="utf-8")
    for param in GEN.options_of(command.command):
        for name in GEN.option_names(param):
            assert f"`{name}" in text, f"{command.page.name} does not mention {name}"
    for arg in GEN.arguments_of(command.command):
        assert f"`{arg.name.upper()}`" in text


def test_the_index_lists_every_command_and_the_global_options() -> None:
    text = (DOCS / "commands" / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"({command.page.name})" in text
    for param in GEN.options_of(GEN.root_command()):
        for name in GEN.option_names(param):
            assert f"`{name}`" in text


# -- mappings ---------------------------------------------------------------------------------

MAPPINGS_DOC = (DOCS / "mappings.md").read_text(encoding="utf-8")


def _documented(key: str) -> bool:
    return f"`{key}`" in MAPPINGS_DOC or f"`{key}:" in MAPPINGS_DOC or f"{key}:" in MAPPINGS_DOC


def _option_names(model: type) -> set[str]:
    """The keys a part of a mapping file accepts (by their YAML names)."""
    fields: dict[str, Any] = model.model_fields  # type: ignore[attr-defined]
    return {info.alias or name for name, info in fields.items()}


def test_every_option_of_the_mapping_format_is_documented() -> None:
    parts = {
        "file": mapping_module.Mapping,
        "source": mapping_module.SourceInfo,
        "target": mapping_module.Target,
        "group": mapping_module.Group,
        "field rule": mapping_module.FieldRule,
        "number": mapping_module.NumberFormat,
        "date_parts": mapping_module.DateParts,
        "point": mapping_module.PointRule,
    }
    internal = {"path"}  # set by the loader, not written in files
    missing = sorted(f"{part}: {key}" for part, model in parts.items()
                     for key in _option_names(model) - internal if not _documented(key))
    assert not missing, f"options not documented in docs/mappings.md: {missing}"


def _keys_used(node: Any, where: str) -> set[str]:
    """Option keys a mapping file uses, walking its structure (field names, value maps and
    column names in `when` are data, not options)."""
    used: set[str] = set()
    if not isinstance(node, dict):
        return used
    if where == "file":
        used |= set(node)
        if isinstance(node.get("source"), dict):
            used |= set(node["source"])
        targets = node.get("targets") or ([node] if "kind" in node else [])
        for target in targets:
            used |= _keys_used(target, "target")
    elif where == "target":
        used |= {k for k in node if k in ("kind", "when", "external_id", "fields", "group")}
        if isinstance(node.get("external_id"), dict):
            used |= _keys_used(node["external_id"], "rule")
        for rule in (node.get("fields") or {}).values():
            used |= _keys_used(rule, "rule")
        if isinstance(node.get("group"), dict):
            used |= set(node["group"])
            for rule in (node["group"].get("fields") or {}).values():
                used |= _keys_used(rule, "rule")
    elif where == "rule":
        used |= set(node)
        for nested in ("number", "date_parts", "point"):
            if isinstance(node.get(nested), dict):
                used |= set(node[nested])
                if nested == "point" and isinstance(node["point"].get("number"), dict):
                    used |= set(node["point"]["number"])
    return used


MAPPING_FILES = [*shipped_mappings().values(), *sorted(EXAMPLES.glob("*.yaml"))]


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: p.name)
def test_every_key_a_mapping_file_uses_is_documented(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    used = _keys_used(data, "file")
    assert used, f"{path.name}: found no keys"
    missing = sorted(k for k in used if not _documented(str(k)))
    assert not missing, f"{path.name} uses {missing}, which docs/mappings.md does not explain"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_mappings_load(path: Path) -> None:
    load_mapping(path)


def test_the_shipped_mappings_are_named_in_the_docs() -> None:
    guide = (DOCS / "user-guide.md").read_text(encoding="utf-8")
    for name in shipped_mappings():
        assert name in guide, f"the user guide's list of shipped mappings lacks {name}"


# -- the KoboToolbox example ------------------------------------------------------------------

GEOD = Geod(ellps="WGS84")
UTM_18N = Proj(proj="utm", zone=18, ellps="WGS84")


def _mgrs_centre(easting: float, northing: float) -> tuple[float, float]:
    """(lat, lon) of the centre of a 1 m MGRS square, via pyproj, not the importer's code."""
    lon, lat = UTM_18N(easting + 0.5, northing + 0.5, inverse=True)
    return lat, lon


def _dms(d: int, m: int, s: float) -> float:
    return d + m / 60 + s / 3600


# external id (_uuid) -> where the point must be, (lat, lon), worked out by hand.
EXPECTED_POINTS = {
    # decimal degrees "6.143703, -75.185183"
    "3f1c9a52-6b0e-4d7e-9a51-0c6e2d1b7a01": (6.143703, -75.185183),
    # DMS 7°53'00.8"N 75°40'13.8"W
    "8a7d2e11-43c9-4b0f-8f5e-2e9f3c4d5b02": (_dms(7, 53, 0.8), -_dms(75, 40, 13.8)),
    # MGRS 18NVG 48486 65242: zone 18N, 100 km square VG = easting 4xx xxx, northing 1xx xxx
    "c2b4e6f8-1a3c-4e5f-9b7d-4f6a8c0e2d03": _mgrs_centre(448486, 165242),
    # DMS with the Spanish "O" (oeste): 6°28'45.0"N 73°15'27.5"O
    "e4d6f8a0-3c5e-4a7b-8d9f-6b8c0e2f4a04": (_dms(6, 28, 45.0), -_dms(73, 15, 27.5)),
}


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    _, _, metres = GEOD.inv(a[1], a[0], b[1], b[0])
    return float(metres)


def test_the_kobotoolbox_example_imports(tmp_path: Path) -> None:
    mapping = load_mapping(EXAMPLES / "kobo-accidents.yaml")
    with open_store(tmp_path / "scratch.gpkg") as store:
        report = import_file(store, EXAMPLES / "kobo-accidents.csv", mapping=mapping)
        assert report.committed
        assert not report.errors, report.error_lines()
        assert not report.flags, [f.message for f in report.flags]
        assert report.rows_read == 5
        accidents = report.kinds["accident"]
        assert (accidents.added, accidents.rejected) == (5, 0)
        assert report.kinds["hazard"].added == 3

        frame = store.read_frame(Query(kind="accident", limit=None))
        hazards = store.read_frame(Query(kind="hazard", limit=None))

    assert len(frame) == 5
    rows = {r["external_id"]: r for r in frame.to_dict("records")}
    for key, expected in EXPECTED_POINTS.items():
        point = rows[key]["geometry"]
        assert _distance_m((point.y, point.x), expected) < 1.0, (key, point.wkt, expected)
    # The text as written is kept beside the point.
    assert rows["c2b4e6f8-1a3c-4e5f-9b7d-4f6a8c0e2d03"]["original_coordinates"] == \
        "18NVG 48486 65242"
    # The UTM row lands in Puerto Asís (Putumayo), near the municipal seat.
    utm = rows["0b2d4f6a-8c1e-4b3d-9f5a-7c9e1a3b5d05"]["geometry"]
    assert _distance_m((utm.y, utm.x), (0.502569, -76.49818)) < 5.0
    # 24/03/2023 with date_format "%d/%m/%Y"; DANE codes padded back to 5 digits; "ns" is
    # no place.
    first = rows["3f1c9a52-6b0e-4d7e-9a51-0c6e2d1b7a01"]
    assert str(first["accident_date"]) == "2023-03-24"
    assert first["admin_area_pcode"] == "05313"
    assert rows["c2b4e6f8-1a3c-4e5f-9b7d-4f6a8c0e2d03"]["place_name"] is None
    # Locale numbers: "2.500", "1.250,5" and "350,75" with number {decimal: ",", thousands: "."}.
    assert sorted(float(a) for a in hazards["area_m2"]) == [350.75, 1250.5, 2500.0]


def test_reimporting_the_example_changes_nothing(tmp_path: Path) -> None:
    mapping = load_mapping(EXAMPLES / "kobo-accidents.yaml")
    with open_store(tmp_path / "scratch.gpkg") as store:
        import_file(store, EXAMPLES / "kobo-accidents.csv", mapping=mapping)
        again = import_file(store, EXAMPLES / "kobo-accidents.csv", mapping=mapping)
    assert again.kinds["accident"].unchanged == 5
    assert again.kinds["hazard"].unchanged == 3


# -- generated parts --------------------------------------------------------------------------


def test_generated_pages_are_up_to_date() -> None:
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr + result.stdout
