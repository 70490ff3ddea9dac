"""FastAPI dependencies: the app's services, and who is asking.

A request is authenticated by a bearer token (scripts: `Authorization: Bearer ma_...`) or
the session cookie (browsers, set by POST /api/v1/auth/login); with neither it is the
anonymous public. A credential that is present but invalid is refused (401) rather than
silently downgraded to public, so a script with an expired token notices.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from mineaction.access.roles import PUBLIC, Principal
from mineaction.services.container import Services
from mineaction.services.errors import Unauthorized

SESSION_COOKIE = "mineaction_session"

bearer_scheme = HTTPBearer(auto_error=False, description="An API token (`mineaction token "
                           "create` or POST /api/v1/auth/tokens).")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                             description="Session cookie set by POST /api/v1/auth/login.")


async def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


async def principal(
    svc: ServicesDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal:
    # Async so that anonymous requests (most public reads) need no thread hop.
    secret = bearer.credentials if bearer is not None else cookie
    if not secret:
        return PUBLIC
    # One indexed read, on the loop, as the API's other quick reads (list pages, GET by
    # id, small site checks): from a thread it made the loop and the thread take turns
    # at the interpreter lock on every signed-in request (issue 20's bench, py-spy: a
    # viewer's plot check cost a GeoPackage server 3.36 ms of CPU to the public's 2.56;
    # on PostGIS, in one process over the ASGI app, 2.25 against 2.72-2.95 ms a point
    # check, the public's 1.77-1.92).
    user = svc.users.resolve(secret)
    if user is None:
        raise Unauthorized("the token or session is invalid, expired or revoked",
                           headers={"WWW-Authenticate": "Bearer"})
    return user.principal()


PrincipalDep = Annotated[Principal, Depends(principal)]


async def signed_in(p: PrincipalDep) -> Principal:
    if p.is_public:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Bearer"})
    return p


SignedInDep = Annotated[Principal, Depends(signed_in)]
