# SPDX-License-Identifier: GPL-3.0-or-later
"""Fast paths for the hottest reads: a list page and GET by id, asked plainly.

FastAPI solves a route's parameters and dependencies afresh on every request: it
inspects each parameter's annotation, validates it with pydantic and walks the
dependency tree (services, bearer token, cookie, principal). For a list page that was
about 14% of the server's CPU a request (issue 3's benchmark, a million accidents), more
than turning the rows into GeoJSON.

A route marked with `@fast_path(handler)` tries `handler(request)` first. The handler
reads the few parameters a plain request carries (a bbox, a limit, a format) and answers
through the same code as the route itself; for anything else (an unknown or repeated
parameter, a value it would have to judge rather than merely read) it returns None and
FastAPI's own handling runs, validation errors and all. So a request gets the same
answer either way, only sooner; the OpenAPI still comes from the route's signature.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

from mineaction.api.deps import bearer_scheme, cookie_scheme, principal
from mineaction.auth.roles import Principal

FastHandler = Callable[[Request], Awaitable[Response | None]]
E = TypeVar("E", bound=Callable[..., Any])


def fast_path(handler: FastHandler) -> Callable[[E], E]:
    """Mark an endpoint: `handler` answers first, or returns None to leave it to the
    endpoint. Put it under the route decorator, so the mark is there when the route is
    built."""

    def mark(endpoint: E) -> E:
        endpoint.__fast_path__ = handler  # type: ignore[attr-defined]
        return endpoint

    return mark


class FastPathRoute(APIRoute):
    """An APIRoute whose endpoint may carry a fast path (`fast_path`)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        full = super().get_route_handler()
        fast: FastHandler | None = getattr(self.endpoint, "__fast_path__", None)
        if fast is None:
            return full

        async def handler(request: Request) -> Response:
            # The fast path reads only the query string, headers and path: the request
            # is untouched for the full handler when it declines.
            response = await fast(request)
            return response if response is not None else await full(request)

        return handler


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
