"""Sign in and out, who am I, and API tokens for scripts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.http.deps import SESSION_COOKIE, PrincipalDep, ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES, TooManyRequests, Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class Me(BaseModel):
    username: str
    role: str
    organisation_id: str | None = None


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, max_length=200)
    days: float | None = Field(None, gt=0, le=3650, description="Lifetime; none: no expiry")


class TokenOut(BaseModel):
    token: str
    expires_at: str | None


@router.post("/login", response_model=Me, summary="Sign in: sets the session cookie")
def login(request: Request, response: Response, svc: ServicesDep,
          body: Annotated[Login, Body()]) -> Any:
    client = request.client.host if request.client else "-"
    key = f"{client}|{body.username.lower()}"
    # The attempt counts before the password is checked, so parallel attempts cannot
    # all be checked before the first failure counts (services/container.py).
    wait = svc.limiter.reserve(key)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s",
                              headers={"Retry-After": str(wait)})
    user = svc.users.authenticate(body.username, body.password)
    if user is None:
        raise Unauthorized("wrong username or password, or the account is disabled")
    svc.limiter.succeeded(key)
    hours = svc.settings.session_hours
    secret, _ = svc.users.issue(user, "session", lifetime=timedelta(hours=hours))
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(hours * 3600), httponly=True,
                        samesite="strict", secure=svc.settings.cookie_secure, path="/")
    return Me(username=user.username, role=user.role, organisation_id=user.organisation_id)


@router.post("/logout", status_code=204, summary="Sign out (ends the session)")
def logout(request: Request, svc: ServicesDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        svc.users.revoke(secret)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, summary="Who am I (public when not signed in)")
def me(who: PrincipalDep) -> Any:
    return Me(username=who.username, role=who.role.value,
              organisation_id=who.organisation_id)


@router.post("/tokens", response_model=TokenOut, status_code=201,
             summary="Create an API token for scripts (shown once)")
def create_token(svc: ServicesDep, who: SignedInDep,
                 body: Annotated[TokenRequest | None, Body()] = None) -> Any:
    body = body or TokenRequest()
    user = svc.users.get(who.username)
    lifetime = timedelta(days=body.days) if body.days else None
    secret, expires = svc.users.issue(user, "token", name=body.name, lifetime=lifetime)
    return TokenOut(token=secret, expires_at=expires.isoformat() if expires else None)
