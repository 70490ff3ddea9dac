"""The serve command's event loop: every waiting connection accepted in one turn, and
workers sharing a port through SO_REUSEPORT (api/serving.py says why)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mineaction.api import serving
from mineaction.api.serving import reuse_port_socket
from mineaction.services.settings import Settings

try:
    import uvloop
except ImportError:  # Windows: serve falls back to asyncio's loop (tested below)
    uvloop = None  # type: ignore[assignment]

needs_uvloop = pytest.mark.skipif(uvloop is None, reason="uvloop is not installed")


@pytest.fixture(autouse=True)
def _unfreeze() -> Any:
    """The server freezes its startup heap; this test process must not stay frozen."""
    yield
    gc.unfreeze()


class _Counting(asyncio.Protocol):
    made: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).made.append(time.monotonic())


def _connections_made_in_one_busy_turn(loop: asyncio.AbstractEventLoop, clients: int) -> int:
    """Connections a server on `loop` has taken after its first turn following a burst of
    `clients` connects that arrived while it was busy."""

    async def main() -> int:
        _Counting.made = []
        server = await loop.create_server(_Counting, "127.0.0.1", 0, backlog=clients * 2)
        port = server.sockets[0].getsockname()[1]
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(clients)]
        # The kernel has completed every handshake; the loop has accepted none yet.
        # One turn: the loop wakes for the listening socket, then a busy request holds it.
        loop.call_soon(time.sleep, 0.05)
        for _ in range(3):
            await asyncio.sleep(0)
        taken = len(_Counting.made)
        for s in socks:
            s.close()
        server.close()
        await server.wait_closed()
        return taken

    return loop.run_until_complete(main())


@needs_uvloop
def test_fair_loop_accepts_every_waiting_connection_in_one_turn() -> None:
    fair = serving.FairAcceptLoop()
    try:
        taken = _connections_made_in_one_busy_turn(fair, 40)
    finally:
        fair.close()
    assert taken == 40
    # And what the worker had built before serving is out of the collector's passes.
    assert gc.get_freeze_count() > 0
    # What it fixes: plain uvloop takes one connection a turn, so under load the
    # last of 40 clients waits 40 turns for its first answer.
    plain = uvloop.new_event_loop()
    try:
        assert _connections_made_in_one_busy_turn(plain, 40) < 40
    finally:
        plain.close()


class _Tell(asyncio.Protocol):
    """Answers every connection with its worker's name, then closes it."""

    def __init__(self, name: bytes) -> None:
        self.name = name

    def connection_made(self, transport: Any) -> None:
        transport.write(self.name)
        transport.close()


@needs_uvloop
def test_workers_listen_on_their_own_sockets_and_the_kernel_spreads_connections() -> None:
    shared = reuse_port_socket("127.0.0.1", 0)
    port = shared.getsockname()[1]
    loops = [serving.FairAcceptLoop(), serving.FairAcceptLoop()]
    servers: list[Any] = []
    started = threading.Barrier(3)

    def worker(loop: asyncio.AbstractEventLoop, name: bytes) -> None:
        asyncio.set_event_loop(loop)
        servers.append(loop.run_until_complete(
            loop.create_server(lambda: _Tell(name), sock=shared, backlog=128)))
        started.wait(timeout=10)
        loop.run_forever()

    threads = [threading.Thread(target=worker, args=(loop, name), daemon=True)
               for loop, name in zip(loops, (b"a", b"b"), strict=True)]
    for t in threads:
        t.start()
    try:
        started.wait(timeout=10)
        # Each worker listens on its own socket; the shared one stays unlistened.
        assert shared.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        assert {s.sockets[0].fileno() for s in servers}.isdisjoint({shared.fileno()})
        answers = []
        for _ in range(64):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
                answers.append(c.recv(1))
        assert set(answers) == {b"a", b"b"}  # both workers took connections
    finally:
        for loop, server in zip(loops, servers, strict=False):
            loop.call_soon_threadsafe(server.close)
            loop.call_soon_threadsafe(loop.stop)
        for t in threads:
            t.join(timeout=10)
        for loop in loops:
            loop.close()
        shared.close()


@needs_uvloop
def test_accept_failing_for_want_of_resources_pauses_instead_of_spinning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Out of file descriptors, the connection stays queued and the socket readable:
    retrying every turn would spin a core. The loop pauses, then takes the connection."""
    import errno

    from mineaction.api import serving

    monkeypatch.setattr(serving, "ACCEPT_RETRY_S", 0.2)
    real_accept = socket.socket.accept
    calls: list[float] = []

    def accept(self: socket.socket) -> Any:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise OSError(errno.EMFILE, "Too many open files")
        return real_accept(self)

    monkeypatch.setattr(socket.socket, "accept", accept)
    loop = serving.FairAcceptLoop()

    async def main() -> float:
        _Counting.made = []
        server = await loop.create_server(_Counting, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        start = time.monotonic()
        client = socket.create_connection(("127.0.0.1", port))
        try:
            while not _Counting.made and time.monotonic() - start < 5:
                await asyncio.sleep(0.01)
        finally:
            client.close()
            server.close()
        return _Counting.made[0] - start

    try:
        waited = loop.run_until_complete(main())
    finally:
        loop.close()
    assert 0.15 < waited < 2  # taken after the pause, not lost
    assert len(calls) <= 3  # no spinning on the readable socket meanwhile


# -- without uvloop and httptools (Windows: pyproject.toml leaves uvloop out there) ----------

_FAST = ("mineaction.api.serving:FairAcceptLoop", "httptools")


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make `import module` fail as it does where the module is not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_with_uvloop_and_httptools_installed_serve_takes_the_fast_path() -> None:
    pytest.importorskip("uvloop")
    pytest.importorskip("httptools")
    assert serving.loop_and_http() == _FAST
    config = serving.server_config(Settings(workers=2, port=_free_port()))
    assert (config.loop, config.http) == _FAST
    with serving.shared_socket(config) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1


def test_the_module_imports_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "uvloop", "httptools")
    spec = importlib.util.spec_from_file_location("_serving_without_uvloop", serving.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert not hasattr(module, "FairAcceptLoop")
    assert module.loop_and_http() == ("asyncio", "h11")


def test_without_uvloop_and_httptools_serve_uses_asyncio_and_h11(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    _without(monkeypatch, "uvloop", "httptools")
    assert serving.loop_and_http() == ("asyncio", "h11")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn.Server, "run",
                        lambda self: seen.update(config=self.config, sockets=None))
    monkeypatch.setattr(Multiprocess, "run",
                        lambda self: seen.update(config=self.config, sockets=self.sockets))

    serving.run(Settings(port=_free_port()))
    config = seen["config"]
    assert (config.loop, config.http) == ("asyncio", "h11")
    loop = config.get_loop_factory()()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()

    serving.run(Settings(workers=2, port=_free_port()))
    config, [sock] = seen["config"], seen["sockets"]
    assert (config.loop, config.http) == ("asyncio", "h11")
    # One socket the workers share, as uvicorn's own: no SO_REUSEPORT group, for which
    # each worker would need the fair loop to bind its own.
    with sock:
        if hasattr(socket, "SO_REUSEPORT"):  # Windows has none
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        assert sock.get_inheritable()


def test_without_httptools_alone_serve_keeps_the_fair_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    _without(monkeypatch, "httptools")
    assert serving.loop_and_http() == (_FAST[0], "h11")


def test_serve_answers_without_uvloop_and_httptools(tmp_path: Path) -> None:
    """The whole command, in a process where neither can be imported."""
    port = _free_port()
    store = tmp_path / "s.gpkg"
    code = ("import sys\n"
            "sys.modules['uvloop'] = sys.modules['httptools'] = None\n"
            "from mineaction.cli import main\n"
            f"sys.argv = ['mineaction', 'serve', '--store', {str(store)!r}, "
            f"'--port', '{port}', '--no-access-log']\n"
            "main()\n")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MINEACTION_STORE", None)
    server = subprocess.Popen([sys.executable, "-c", code], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[0]
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        assert r.status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "loop=asyncio, http=h11" in output
    assert "Traceback" not in output
