"""The server commands: user add|list|set-role|disable, token create, audit verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import typer
from typer.testing import CliRunner

from mineaction.cli_server import register


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """mineaction"""

    register(app)
    return app


def test_users_tokens_and_audit_verify(tmp_path: Path) -> None:
    store = str(tmp_path / "s.gpkg")
    run = CliRunner().invoke
    app = _cli()
    env = {"MINEACTION_STORE": store, "MINEACTION_PASSWORD": "a long password"}
    r = run(app, ["user", "add", "ana", "--role", "editor"], env=env)
    assert r.exit_code == 0, r.output
    assert run(app, ["user", "add", "ana", "--role", "editor"], env=env).exit_code == 2
    assert run(app, ["user", "add", "bo", "--role", "public"], env=env).exit_code == 2
    assert run(app, ["user", "set-role", "ana", "approver"], env=env).exit_code == 0
    listed = run(app, ["user", "list"], env=env).output
    assert "ana" in listed and "approver" in listed and "active" in listed
    token = run(app, ["token", "create", "ana", "--days", "1"], env=env).output.strip()
    assert token.startswith("ma_")
    assert run(app, ["user", "disable", "ana"], env=env).exit_code == 0
    assert "disabled" in run(app, ["user", "list"], env=env).output
    assert run(app, ["token", "create", "ana"], env=env).exit_code == 2

    ok = run(app, ["audit", "verify"], env=env)
    assert ok.exit_code == 0 and "audit trail verified" in ok.output
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE audit_log SET detail = '{}' WHERE fid = 1")
    bad = run(app, ["audit", "verify"], env=env)
    assert bad.exit_code == 1 and "TAMPERED" in bad.output


def test_serve_help_documents_its_options() -> None:
    r = CliRunner().invoke(_cli(), ["serve", "--help"])
    for option in ("--host", "--port", "--workers", "--config", "--store"):
        assert option in r.output


def test_serve_passes_access_log_and_backlog_to_uvicorn(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.delenv("MINEACTION_STORE", raising=False)
    store = str(tmp_path / "s.gpkg")
    r = CliRunner().invoke(_cli(), ["serve", "--store", store, "--no-access-log",
                                    "--backlog", "512", "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert seen["access_log"] is False and seen["backlog"] == 512 and seen["workers"] == 2
    CliRunner().invoke(_cli(), ["serve", "--store", store])
    assert seen["access_log"] is True and seen["backlog"] == 2048
