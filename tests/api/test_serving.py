"""The serve command's event loop: every waiting connection accepted in one turn, and
workers sharing their connections evenly (api/serving.py and api/connection_shares.py
say why)."""

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

from mineaction.api import connection_shares, serving
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


class _Hold(asyncio.Protocol):
    """Keeps every connection open, noting which worker holds it; forgets it when lost."""

    held: dict[str, set[int]] = {}

    def __init__(self, name: str) -> None:
        self.name = name

    def connection_made(self, transport: Any) -> None:
        self.port = transport.get_extra_info("peername")[1]
        self.held.setdefault(self.name, set()).add(self.port)

    def connection_lost(self, exc: Exception | None) -> None:
        self.held[self.name].discard(self.port)


class _Workers:
    """Two fair loops in threads, each a worker listening on its own copy of one shared
    socket, with the shares file the serve command makes for its workers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = connection_shares.create()
        monkeypatch.setenv(connection_shares.ENV, self.path)
        self.shared = serving.shared_socket(
            serving.server_config(Settings(workers=2, host="127.0.0.1", port=_free_port())))
        self.port = self.shared.getsockname()[1]
        self.loops = {"a": serving.FairAcceptLoop(), "b": serving.FairAcceptLoop()}
        self.servers: dict[str, Any] = {}
        started = threading.Barrier(3)
        _Hold.held = {"a": set(), "b": set()}

        def worker(name: str) -> None:
            loop = self.loops[name]
            asyncio.set_event_loop(loop)
            self.servers[name] = loop.run_until_complete(loop.create_server(
                lambda: _Hold(name), sock=self.shared.dup(), backlog=256))
            started.wait(timeout=10)
            loop.run_forever()

        self.threads = [threading.Thread(target=worker, args=(n,), daemon=True)
                        for n in self.loops]
        for t in self.threads:
            t.start()
        started.wait(timeout=10)

    def held(self) -> dict[str, int]:
        return {name: len(ports) for name, ports in _Hold.held.items()}

    def wait_for(self, total: int, timeout: float = 5) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while sum(self.held().values()) != total and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.held()

    def close(self) -> None:
        for name, loop in self.loops.items():
            if name in self.servers:
                loop.call_soon_threadsafe(self.servers[name].close)
            loop.call_soon_threadsafe(loop.stop)
        for t in self.threads:
            t.join(timeout=10)
        for loop in self.loops.values():
            loop.close()
        self.shared.close()
        connection_shares.remove(self.path)


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Any:
    w = _Workers(monkeypatch)
    yield w
    w.close()


def _connect(port: int, n: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]


@needs_uvloop
def test_workers_share_a_burst_of_connections_evenly(workers: _Workers) -> None:
    """50 clients connecting at once, as wrk's do: 25 each. The kernel's address hash
    (SO_REUSEPORT) split them anywhere up to 17/33; one shared socket with no shares,
    the first worker to wake takes all 50."""
    clients = _connect(workers.port, 50)
    try:
        assert workers.wait_for(50) == {"a": 25, "b": 25}
    finally:
        for c in clients:
            c.close()
    assert workers.wait_for(0) == {"a": 0, "b": 0}  # counted closed too


@needs_uvloop
def test_new_connections_go_to_the_worker_holding_fewer(workers: _Workers) -> None:
    clients = _connect(workers.port, 40)
    try:
        assert workers.wait_for(40) == {"a": 20, "b": 20}
        # clients of a go away: the next ones are all a's
        a_ports = set(_Hold.held["a"])
        gone = [c for c in clients if c.getsockname()[1] in a_ports][:8]
        for c in gone:
            c.close()
            clients.remove(c)
        assert workers.wait_for(32) == {"a": 12, "b": 20}
        for _ in range(8):  # one at a time, as clients come and go
            clients += _connect(workers.port, 1)
            workers.wait_for(len(clients))
        assert workers.held() == {"a": 20, "b": 20}
        counts = sorted(c for c in connection_shares.ConnectionShares(workers.path).counts()
                        if c >= 0)
        assert counts == [0, 20, 20]  # the two workers' slots, and the one just claimed
    finally:
        for c in clients:
            c.close()


@needs_uvloop
@pytest.mark.parametrize("a_busy", [False, True], ids=["other idle", "other busy"])
def test_a_stopped_worker_does_not_keep_new_clients_waiting(workers: _Workers,
                                                            a_busy: bool) -> None:
    """The worker due to take a connection (it holds fewer) is stuck for 3 s: the other
    takes the connection after HANDOVER_S instead, idle or itself busy in rounds of
    80 ms (its look again then comes only after each round)."""
    clients = _connect(workers.port, 4)
    busy = threading.Event()
    try:
        assert workers.wait_for(4) == {"a": 2, "b": 2}
        b_port = next(iter(_Hold.held["b"]))
        next(c for c in clients if c.getsockname()[1] == b_port).close()
        assert workers.wait_for(3) == {"a": 2, "b": 1}
        if a_busy:
            busy.set()
            a = workers.loops["a"]

            def round_of_work() -> None:
                if busy.is_set():
                    time.sleep(0.08)
                    a.call_later(0.001, round_of_work)

            a.call_soon_threadsafe(round_of_work)
        workers.loops["b"].call_soon_threadsafe(time.sleep, 3.0)
        time.sleep(0.05)  # b is asleep now
        start = time.monotonic()
        clients += _connect(workers.port, 1)
        assert workers.wait_for(4, timeout=2.5) == {"a": 3, "b": 1}
        assert time.monotonic() - start < serving.HANDOVER_S + 0.5
    finally:
        busy.clear()
        for c in clients:
            c.close()


def test_a_slot_whose_worker_died_is_freed() -> None:
    """A worker killed while holding no connection must not have the others leave new
    ones to it for ever: its slot's lock is gone with it, and the slot is freed."""
    path = connection_shares.create()
    try:
        code = ("import sys\n"
                "from mineaction.api.connection_shares import ConnectionShares\n"
                "s = ConnectionShares(sys.argv[1]); print(s.slot, flush=True)\n")
        mine = connection_shares.ConnectionShares(path)
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True,
                             text=True, check=True, timeout=60)
        dead = int(out.stdout)
        assert dead != mine.slot and mine.counts()[dead] == 0  # its count, left behind
        for _ in range(5):
            mine.opened()
        assert mine.may_take(1)  # 5 held, against a worker gone: take it
        assert mine.counts()[dead] == -1
        # a live worker with none: leave it to that one
        other = connection_shares.ConnectionShares(path)
        assert not mine.may_take(1) and other.may_take(1)
        other.leave()
        assert mine.may_take(1)
    finally:
        connection_shares.remove(path)


def test_a_worker_over_its_share_sheds_down_to_it_and_counts_each_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker holding more than its even share of the connections held and waiting is
    over its share until its sheds bring it there. A shed connection is counted closed
    at once, and not again when it is lost; until its client comes back (its next
    request) it still counts in the total the share is measured against, for RETURN_S."""
    clock = [1000.0]
    monkeypatch.setattr(connection_shares, "_now", lambda: clock[0])
    path = connection_shares.create()
    try:
        a, b = connection_shares.ConnectionShares(path), connection_shares.ConnectionShares(path)
        for _ in range(30):
            a.opened()
        for _ in range(20):
            b.opened()
        assert a.over_share(0) and not b.over_share(0)
        sheds = 0
        while a.over_share(0):  # 45 held once five are shed: still a share of 50's
            a.shed()
            sheds += 1
        assert sheds == 5 and a.counts()[a.slot] == 25
        for _ in range(5):  # the five shed connections are lost: already counted
            a.closed()
        assert a.counts()[a.slot] == 25
        a.closed()  # one more goes: counted now
        assert a.counts()[a.slot] == 24
        # an odd number holds one more on one side: within, so no back and forth
        b.opened()
        assert (a.counts()[a.slot], b.counts()[b.slot]) == (24, 21)
        assert not a.over_share(0) and not b.over_share(0)
        # the five never came back: RETURN_S later, the share is
        # 23 of the 45 held, and a is over it
        clock[0] += connection_shares.RETURN_S + 0.1
        assert a.over_share(0)
        # connections waiting to be taken raise the share: 24 of 45 + 4 is within
        assert not a.over_share(4)
        a.leave()
        a.shed()  # a stopping worker counts nothing
        assert not a.over_share(0) and a.counts()[a.slot] == -1
    finally:
        connection_shares.remove(path)


class _Answering:
    """The least of an ASGI app: one answer, no headers of its own."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _headers_sent(loop: asyncio.AbstractEventLoop) -> list[Any]:
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    loop.run_until_complete(serving.CloseOverShare(_Answering())(scope, receive, send))
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
    return list(sent[0]["headers"])


@pytest.mark.parametrize("over", [True, False, None], ids=["over", "within", "no shares"])
def test_an_answer_says_close_only_when_its_worker_is_over_its_share(over: bool | None
                                                                     ) -> None:
    class Loop(asyncio.SelectorEventLoop):
        def close_after_answer(self) -> bool:
            return bool(over)

    loop = Loop() if over is not None else asyncio.new_event_loop()  # asyncio's own: none
    try:
        expected = [(b"connection", b"close")] if over else []
        assert _headers_sent(loop) == expected
    finally:
        loop.close()


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
    with serving.shared_socket(config) as sock:  # one socket the workers all listen on
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        assert sock.get_inheritable()


def test_serve_gives_its_workers_a_shares_file_and_removes_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("uvloop")
    from uvicorn.supervisors import Multiprocess

    seen: dict[str, Any] = {}

    def run(self: Any) -> None:
        path = os.environ[connection_shares.ENV]
        seen.update(path=path, counts=connection_shares.ConnectionShares(path).counts())
        for sock in self.sockets:
            sock.close()

    monkeypatch.setattr(Multiprocess, "run", run)
    monkeypatch.delenv(connection_shares.ENV, raising=False)
    serving.run(Settings(workers=2, port=_free_port()))
    assert seen["counts"].count(0) == 1  # the slot claimed above; every other one free
    assert not os.path.exists(seen["path"])  # removed when the server stopped
    assert connection_shares.ENV not in os.environ


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


@pytest.mark.slow
def test_serve_with_two_workers_spreads_keep_alive_clients_evenly(tmp_path: Path) -> None:
    """The whole command: 24 keep-alive clients, one after another, are held 12 by each
    worker process (by address hash, an even split came one time in six)."""
    pytest.importorskip("uvloop")
    from loadtest import server

    with server(str(tmp_path / "s.gpkg"), workers=2) as base:
        port, path = _both_workers_up(base)
        clients = [httpx.Client(base_url=base) for _ in range(24)]
        try:
            for c in clients:
                assert c.get("/api/v1/health").status_code == 200
            # On a loaded machine a worker may be slow to take its client for HANDOVER_S;
            # the other then takes it, and, over its share, closes it after its answer:
            # its client's next request reconnects to the first.
            for c in clients:
                assert c.get("/api/v1/health").status_code == 200
            assert _split(port) == [12, 12]
            for c in clients:  # and each keeps being answered on its connection
                answer = c.get("/api/v1/health")
                assert answer.status_code == 200 and "connection" not in answer.headers
        finally:
            for c in clients:
                c.close()


def _counts(path: str) -> list[int]:
    """The shares file's counts, read without claiming a slot."""
    import struct

    with open(path, "rb") as f:
        data = f.read()
    return list(struct.unpack(f"{len(data) // 8}q", data))


@pytest.mark.slow
def test_serve_rebalances_clients_a_stale_count_sent_to_one_worker(tmp_path: Path) -> None:
    """A worker counts its clients' connections closed only when its loop comes round to
    them: wrk's clients reconnecting as one run ends and the next begins found the other
    worker's old connections still counted, and split up to 38/12. Here the other
    worker's count is made to run 30 ahead: the 24 clients go to the first (a loaded
    machine may keep it from taking one for HANDOVER_S: the other then takes that one,
    and closes it after its answer, being over its share). Once the count is right
    again, the first closes the connections over its share after their answers
    (Connection: close), their clients reconnect to the other, and the split is 12/12,
    after which no answer says close."""
    pytest.importorskip("uvloop")
    import mmap

    from loadtest import server

    with server(str(tmp_path / "s.gpkg"), workers=2) as base:
        port, path = _both_workers_up(base)
        assert _counts(path)[:2] == [0, 0]
        clients = [httpx.Client(base_url=base) for _ in range(24)]
        try:
            with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as shared:
                counts = memoryview(shared).cast("q")
                try:
                    counts[1] = 30  # the second worker's count, 30 ahead of its none
                    for c in clients:
                        assert c.get("/api/v1/health").status_code == 200
                    first = counts[0]
                    assert first >= 20 and _split(port)[-1] == first
                    counts[1] = 0  # its loop has come round: the count is right again
                finally:
                    counts.release()
            closed = 0
            for _ in range(3):
                for c in clients:
                    answer = c.get("/api/v1/health")
                    assert answer.status_code == 200
                    closed += answer.headers.get("connection") == "close"
            assert closed == first - 12
            assert _split(port) == [12, 12]
            assert sorted(_counts(path)[:2]) == [12, 12]
            for c in clients:  # balanced: every answer keeps its connection
                answer = c.get("/api/v1/health")
                assert answer.status_code == 200 and "connection" not in answer.headers
            assert _split(port) == [12, 12]
        finally:
            for c in clients:
                c.close()


def _both_workers_up(base: str) -> tuple[int, str]:
    """The port of a `serve --workers 2` at `base` and its shares file, once both workers
    have claimed their slots: until then, the one serving alone takes every client, as it
    should."""
    import psutil

    port = int(base.rsplit(":", 1)[1])
    listening = {c.pid for c in psutil.net_connections(kind="tcp")
                 if c.laddr and c.laddr.port == port and c.status == "LISTEN" and c.pid}
    path = next(psutil.Process(pid).environ()[connection_shares.ENV]
                for pid in listening
                if connection_shares.ENV in psutil.Process(pid).environ())
    deadline = time.monotonic() + 30
    while sum(c >= 0 for c in _counts(path)) < 2:
        assert time.monotonic() < deadline, "the second worker did not start"
        time.sleep(0.1)
    return port, path


def _split(port: int) -> list[int]:
    """How many connections to `port` each process holds, fewest first."""
    import psutil

    by_worker: dict[int, int] = {}
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == "ESTABLISHED" \
                and conn.pid is not None:
            by_worker[conn.pid] = by_worker.get(conn.pid, 0) + 1
    return sorted(by_worker.values())
