"""The server commands: user add|list|set-role|disable, token create, audit verify."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import typer
from typer.testing import CliRunner

from mineaction.cli import app as cli_app


def _cli() -> typer.Typer:
    return cli_app  # the real command line, its server commands included


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


def test_serve_help_documents_its_options_and_defaults() -> None:
    r = CliRunner().invoke(_cli(), ["serve", "--help"], terminal_width=200)
    for option in ("--host", "--port", "--workers", "--config", "--store"):
        assert option in r.output
    # Defaults written in square brackets were eaten as rich markup once.
    for default in ("127.0.0.1", "8000", "2048"):
        assert default in r.output


def test_serve_runs_uvicorn_with_the_fair_loop_and_one_shared_socket(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    seen: dict[str, object] = {}

    def single(self: uvicorn.Server) -> None:
        seen.update(config=self.config, sockets=None)

    def multi(self: Multiprocess) -> None:
        seen.update(config=self.config, sockets=self.sockets)

    monkeypatch.setattr(uvicorn.Server, "run", single)
    monkeypatch.setattr(Multiprocess, "run", multi)
    store = str(tmp_path / "s.gpkg")
    # serve sets these for its workers: monkeypatch puts them back afterwards.
    monkeypatch.setenv("MINEACTION_STORE", "unused.gpkg")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    r = CliRunner().invoke(_cli(), ["serve", "--store", store, "--no-access-log",
                                    "--backlog", "512", "--workers", "2", "--port", port])
    assert r.exit_code == 0, r.output
    config = seen["config"]
    assert isinstance(config, uvicorn.Config)
    assert config.access_log is False and config.backlog == 512 and config.workers == 2
    assert config.loop == "mineaction.api.serving:FairAcceptLoop"
    [sock] = seen["sockets"]  # type: ignore[misc]
    # One socket the workers all listen on (api/connection_shares.py spreads the
    # connections), not yet listening: the workers do that.
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
    sock.close()
    r = CliRunner().invoke(_cli(), ["serve", "--store", store])
    assert r.exit_code == 0, r.output
    config = seen["config"]
    assert isinstance(config, uvicorn.Config)
    assert config.access_log is True and config.backlog == 2048 and seen["sockets"] is None
