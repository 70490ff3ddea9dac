# SPDX-License-Identifier: GPL-3.0-or-later
"""How `mineaction serve` listens: every waiting connection accepted at once, and with
several workers one listening socket per worker.

uvloop (libuv) accepts one new connection per turn of its event loop, and a turn runs
every request then ready. On a busy server each turn lasts as long as all the work in
hand, so a client that connects while 50 others are being served waits one turn per
client ahead of it: with 50 clients on an app that takes 4 ms a request, the 50th
connection got its first answer 5.5 s after the first, and p99 was 4.3 s at a median of
0.21 s (issue 3's benchmark showed the same tail). Python's own loop accepts
up to `backlog` connections a turn, but halves the throughput. `FairAcceptLoop` keeps
uvloop and does the accepting itself: a reader on the listening socket takes every
connection waiting and hands each to uvloop (`connect_accepted_socket`).

Taking every waiting connection at once has its own cost when workers share one
listening socket: the first worker to wake takes them all and the other idles. Spreading
them by the kernel's address hash (SO_REUSEPORT, each worker on its own socket) split
50 clients anywhere from 26/24 to 17/33, and the clients of the larger share waited
longer in proportion. So with several workers `serve` has them share one socket and count
their connections in a shared file (api/connection_shares.py): a worker takes a waiting
connection only while it holds fewer than its even share of those held and waiting, and
any takes it once it has waited HANDOVER_S (the worker due to take it stopped, or busy
that long). A worker that finds itself holding more than its share all the same (its
count of the others ran ahead of theirs) closes a connection after its answer
(`CloseOverShare`), and the client's next connection goes to one holding fewer.

uvloop and httptools are used when installed; pyproject.toml leaves uvloop out on Windows.
Without them `serve` runs on asyncio's own loop (which accepts fairly already) and
uvicorn's h11 parser: slower, but complete. Its workers then share one listening socket,
as uvicorn's own do.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mineaction.api import connection_shares
from mineaction.http import heap

try:
    import uvloop
except ImportError:  # not installed (Windows): asyncio's own loop, see `loop_and_http`
    uvloop = None  # type: ignore[assignment]

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from mineaction.services.settings import Settings

# Accepts per turn of the loop, at most: enough for any burst of clients, small enough
# that a flood of connections cannot hold the loop for long.
MAX_ACCEPTS_PER_TURN = 512
# How long to stop accepting after accept() fails for want of resources.
ACCEPT_RETRY_S = 1.0
# A waiting connection another worker should take (it holds fewer): how often to look
# again whether it is still waiting, and how long it may wait before any worker takes it.
# Longer than a busy worker's round of its clients (50-70 ms in issue 20's bench), short
# enough that a client of a stopped worker hardly notices.
RECHECK_S = 0.005
HANDOVER_S = 0.25
# On SIGTERM, how long requests in hand get to finish before their connections are
# closed; then the app shuts down, cancelling import jobs (services/imports.py waits for
# them 4 s at most). uvicorn's default is to wait for ever: an import kept the server up
# (issue 15). Together they stay well within the 10 s a service manager usually allows.
GRACEFUL_SHUTDOWN_S = 4
log = logging.getLogger("mineaction.serve")


def _bound(family: int, kind: int, proto: int, address: Any) -> socket.socket:
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    return sock


def _address(host: str | None, port: int | None) -> tuple[int, int, int, Any]:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    return family, kind, proto, address


def _listening_socket(host: str | None, port: int | None, sock: socket.socket | None,
                      backlog: int) -> socket.socket:
    if sock is None:
        sock = _bound(*_address(host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


class _Listener:
    """The part of asyncio.Server that uvicorn uses: sockets, close, wait_closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 shares: connection_shares.ConnectionShares | None = None) -> None:
        self._loop = loop
        self.sockets = [sock]
        self._shares = shares
        self._open = True

    def close(self) -> None:
        if self._open:
            self._open = False
            self._loop.remove_reader(self.sockets[0].fileno())
            self.sockets[0].close()
            if self._shares is not None:  # take no more: leave new ones to the others
                self._shares.leave()

    def is_serving(self) -> bool:
        return self._open

    async def wait_closed(self) -> None:
        return None


if uvloop is not None:
    class FairAcceptLoop(uvloop.Loop):
        """uvloop, accepting every waiting connection each turn (the module says why).
        uvicorn takes it as its loop factory: `--loop mineaction.api.serving:FairAcceptLoop`."""

        # Whether the answer now being sent should close its connection
        # (`_close_after_answer`), set when the server shares connections with other
        # workers; None otherwise, and `CloseOverShare` then passes every answer as it is.
        close_after_answer: Callable[[], bool] | None = None

        # The signature is asyncio's, which uvloop's stubs split into overloads.
        async def create_server(  # type: ignore[override]
                self, protocol_factory: Callable[[], asyncio.BaseProtocol],
                host: str | None = None, port: int | None = None, *,
                sock: socket.socket | None = None, backlog: int = 100, ssl: Any = None,
                **kw: Any) -> Any:
            # What the worker built before serving (modules, the app, its routes and
            # models) leaves the collector's full passes (http/heap.py says why): uvicorn
            # calls create_server once the app is loaded and started, and no visitor is
            # served yet, so a full pass first costs nobody.
            heap.freeze_long_lived(collect_first=True)
            if ssl is not None or kw.get("reuse_port") or (
                    sock is not None and sock.family not in (socket.AF_INET, socket.AF_INET6)):
                # TLS and Unix sockets: uvloop's own server (TLS belongs to a reverse proxy).
                parent: Any = super()  # its stubs type sock= by overload
                return await parent.create_server(protocol_factory, host, port, sock=sock,
                                                  backlog=backlog, ssl=ssl, **kw)
            listening = _listening_socket(host, port, sock, backlog)
            shares = connection_shares.from_environment()
            listener = _Listener(self, listening, shares)
            fd = listening.fileno()
            if shares is not None:
                protocol_factory = shares.counting(protocol_factory)
                self.close_after_answer = functools.partial(_close_after_answer, shares,
                                                            listening)
            # since when this worker has left waiting connections to others (None: it
            # has not, or the queue has been empty since)
            deferring: float | None = None

            def resume() -> None:
                nonlocal deferring
                if listener.is_serving():
                    if shares is not None and connection_shares.waiting(listening) == 0:
                        deferring = None  # another worker took them meanwhile
                    self.add_reader(fd, accept_waiting)

            def defer() -> bool:
                """Whether to leave the waiting connections to workers holding fewer:
                yes, looking again in RECHECK_S, until they have waited HANDOVER_S."""
                nonlocal deferring
                assert shares is not None
                queued = connection_shares.waiting(listening)
                if queued == 0 or shares.may_take(1 if queued is None else queued):
                    deferring = None  # none waiting (accept() will say so), or ours
                    return False
                now = self.time()
                if deferring is None:
                    deferring = now
                elif now - deferring >= HANDOVER_S:
                    deferring = None  # the others have not come for them: take them
                    return False
                # The socket stays readable meanwhile: watching it would wake an idle
                # worker every turn, so look again later instead. (On a busy worker the
                # look comes after its round, HANDOVER_S counting all the same.)
                self.remove_reader(fd)
                self.call_later(RECHECK_S, resume)
                return True

            def accept_waiting() -> None:
                for _ in range(MAX_ACCEPTS_PER_TURN):
                    if shares is not None and defer():
                        return
                    try:
                        conn, _ = listening.accept()
                    except (BlockingIOError, InterruptedError):
                        return
                    except ConnectionAbortedError:  # that client gave up: the next one
                        continue
                    except OSError as exc:
                        # Out of file descriptors or memory: the connection stays queued and
                        # the socket stays readable, so retrying every turn would spin. Pause,
                        # as asyncio's own loop does.
                        log.warning("accept failed (%s); pausing %.0f s", exc, ACCEPT_RETRY_S)
                        self.remove_reader(fd)
                        self.call_later(ACCEPT_RETRY_S, resume)
                        return
                    if shares is not None:
                        shares.opened()  # now, so that the next look sees it
                    self.create_task(self._serve_accepted(protocol_factory, conn, shares))

            self.add_reader(fd, accept_waiting)
            return listener

        async def _serve_accepted(self, protocol_factory: Callable[[], asyncio.BaseProtocol],
                                  conn: socket.socket,
                                  shares: connection_shares.ConnectionShares | None) -> None:
            try:
                conn.setblocking(False)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                await self.connect_accepted_socket(protocol_factory, conn)
            except OSError:  # the client hung up before we got to it
                conn.close()
                if shares is not None:  # no protocol was made to count it closed
                    shares.closed()


LOOP = "mineaction.api.serving:FairAcceptLoop"


def _close_after_answer(shares: connection_shares.ConnectionShares,
                        listening: socket.socket) -> bool:
    """Whether the answer now being sent should close its connection: this worker holds
    more than its even share of the connections held and waiting (the module says how
    that comes about). Counted closed at once if so, so that the next answer's look sees
    it."""
    # the waiting connections only raise the share: no need to ask the kernel how many
    # there are when the connections held already leave this one within
    if not shares.over_share(0) or not shares.over_share(
            connection_shares.waiting(listening) or 0):
        return False
    shares.shed()
    return True


class CloseOverShare:
    """ASGI middleware: an answer of a worker holding more than its even share of the
    connections (`_close_after_answer`) says `Connection: close`, and the
    server closes the connection after it (HTTP/1.1 lets either side close a keep-alive
    connection between requests; clients open a new one for their next request, and a
    worker holding fewer takes it). Every other answer, and every answer on a loop that
    shares nothing (one worker, asyncio's loop), passes unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        close_after = getattr(asyncio.get_running_loop(), "close_after_answer", None)
        if scope["type"] != "http" or close_after is None:
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and close_after():
                message = {**message, "headers": [*message.get("headers", ()),
                                                  (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)


def _installed(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def loop_and_http() -> tuple[str, str]:
    """uvicorn's `loop` and `http` settings: this module's loop on uvloop and the httptools
    parser where they are installed, else asyncio's loop and the h11 parser."""
    loop = LOOP if _installed("uvloop") else "asyncio"
    http = "httptools" if _installed("httptools") else "h11"
    return loop, http


def server_config(settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration `run` serves: the app factory (the store comes from the
    environment) on `loop_and_http`."""
    import uvicorn

    loop, http = loop_and_http()
    config = uvicorn.Config("mineaction.app:create_app", factory=True,
                            host=settings.host, port=settings.port, workers=settings.workers,
                            log_level="info", loop=loop, http=http,
                            access_log=settings.access_log, backlog=settings.backlog,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)
    if (loop, http) != (LOOP, "httptools"):  # uvicorn has set up its logging by now
        logging.getLogger("uvicorn.error").info(
            "uvloop or httptools not installed: serving with loop=%s, http=%s", loop, http)
    return config


def shared_socket(config: uvicorn.Config) -> socket.socket:
    """The socket the workers of `config` all listen on."""
    sock = _bound(*_address(config.host, config.port))
    sock.set_inheritable(True)
    return sock


def run(settings: Settings) -> None:
    """uvicorn over the app factory, with its C HTTP parser (httptools) and this module's
    loop when installed: about a third less time a request than the pure-Python ones.
    Several workers on this module's loop share their connections evenly
    (api/connection_shares.py). Raises OSError when the address cannot be bound."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = server_config(settings)
    if settings.workers <= 1:
        uvicorn.Server(config).run()
        return
    sock = shared_socket(config)
    if config.loop != LOOP:
        Multiprocess(config, sockets=[sock]).run()
        return
    shares = connection_shares.create()
    # the workers are fresh processes that read it from their environment
    os.environ[connection_shares.ENV] = shares
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        os.environ.pop(connection_shares.ENV, None)
        connection_shares.remove(shares)
