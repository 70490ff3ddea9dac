# SPDX-License-Identifier: GPL-3.0-or-later
"""Fast paths for the hottest reads: a list page and GET by id, asked plainly.

FastAPI solves a route's parameters and dependencies afresh on every request: it
inspects each parameter's annotation, validates it with pydantic and walks the
dependency tree (services, bearer token, cookie, principal). For a list page that was
about 14% of the server's CPU a request (issue 3's benchmark, a million accidents), more
than turning the rows into GeoJSON. Reaching the route costs too: the exception
middleware, FastAPI's exit stack, and matching the path against the routers took
0.12-0.18 ms of a list page's 1.3-1.5 ms (measured in one process, alternating).

`FastLane`, a middleware just outside FastAPI's exception handling, hands a GET of a
collection, or of one record in it, to the collection's fast handler (`FastHandlers`).
The handler reads the few parameters a plain request carries (a bbox, a limit, a format)
and answers through the same code as the route itself; for anything else (an unknown or
repeated parameter, a value it would have to judge rather than merely read) it returns
None and the request goes on to FastAPI, validation errors and all. An error it raises
gets the answer FastAPI's exception handlers give it (api/errors.py). So a request gets
the same answer either way, only sooner; the OpenAPI still comes from the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from starlette._utils import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from mineaction.api import errors
from mineaction.api.deps import bearer_scheme, cookie_scheme, principal
from mineaction.auth.roles import Principal

FastHandler = Callable[[Request], Awaitable[Response | None]]


@dataclass(frozen=True)
class FastHandlers:
    """The fast handlers of one collection: its list, and GET by id (which reads the id
    from `request.path_params["record_id"]`, as the route's path names it)."""

    path: str  # the collection's full path, e.g. /api/v1/accidents
    list: FastHandler
    get: FastHandler


class FastLane:
    """Answers plain GETs of collections and records by their fast handlers (the module
    says why), before FastAPI's routing; any request they decline goes on unchanged.

    Put it inside every other middleware (add it first), so that only FastAPI's own
    layers are skipped, and they do nothing for these requests that the handlers do
    not: the path matched as the routes match it, errors answered by the same handler."""

    def __init__(self, app: ASGIApp, collections: list[FastHandlers]) -> None:
        self.app = app
        self.collections = {c.path: c for c in collections}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not _has_body(scope):
            found = self._route(scope)
            if found is not None:
                handler, lane_scope = found
                try:
                    response = await handler(Request(lane_scope, receive, send))
                except errors.HANDLED as exc:
                    response = errors.to_response(exc)
                if response is not None:
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> tuple[FastHandler, Scope] | None:
        path = get_route_path(scope)
        listed = self.collections.get(path)
        if listed is not None:
            return listed.list, scope
        parent, _, record_id = path.rpartition("/")
        one = self.collections.get(parent)
        if one is None or not record_id:
            return None
        # A copy: the request FastAPI builds when the handler declines must not see it.
        return one.get, {**scope, "path_params": {"record_id": record_id}}


def _has_body(scope: Scope) -> bool:
    """Whether the request says it carries a body: left to FastAPI (and the body limit)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def plain_query(request: Request, allowed: frozenset[str]) -> dict[str, str] | None:
    """The query parameters when each one is in `allowed` and given once, else None."""
    items = request.query_params.multi_items()
    params = dict(items)
    if len(params) != len(items) or not params.keys() <= allowed:
        return None
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
