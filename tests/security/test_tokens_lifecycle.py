"""API tokens (issue 15, 7): a token could mint tokens that never expire; tokens survived
the sign-out of the session that made them; one token could not be listed or revoked;
an admin's password reset left the user's sessions and tokens working; neither sign-ins
nor token issue were audited."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import typer
from api_helpers import PASSWORD, Api
from typer.testing import CliRunner

from mineaction.audit.schema import AUDIT_LOG
from mineaction.auth.users import UserDirectory
from mineaction.cli import app as cli_app
from mineaction.store import open_store

NEW_PASSWORD = "a brand new sentence"


def _browser(api: Api, role: str) -> Any:
    api.user(role)
    browser = api.anonymous()
    r = browser.post("/api/v1/auth/login", json={"username": role, "password": PASSWORD})
    assert r.status_code == 200
    return browser


def _bearer(token: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"Bearer {token}"}}


def _me(api: Api, token: str) -> int:
    return int(api.anonymous().get("/api/v1/auth/me", **_bearer(token)).status_code)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_token_cannot_outlive_its_parent(api: Api) -> None:
    browser = _browser(api, "editor")
    parent = browser.post("/api/v1/auth/tokens", json={"name": "a", "days": 1}).json()
    script = api.anonymous()
    for asked in ({}, {"days": 3650}, {"name": "forever"}):
        child = script.post("/api/v1/auth/tokens", json=asked, **_bearer(parent["token"]))
        assert child.status_code == 201
        assert _when(child.json()["expires_at"]) == _when(parent["expires_at"]), asked
    shorter = script.post("/api/v1/auth/tokens", json={"days": 0.5},
                          **_bearer(parent["token"])).json()
    assert _when(shorter["expires_at"]) < _when(parent["expires_at"])  # type: ignore[operator]
    grandchild = script.post("/api/v1/auth/tokens", json={},
                             **_bearer(shorter["token"])).json()
    assert _when(grandchild["expires_at"]) == _when(shorter["expires_at"])
    # Revoking the parent ends its whole family; it was made in the session, which lives on.
    assert browser.delete(f"/api/v1/auth/tokens/{parent['id']}").status_code == 204
    for token in (parent, shorter, grandchild):
        assert _me(api, token["token"]) == 401
    assert browser.get("/api/v1/auth/me").json()["username"] == "editor"


def test_signing_out_ends_the_tokens_made_in_that_session(api: Api) -> None:
    elsewhere = api.as_("viewer")  # a token of another user, made elsewhere
    browser = _browser(api, "editor")
    made = browser.post("/api/v1/auth/tokens", json={"name": "script"}).json()
    grandchild = api.anonymous().post("/api/v1/auth/tokens", json={},
                                      **_bearer(made["token"])).json()
    other = _browser(api, "editor")  # the same user's second browser
    assert _me(api, made["token"]) == 200
    assert browser.post("/api/v1/auth/logout").status_code == 204
    assert _me(api, made["token"]) == 401
    assert _me(api, grandchild["token"]) == 401
    assert other.get("/api/v1/auth/me").json()["username"] == "editor"
    assert elsewhere.get("/api/v1/auth/me").json()["username"] == "viewer"


def test_one_token_is_listed_and_revoked_alone(api: Api) -> None:
    script = api.as_("editor")
    made = [script.post("/api/v1/auth/tokens", json={"name": n}).json() for n in ("a", "b")]
    listed = script.get("/api/v1/auth/tokens").json()
    assert {t["name"] for t in listed} >= {"a", "b"}
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    assert script.delete(f"/api/v1/auth/tokens/{made[0]['id']}").status_code == 204
    assert _me(api, made[0]["token"]) == 401
    assert _me(api, made[1]["token"]) == 200
    assert made[0]["id"] not in {t["id"] for t in script.get("/api/v1/auth/tokens").json()}
    # Someone else's token is not yours to revoke, nor to see.
    viewer = api.as_("viewer")
    assert viewer.delete(f"/api/v1/auth/tokens/{made[1]['id']}").status_code == 404
    assert made[1]["id"] not in {t["id"] for t in viewer.get("/api/v1/auth/tokens").json()}
    assert _me(api, made[1]["token"]) == 200
    # An admin sees and revokes anyone's.
    admin = api.as_("admin")
    assert viewer.get("/api/v1/users/editor/tokens").status_code == 403
    assert made[1]["id"] in {t["id"] for t in admin.get("/api/v1/users/editor/tokens").json()}
    assert admin.delete(f"/api/v1/users/editor/tokens/{made[1]['id']}").status_code == 204
    assert _me(api, made[1]["token"]) == 401
    assert admin.delete(f"/api/v1/users/editor/tokens/{made[1]['id']}").status_code == 404


def test_an_admin_password_reset_ends_the_users_sessions_and_tokens(api: Api) -> None:
    browser = _browser(api, "viewer")
    token = browser.post("/api/v1/auth/tokens", json={"days": 30}).json()["token"]
    cli_token, _ = api.services.users.issue(api.services.users.get("viewer"), "token")
    r = api.as_("admin").patch("/api/v1/users/viewer", json={"password": NEW_PASSWORD})
    assert r.status_code == 200
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert _me(api, token) == 401 and _me(api, cli_token) == 401
    again = api.anonymous().post("/api/v1/auth/login", json={"username": "viewer",
                                                             "password": NEW_PASSWORD})
    assert again.status_code == 200


def _audit(api: Api) -> list[dict[str, Any]]:
    import json

    with api.services.store.engine.connect() as conn:
        rows = conn.execute(sa.select(AUDIT_LOG.c.actor, AUDIT_LOG.c.action,
                                      AUDIT_LOG.c.detail).order_by(AUDIT_LOG.c.fid))
        return [{"actor": a, "action": b, **json.loads(c or "{}")} for a, b, c in rows]


def test_sign_ins_and_tokens_are_audited(api: Api) -> None:
    api.user("editor")
    browser = api.anonymous()
    assert browser.post("/api/v1/auth/login", json={"username": "editor",
                                                    "password": "not it at all"}
                        ).status_code == 401
    assert browser.post("/api/v1/auth/login", json={"username": "editor",
                                                    "password": PASSWORD}).status_code == 200
    made = browser.post("/api/v1/auth/tokens", json={"name": "nightly"}).json()
    assert browser.delete(f"/api/v1/auth/tokens/{made['id']}").status_code == 204
    assert browser.post("/api/v1/auth/logout").status_code == 204
    entries = [e for e in _audit(api) if e["action"] in
               ("sign_in_failed", "sign_in", "token_create", "token_revoke", "sign_out")]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("sign_in_failed", None), ("sign_in", "editor"), ("token_create", "editor"),
        ("token_revoke", "editor"), ("sign_out", "editor")]
    assert entries[0]["username"] == "editor" and entries[0]["client"]
    assert entries[2]["token"] == made["id"] and entries[2]["name"] == "nightly"
    assert entries[2]["made_with"] == entries[1]["session"]
    assert all("not it at all" not in str(e) and PASSWORD not in str(e) for e in entries)


def _cli() -> typer.Typer:
    return cli_app  # the real command line, its server commands included


def test_the_cli_lists_and_revokes_one_token(tmp_path: Path) -> None:
    store = str(tmp_path / "s.gpkg")
    run, app = CliRunner().invoke, _cli()
    env = {"MINEACTION_STORE": store, "MINEACTION_PASSWORD": PASSWORD}
    assert run(app, ["user", "add", "ana", "--role", "editor"], env=env).exit_code == 0
    first = run(app, ["token", "create", "ana", "--name", "sync"], env=env).output.strip()
    second = run(app, ["token", "create", "ana", "--days", "7"], env=env).output.strip()
    listed = run(app, ["token", "list"], env=env)
    assert listed.exit_code == 0 and "sync" in listed.output and "never" in listed.output
    assert first not in listed.output and second not in listed.output
    ids = [int(line.split()[0]) for line in listed.output.splitlines()]
    assert len(ids) == 2
    assert run(app, ["token", "list", "nobody"], env=env).exit_code == 2
    r = run(app, ["token", "revoke", str(ids[0])], env=env)
    assert r.exit_code == 0, r.output
    assert run(app, ["token", "revoke", str(ids[0])], env=env).exit_code == 2
    with open_store(store) as s:
        users = UserDirectory(s)
        assert users.resolve(first) is None and users.resolve(second) is not None
    assert len(run(app, ["token", "list", "ana"], env=env).output.splitlines()) == 1
    with sqlite3.connect(store) as conn:
        actions = [a for (a,) in conn.execute("SELECT action FROM audit_log")]
    assert actions.count("token_create") == 2 and actions.count("token_revoke") == 1


def test_a_store_made_before_this_change_gains_the_parent_column(tmp_path: Path) -> None:
    path = tmp_path / "old.gpkg"
    with open_store(str(path)) as s:
        UserDirectory(s)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE auth_credentials DROP COLUMN parent_fid")
    with open_store(str(path)) as s:
        users = UserDirectory(s)
        users.add("ana", PASSWORD, "editor")
        secret, _ = users.issue(users.get("ana"), "token")
        assert users.resolve(secret) is not None
    with sqlite3.connect(path) as conn:
        assert "parent_fid" in [r[1] for r in conn.execute("PRAGMA table_info(auth_credentials)")]


def test_a_sessions_own_end_ends_only_the_session(api: Api) -> None:
    # What signing out ends is above; a session that merely runs out (session_hours)
    # leaves the script tokens made in it working, as docs/server.md says.
    from mineaction.auth.schema import CREDENTIALS

    browser = _browser(api, "editor")
    made = browser.post("/api/v1/auth/tokens", json={"name": "script"}).json()
    with api.services.store.transaction() as conn:
        conn.execute(CREDENTIALS.update().where(CREDENTIALS.c.kind == "session")
                     .values(expires_at=datetime(2000, 1, 1)))
    assert browser.get("/api/v1/auth/me").status_code == 401
    assert _me(api, made["token"]) == 200
