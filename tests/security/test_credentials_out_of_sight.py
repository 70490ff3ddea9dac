"""Credentials in the store file (issue 15, 10): QGIS and ogrinfo listed `users` and
`auth_credentials` (password and token hashes) as layers to anyone given a copy of the
GeoPackage. They are now left out of gpkg_contents (GDAL lists only registered tables),
also in stores made before; and `mineaction share` writes a copy to give away, without
personal fields, users, credentials or the audit trail."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import typer
from api_helpers import PASSWORD, accident, victim
from typer.testing import CliRunner

from mineaction.auth.schema import ensure_server_tables
from mineaction.auth.share import left_out_tables
from mineaction.auth.users import UserDirectory
from mineaction.cli_server import register
from mineaction.domain.models import ENTITIES
from mineaction.store import open_store

HIDDEN = ("users", "auth_credentials")


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """mineaction"""

    register(app)
    return app


def _ogrinfo_layers(path: Path) -> set[str] | None:
    if shutil.which("ogrinfo") is None:
        return None
    out = subprocess.run(["ogrinfo", "-so", "-q", str(path)], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return {line.split(":", 1)[1].split("(")[0].strip()
            for line in out.splitlines() if ":" in line and line.split(":")[0].strip().isdigit()}


def _store_with_users(path: Path) -> tuple[str, str]:
    with open_store(str(path)) as s:
        users = UserDirectory(s)
        users.add("ana", PASSWORD, "admin")
        token, _ = users.issue(users.get("ana"), "token", name="sync")
        return token, users.hasher.hash(PASSWORD)


def test_gis_clients_do_not_list_the_credential_tables(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    _store_with_users(path)
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert "accidents" in layers and "victims" in layers
    assert not layers & set(HIDDEN)
    ogr = _ogrinfo_layers(path)
    if ogr is not None:
        assert "accidents" in ogr and not ogr & set(HIDDEN)
    with sqlite3.connect(path) as conn:
        listed = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
        assert not listed & set(HIDDEN)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


def test_a_store_made_before_hides_them_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.gpkg"
    _store_with_users(path)
    with sqlite3.connect(path) as conn:  # as stores made before this change had them
        for name in HIDDEN:
            conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) "
                         "VALUES (?, 'attributes', ?)", (name, name))
    assert set(HIDDEN) <= {name for name, _ in pyogrio.list_layers(path)}
    with open_store(str(path)) as s:
        ensure_server_tables(s)
    assert not {name for name, _ in pyogrio.list_layers(path)} & set(HIDDEN)


def _filled_store(path: Path) -> dict[str, Any]:
    from mineaction.audit.log import attach
    from mineaction.domain.models import Accident, Victim

    with open_store(str(path)) as s:
        attach(s)
        users = UserDirectory(s)
        users.add("ana", PASSWORD, "admin")
        token, _ = users.issue(users.get("ana"), "token", name="sync")
        acc = s.add(Accident(**accident()), by="ana")
        vic = s.add(Victim(**victim(str(acc.id))), by="ana")
        s.update(vic.model_copy(update={"age": 13}), expected_version=vic.version, by="ana")
    return {"token": token, "accident": str(acc.id), "victim": str(vic.id)}


def test_the_shareable_copy_holds_no_personal_field_and_no_credential(tmp_path: Path) -> None:
    path, out = tmp_path / "s.gpkg", tmp_path / "share" / "partner.gpkg"
    out.parent.mkdir()
    made = _filled_store(path)
    r = CliRunner().invoke(_cli(), ["share", str(out), "--store", str(path)])
    assert r.exit_code == 0, r.output
    assert not list(out.parent.glob(".*part"))  # no temporary file left
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"accidents", "victims"} <= layers
    assert not layers & set(left_out_tables())
    ogr = _ogrinfo_layers(out)
    if ogr is not None:
        assert "victims" in ogr and not ogr & set(left_out_tables())
    with sqlite3.connect(out) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                             "WHERE type = 'table'")}
        assert not tables & set(left_out_tables())
        for model in ENTITIES.values():
            for col in model.personal_fields() | {"created_by", "updated_by"}:
                if model.table in tables:
                    filled = conn.execute(f'SELECT count(*) FROM "{model.table}" '
                                          f'WHERE "{col}" IS NOT NULL').fetchone()[0]
                    assert filled == 0, (model.table, col)
        assert conn.execute("SELECT age FROM victims").fetchone() == (13,)
    # Nothing of it anywhere in the file's bytes, free pages included.
    raw = out.read_bytes()
    for secret in ("Ana Pérez", "+57 300 000", "$argon2id$", made["token"][3:]):
        assert secret.encode() not in raw, secret
    # GIS can read the copy as a layer, and mineaction can open it.
    meta, _, _, data = pyogrio.raw.read(out, layer="victims", columns=["name", "age"])
    values = {name: list(column) for name, column in zip(meta["fields"], data, strict=True)}
    assert values["name"] == [None] and values["age"] == [13]
    with open_store(str(out)) as copy:
        assert copy.get("accident", made["accident"]).admin_area_pcode == "05313"


def test_share_refuses_to_overwrite_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    _store_with_users(path)
    r = CliRunner().invoke(_cli(), ["share", str(path), "--store", str(path)])
    assert r.exit_code == 2 and "store itself" in r.output
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


@pytest.mark.parametrize("fmt", ["gpkg", "csv"])
def test_an_export_never_holds_credentials(tmp_path: Path, fmt: str) -> None:
    from mineaction.cli import app as main_app

    path = tmp_path / "s.gpkg"
    _filled_store(path)
    out = tmp_path / f"out.{fmt}"
    r = CliRunner().invoke(main_app, ["export", str(out), "--kind", "victims",
                                      "--store", str(path)])
    assert r.exit_code == 0, r.output
    if fmt == "gpkg":
        assert {name for name, _ in pyogrio.list_layers(out)} == {"victims"}
    assert b"argon2" not in out.read_bytes() and b"Ana P" not in out.read_bytes()


def test_every_server_table_naming_who_made_it_is_left_out_of_a_shared_copy() -> None:
    """Certificates issued, priority lists and season plans keep who made them: a shared
    copy (auth/share.py's list of names) leaves out every such table the services add."""
    import mineaction.services.certificates  # noqa: F401 -- registers its table
    import mineaction.services.priorities  # noqa: F401
    import mineaction.services.season_plan  # noqa: F401
    from mineaction.store.schema import METADATA

    who = {"created_by", "issued_by", "built_by", "username", "user_id", "actor"}
    naming = {t.name for t in METADATA.tables.values()
              if t.info.get("unlisted") and who & set(t.columns.keys())}
    assert {"site_certificates", "priority_lists", "season_plans"} <= naming
    assert naming <= set(left_out_tables()), naming - set(left_out_tables())
