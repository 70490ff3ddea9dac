"""Who is looking at a page. Unlike the API, a page treats an expired or revoked session
cookie as "not signed in" (and shows the sign-in link) rather than answering 401: a person
whose session ran out overnight should see the public map, not an error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from mineaction.access.roles import PUBLIC, Principal
from mineaction.http.deps import SESSION_COOKIE, ServicesDep


def page_principal(request: Request, svc: ServicesDep) -> Principal:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return PUBLIC
    user = svc.users.resolve(secret)
    return PUBLIC if user is None else user.principal()


WhoDep = Annotated[Principal, Depends(page_principal)]
