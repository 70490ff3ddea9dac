"""The sign-in throttle (issue 15, 13): parallel attempts raced the counter (19 password
checks instead of 5); `X-Forwarded-For` was believed from any local process, so a client
could name itself anew on every attempt; the limiter forgot everything after 100,001
keys."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from api_helpers import PASSWORD, Api
from typer.testing import CliRunner

from mineaction.cli import app as cli_app
from mineaction.services.container import LoginLimiter


def test_parallel_sign_ins_get_no_more_password_checks_than_the_limit(api: Api) -> None:
    api.user("viewer")
    users = api.services.users
    checks = []
    real = users.authenticate

    def slow_check(username: str, password: str) -> Any:
        checks.append(username)
        time.sleep(0.05)  # every attempt is in flight before the first one fails
        return real(username, password)

    users.authenticate = slow_check  # type: ignore[method-assign]
    try:
        browser = api.anonymous()
        wrong = {"json": {"username": "viewer", "password": "wrong guess"}}
        answers = browser.gather(*[(browser, "POST", "/api/v1/auth/login", wrong)] * 20)
    finally:
        users.authenticate = real  # type: ignore[method-assign]
    codes = sorted(r.status_code for r in answers)
    assert len(checks) == 5
    assert codes == [401] * 5 + [429] * 15
    # And the right password waits its turn too: the limit is per client and username.
    r = browser.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert r.status_code == 429


def test_a_success_forgets_the_failures() -> None:
    limiter = LoginLimiter(attempts=3, window_s=60)
    for _ in range(2):
        assert limiter.reserve("c|ana") == 0
    assert limiter.reserve("c|ana") == 0  # this one succeeds
    limiter.succeeded("c|ana")
    assert [limiter.reserve("c|ana") for _ in range(4)][:3] == [0, 0, 0]
    assert limiter.reserve("c|ana") > 0


def test_a_spray_of_keys_does_not_make_the_limiter_forget_a_blocked_key() -> None:
    limiter = LoginLimiter(attempts=5, window_s=60)
    for i in range(60_000):
        limiter.reserve(f"10.0.0.1|user{i}")
    for _ in range(5):
        assert limiter.reserve("10.0.0.2|admin") == 0
    assert limiter.reserve("10.0.0.2|admin") > 0
    # Past 100,001 keys the old limiter cleared everything, the blocked key included.
    for i in range(60_000, 110_000):
        limiter.reserve(f"10.0.0.1|user{i}")
    assert len(limiter) == 100_000  # bounded: the keys touched longest ago went
    assert limiter.reserve("10.0.0.2|admin") > 0
    assert limiter.retry_after("10.0.0.1|user0") == 0  # the oldest was forgotten


def _cli() -> typer.Typer:
    return cli_app  # the real command line, its server commands included


def _served_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   *options: str) -> Any:
    import uvicorn

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: seen.update(config=self.config))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # whatever was there is not believed
    monkeypatch.setenv("MINEACTION_STORE", str(tmp_path / "s.gpkg"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    r = CliRunner().invoke(_cli(), ["serve", "--port", port, *options])
    assert r.exit_code == 0, r.output
    return seen["config"]


async def _client_seen(config: Any, peer: str, forwarded: str) -> str:
    from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["client"] = scope["client"][0]

    middleware = ProxyHeadersMiddleware(app, trusted_hosts=config.forwarded_allow_ips)
    scope = {"type": "http", "client": (peer, 5000), "scheme": "http",
             "headers": [(b"x-forwarded-for", forwarded.encode())]}
    await middleware(scope, None, None)  # type: ignore[arg-type]
    return str(seen["client"])


def test_x_forwarded_for_is_believed_only_from_configured_proxies(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    config = _served_config(tmp_path, monkeypatch)
    assert config.proxy_headers  # uvicorn's default, now with no address to believe
    for peer in ("127.0.0.1", "::1", "10.0.0.5"):
        assert anyio.run(_client_seen, config, peer, "6.6.6.6") == peer
    monkeypatch.setenv("MINEACTION_TRUSTED_PROXIES", '["10.0.0.5", "192.168.0.0/24"]')
    config = _served_config(tmp_path, monkeypatch)
    assert anyio.run(_client_seen, config, "10.0.0.5", "6.6.6.6") == "6.6.6.6"
    assert anyio.run(_client_seen, config, "192.168.0.9", "6.6.6.6") == "6.6.6.6"
    assert anyio.run(_client_seen, config, "127.0.0.1", "6.6.6.6") == "127.0.0.1"
