"""Browser fixtures: a live uvicorn server on 127.0.0.1 (a free port) over a temporary
GeoPackage store, with the API's app factory and `mount_web`, and Debian's Chromium driven
through Playwright.

`live.user(role)` creates a user through the auth package's Python API; `live.login(page,
role)` signs a page in through the sign-in form. The server runs in a thread of the test
process (uvicorn.Server), so tests can also reach its services directly.

Chromium is launched from /usr/bin/chromium (never downloaded); every request to anything
but 127.0.0.1 is aborted, so the tests also prove the pages need no network.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mineaction.app import create_app
from mineaction.services.settings import load_settings
from mineaction.web import mount_web

CHROMIUM = Path(os.environ.get("MINEACTION_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "correct horse battery"
ROLES = ("admin", "approver", "editor", "field", "viewer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, store_path: Path, upload_dir: Path) -> None:
        import uvicorn

        settings = load_settings(store=str(store_path), argon2_time_cost=1,
                                 argon2_memory_kib=64, upload_dir=upload_dir,
                                 login_attempts=1000)
        self.app = create_app(settings)
        mount_web(self.app, settings)
        self.services = self.app.state.services
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def user(self, role: str, name: str | None = None) -> str:
        name = name or role
        try:
            self.services.users.get(name)
        except Exception:  # noqa: BLE001 -- AuthError: not there yet
            self.services.users.add(name, PASSWORD, role)
        return name

    def login(self, page: Any, role: str, name: str | None = None) -> None:
        username = self.user(role, name)
        page.goto(f"{self.url}/login?next=/records")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.url}/records")
        page.locator(f'.role-badge[data-role="{role}"]').wait_for()


def block_outside(context: Any, seen: list[str]) -> None:
    """Abort every request that does not go to the loopback server; remember them."""

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:")):
            r.continue_()
        else:
            seen.append(url)
            r.abort()

    context.route("**/*", route)


# Per module: each module's server starts from an empty store with fresh sign-in limits,
# so one module's records and sign-ins never change what another module sees.
@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("web")
    server = LiveServer(base / "store.gpkg", base / "uploads")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.services.close()


# Per module, not per session: Playwright's sync API keeps an asyncio loop running in the
# main thread while it is open, and the in-process TestClient of a later module (anyio)
# refuses to start inside it ("Already running asyncio in this thread").
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (scripts/test installs Debian's chromium as root)"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def outside_requests() -> list[str]:
    return []


@pytest.fixture
def context(browser: Any, outside_requests: list[str]) -> Iterator[Any]:
    # Playwright's waiting on a JavaScript condition evaluates it as a string, which the
    # pages' Content-Security-Policy forbids; test_web_csp_e2e.py checks the pages under it.
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    ctx.set_default_timeout(15_000)
    block_outside(ctx, outside_requests)
    try:
        yield ctx
    finally:
        ctx.close()


def _page(ctx: Any) -> Any:
    p = ctx.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.js_errors = errors  # type: ignore[attr-defined]
    return p


@pytest.fixture
def page(context: Any) -> Any:
    return _page(context)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """A factory of pages, each in its own context (its own cookies: its own user)."""
    contexts: list[Any] = []

    def make(*, csp: bool = False) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=not csp)
        ctx.set_default_timeout(15_000)
        block_outside(ctx, [])
        contexts.append(ctx)
        return _page(ctx)

    yield make
    for ctx in contexts:
        try:
            ctx.close()
        except Exception:  # noqa: BLE001 -- closed by the test already
            pass


# A desktop and the 800x1280 touch tablet field teams use (issue 21).
VIEWPORTS = {"desktop": {"viewport": {"width": 1280, "height": 720}},
             "tablet": {"viewport": {"width": 800, "height": 1280}, "has_touch": True,
                        "is_mobile": True}}


@pytest.fixture(params=list(VIEWPORTS))
def device(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    """A page factory on each device, every page in its own context (its own user).
    `page.touch` says whether it is the tablet; `page.errors` collects the page's script
    errors and 5xx answers (a 404 is an answer, e.g. "no basemap file configured");
    `page.console_errors` what the console reports as errors (a CSP refusal among
    them). `make(csp=False)` lifts the pages' Content-Security-Policy, to inject a
    script (axe-core)."""
    contexts: list[Any] = []

    def make(*, csp: bool = True) -> Any:
        ctx = browser.new_context(bypass_csp=not csp, **VIEWPORTS[request.param])
        ctx.set_default_timeout(15_000)
        block_outside(ctx, [])
        contexts.append(ctx)
        page = ctx.new_page()
        page.touch = request.param == "tablet"
        page.errors = []
        page.console_errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("response", lambda r: page.errors.append(f"{r.status} {r.url}")
                if r.status >= 500 else None)
        page.on("console", lambda m: page.console_errors.append(m.text)
                if m.type == "error" else None)
        return page

    yield make
    for ctx in contexts:
        ctx.close()

