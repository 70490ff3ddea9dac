# SPDX-License-Identifier: GPL-3.0-or-later
"""Fast paths for the hottest reads: a list page and GET by id, asked plainly.

FastAPI solves a route's parameters and dependencies afresh on every request: it
inspects each parameter's annotation, validates it with pydantic and walks the
dependency tree (services, bearer token, cookie, principal). For a list page that was
about 14% of the server's CPU a request (issue 3's benchmark, a million accidents), more
than turning the rows into GeoJSON. Reaching the route costs too: the exception
middleware, FastAPI's exit stack, and matching the path against the routers took
0.12-0.18 ms of a list page's 1.3-1.5 ms (measured in one process, alternating).

`FastLane` is the innermost middleware of the app: it hands a GET of a collection, or of
one record in it, to the collection's fast handler (`FastHandlers`), and a POST of a
small JSON body to a path's own handler (the site check's, issue 20). The handler reads
the few parameters a plain request carries (a bbox, a limit, a format) and answers
through the same code as the route itself; for anything else (an unknown or repeated
parameter, a value it would have to judge rather than merely read) it returns None and
the request goes on to FastAPI's routing, validation errors and all. An error it raises
gets the answer FastAPI's exception handlers give it (http/errors.py). So a request gets
the same answer either way, only sooner; the OpenAPI still comes from the routes.

Inside the middleware stack, not in front of it (issue 14): every middleware the app
has or is given later (body limits, CORS, compression, security headers, metrics, rate
limits) sees these requests too; tests/api/test_fast_paths.py adds one and checks that
every endpoint passes through it. That costs the few µs of Starlette's server-error
middleware a request, which the lane once skipped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote_plus

from fastapi import Request, Response
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction.access.roles import Principal
from mineaction.http import errors
from mineaction.http.deps import bearer_scheme, cookie_scheme, principal

FastHandler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastHandlers:
    """The fast handlers of one collection: its list, and GET by id (which reads the id
    from `request.path_params["record_id"]`, as the route's path names it)."""

    path: str  # the collection's full path, e.g. /api/v1/accidents
    list: FastHandler
    get: FastHandler


class FastLane:
    """ASGI middleware answering plain GETs of collections and records by their fast
    handlers (the module says why); any request they decline goes on to `app`."""

    def __init__(self, app: ASGIApp, collections: list[FastHandlers],
                 exact: dict[str, FastHandler] | None = None,
                 prefixed: dict[str, FastHandler] | None = None,
                 posted: dict[str, FastHandler] | None = None) -> None:
        self.app = app
        self.collections = {c.path: c for c in collections}
        # other hot GETs by their full path (the site check's point, issue 20)
        self.exact = dict(exact or {})
        # and by the start of their path (the web map's tiles, issue 21: web/fast_paths.py)
        self.prefixed = tuple((prefix, handler) for prefix, handler in (prefixed or {}).items())
        # POSTs by their full path (the site check of any site, issue 20): the handler
        # reads the body the lane has read; if it declines, FastAPI is given the body again.
        self.posted = dict(posted or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and self.posted:
            handler = self.posted.get(get_route_path(scope))
            if handler is not None:
                await self._post(handler, scope, receive, send)
                return
        if not await self.answer(scope, receive, send):
            await self.app(scope, receive, send)

    async def _post(self, handler: FastHandler, scope: Scope, receive: Receive,
                    send: Send) -> None:
        """A POST to `handler`, or to the app with the same body when it declines."""
        try:
            body = await _whole_body(receive)
        except Exception as exc:  # the body limit's 413 (outside the lane), as for routes
            await errors.to_response(exc)(scope, receive, send)
            return
        if body is None:
            return  # the client left before sending its body: no one to answer
        again = _replaying(body, receive)
        try:
            response = await handler(Request(scope, again, send))
        except Exception as exc:
            response = errors.to_response(exc)
        if response is None:
            await self.app(scope, _replaying(body, receive), send)
        else:
            await response(scope, again, send)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Whether the lane answered a GET (else the app must)."""
        if scope["type"] != "http" or scope["method"] != "GET" or _has_body(scope):
            return False
        found = self._route(scope)
        if found is None:
            return False
        handler, lane_scope = found
        try:
            response = await handler(Request(lane_scope, receive, send))
        except Exception as exc:  # as FastAPI's handlers answer it (errors.HANDLED), or
            response = errors.to_response(exc)  # logged and answered 500, as Starlette's
        if response is None:
            return False
        await response(scope, receive, send)
        return True

    def _route(self, scope: Scope) -> tuple[FastHandler, Scope] | None:
        path = get_route_path(scope)
        handler = self.exact.get(path)
        if handler is not None:
            return handler, scope
        for prefix, by_prefix in self.prefixed:
            if path.startswith(prefix):
                return by_prefix, scope
        listed = self.collections.get(path)
        if listed is not None:
            return listed.list, scope
        parent, _, record_id = path.rpartition("/")
        one = self.collections.get(parent)
        if one is None or not record_id:
            return None
        # A copy: the request FastAPI builds when the handler declines must not see it.
        return one.get, {**scope, "path_params": {"record_id": record_id}}


async def _whole_body(receive: Receive) -> bytes | None:
    """The request's body, read to its end; None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` whole, then whatever the connection sends next (its
    disconnect), for whoever reads the request after the lane."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _has_body(scope: Scope) -> bool:
    """Whether the request says it carries a body: left to FastAPI (and the body limit)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def plain_query(request: Request, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query parameters when each one is in `allowed` and given once, else None.

    Read as Starlette's QueryParams reads them (latin-1, then `unquote_plus`, blank
    values kept), without building one: that took 27 µs a list page (issue 3)."""
    raw = request.scope["query_string"]
    params: dict[str, str] = {}
    if not raw:
        return params
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        if name in params or name not in allowed:
            return None
        params[name] = value
    return params


def bounded_int(text: str | None, default: int, low: int, high: int) -> int | None:
    """`text` as a plain decimal integer within low..high (`default` when absent), or
    None for anything FastAPI should judge (signs, spaces, out of range)."""
    if text is None:
        return default
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        return None
    value = int(text)
    return value if low <= value <= high else None


def within(text: str | None, max_length: int) -> bool:
    """Whether an optional text parameter passes its max_length, as Query checks it."""
    return text is None or len(text) <= max_length


async def who_is_asking(request: Request) -> Principal:
    """The `principal` dependency, called directly: the same schemes, the same
    lookups and the same 401 for a bad credential."""
    services = request.app.state.services
    return await principal(services, await bearer_scheme(request),
                           await cookie_scheme(request))
