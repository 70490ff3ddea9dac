"""`mineaction audit verify`: the checkpoint it prints, `--against` a kept one, the anchor
file beside a GeoPackage store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mineaction.audit.anchor import ANCHOR_ENV
from mineaction.cli import app as cli_app


def _cli() -> typer.Typer:
    return cli_app  # the real command line, its server commands included


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv(ANCHOR_ENV, raising=False)
    return {"MINEACTION_STORE": str(tmp_path / "s.gpkg"),
            "MINEACTION_PASSWORD": "correct horse battery"}


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(_cli(), list(args), env=env)
    return r.exit_code, r.stdout, r.stderr


def test_checkpoint_is_printed_last_and_kept_in_the_anchor_file(env: dict[str, str]) -> None:
    assert _run(env, "user", "add", "eve", "--role", "viewer")[0] == 0
    code, out, _ = _run(env, "audit", "verify", "--checkpoint")
    assert code == 0, out
    checkpoint = out.splitlines()[-1]
    seq, _, digest = checkpoint.partition(":")
    assert int(seq) >= 3 and len(digest) == 64
    anchor = Path(env["MINEACTION_STORE"] + ".audit-anchor")
    assert anchor.read_text().split()[0] == checkpoint
    # The checkpoint stays valid while the log grows.
    assert _run(env, "user", "set-role", "eve", "editor")[0] == 0
    assert _run(env, "audit", "verify", "--against", checkpoint)[0] == 0


def test_against_a_kept_checkpoint_catches_a_log_cut_back(env: dict[str, str],
                                                          tmp_path: Path) -> None:
    _run(env, "user", "add", "eve", "--role", "viewer")
    kept = tmp_path / "kept-checkpoint"
    kept.write_text(_run(env, "audit", "verify", "--checkpoint")[1].splitlines()[-1])
    with sqlite3.connect(env["MINEACTION_STORE"]) as conn:
        conn.execute("DELETE FROM audit_log WHERE fid > 1")
    code, _, err = _run(env, "audit", "verify", "--against", str(kept), "--anchor",
                        str(tmp_path / "no-such-anchor"))
    assert code == 1 and "entries were cut off the end or the log was emptied" in err
    # The anchor file beside the store catches it without being asked.
    code, _, err = _run(env, "audit", "verify")
    assert code == 1 and "anchor" in err


def test_a_bad_checkpoint_is_a_usage_error(env: dict[str, str]) -> None:
    code, _, err = _run(env, "audit", "verify", "--against", "12:abc")
    assert code == 2 and "not a checkpoint" in err
