"""Sign-in with session cookies, API tokens, rate-limited login, disabled users, settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import PASSWORD

from mineaction.services.settings import Settings, load_settings


def test_login_cookie_logout(api) -> None:  # type: ignore[no-untyped-def]
    api.user("editor")
    browser = api.anonymous()
    assert browser.get("/api/v1/auth/me").json()["role"] == "public"
    r = browser.post("/api/v1/auth/login", json={"username": "editor", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "editor"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert browser.get("/api/v1/auth/me").json()["username"] == "editor"
    assert browser.post("/api/v1/accidents", json={}).status_code == 201
    token = browser.post("/api/v1/auth/tokens", json={"name": "script"}).json()["token"]
    assert browser.post("/api/v1/auth/logout").status_code == 204
    browser.http.cookies.clear()
    script = api.anonymous()
    # Signing out ended the token made in that session (tests/security/test_tokens*.py).
    me = script.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    kept, _ = api.services.users.issue(api.services.users.get("editor"), "token")
    me = script.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {kept}"})
    assert me.json()["username"] == "editor"
    bad = script.get("/api/v1/auth/me", headers={"Authorization": "Bearer ma_nope"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"


def test_login_is_rate_limited(api) -> None:  # type: ignore[no-untyped-def]
    api.user("viewer")
    c = api.anonymous()
    codes = [c.post("/api/v1/auth/login", json={"username": "viewer", "password": "wrong"}
                    ).status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    r = c.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_disabled_user_loses_access_at_once(api) -> None:  # type: ignore[no-untyped-def]
    viewer = api.as_("viewer")
    assert viewer.get("/api/v1/auth/me").json()["role"] == "viewer"
    r = api.as_("admin").patch("/api/v1/users/viewer", json={"disabled": True})
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert viewer.get("/api/v1/auth/me").status_code == 401
    assert api.anonymous().post("/api/v1/auth/login", json={
        "username": "viewer", "password": PASSWORD}).status_code == 401


def test_passwords_are_argon2_hashed(api) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from mineaction.auth.schema import USERS

    api.user("editor")
    with api.services.store.engine.connect() as conn:
        stored = conn.execute(sa.select(USERS.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_settings_from_env_and_config_file(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "mineaction.toml"
    config.write_text('store = "from-file.gpkg"\nport = 9000\nmax_page_size = 50\n')
    monkeypatch.setenv("MINEACTION_PORT", "9100")
    s = load_settings(config)
    assert (s.store, s.port, s.max_page_size) == ("from-file.gpkg", 9100, 50)
    assert load_settings(config, port=9200).port == 9200
    monkeypatch.setenv("MINEACTION_PORT", "not a port")
    with pytest.raises(ValueError, match="port"):
        load_settings(config)
    config.write_text("no_such_setting = 1\n")
    monkeypatch.delenv("MINEACTION_PORT")
    with pytest.raises(ValueError, match="no_such_setting"):
        load_settings(config)


def test_every_setting_is_documented(repo_root: Path) -> None:
    text = (repo_root / "docs" / "server.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in text]
    assert not missing, f"document these settings in docs/server.md: {missing}"
    api_doc = (repo_root / "docs" / "api.md").read_text()
    for endpoint in ("/auth/login", "/auth/tokens", "/imports", "/history", "/diff",
                     "/submit", "/approve", "/reject", "/victims/summary", "/audit/verify"):
        assert endpoint in api_doc, endpoint
