"""Sign in and out, who am I, and API tokens for scripts.

Sign-ins (and failed ones), sign-outs and every token made or revoked are written to the
audit trail. What ends a credential (issue 15, 7):

- signing out ends the session and every token made with it (at any depth);
- revoking a token (DELETE /auth/tokens/{id}, `mineaction token revoke`) ends it and every
  token made with it;
- a token made with a token expires no later than that token;
- an admin's password reset, and disabling a user, end all the user's sessions and tokens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.audit.log import log_event
from mineaction.auth.users import Credential
from mineaction.http.deps import SESSION_COOKIE, PrincipalDep, ServicesDep, SignedInDep
from mineaction.http.errors import (
    ERROR_RESPONSES,
    NotFoundError,
    TooManyRequests,
    Unauthorized,
)

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
    days: float | None = Field(None, gt=0, le=3650, description="Lifetime; none: no expiry "
                               "of its own (a token made with a token still expires with "
                               "it; one made in a browser session ends when that session "
                               "signs out).")


class TokenOut(BaseModel):
    token: str
    id: int
    expires_at: str | None


class TokenInfo(BaseModel):
    id: int
    name: str | None
    created_at: str
    expires_at: str | None
    made_with: int | None = Field(description="Id of the session or token it was made "
                                  "with; it ends when that one does.")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _info(c: Credential) -> TokenInfo:
    return TokenInfo(id=c.fid, name=c.name, created_at=c.created_at.isoformat(),
                     expires_at=_iso(c.expires_at), made_with=c.parent_fid)


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def presented_secret(request: Request) -> str | None:
    """The bearer token or session cookie the request was authenticated with, as
    http/deps.py's `principal` reads them (the bearer first)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


@router.post("/login", response_model=Me, summary="Sign in: sets the session cookie")
def login(request: Request, response: Response, svc: ServicesDep,
          body: Annotated[Login, Body()]) -> Any:
    client = _client(request)
    key = f"{client}|{body.username.lower()}"
    # The attempt counts before the password is checked, so parallel attempts cannot
    # all be checked before the first failure counts (services/container.py).
    wait = svc.limiter.reserve(key)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins; try again in {wait} s",
                              headers={"Retry-After": str(wait)})
    user = svc.users.authenticate(body.username, body.password)
    if user is None:
        log_event(svc.store, None, "sign_in_failed", {"username": body.username,
                                                      "client": client})
        raise Unauthorized("wrong username or password, or the account is disabled")
    svc.limiter.succeeded(key)
    hours = svc.settings.session_hours
    secret, session = svc.users.issue_credential(user, "session",
                                                 lifetime=timedelta(hours=hours))
    log_event(svc.store, user.username, "sign_in", {"client": client, "session": session.fid})
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(hours * 3600), httponly=True,
                        samesite="strict", secure=svc.settings.cookie_secure, path="/")
    return Me(username=user.username, role=user.role, organisation_id=user.organisation_id)


@router.post("/logout", status_code=204,
             summary="Sign out: ends the session and the tokens made with it")
def logout(request: Request, svc: ServicesDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        session = svc.users.credential(secret)
        ended = svc.users.revoke(secret)
        if session is not None:
            user = svc.users.resolve_id(session.user_id)
            log_event(svc.store, user.username if user else None, "sign_out",
                      {"session": session.fid, "ended": ended})
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=Me, summary="Who am I (public when not signed in)")
def me(who: PrincipalDep) -> Any:
    return Me(username=who.username, role=who.role.value,
              organisation_id=who.organisation_id)


@router.post("/tokens", response_model=TokenOut, status_code=201,
             summary="Create an API token for scripts (shown once)")
def create_token(request: Request, svc: ServicesDep, who: SignedInDep,
                 body: Annotated[TokenRequest | None, Body()] = None) -> Any:
    body = body or TokenRequest()
    user = svc.users.get(who.username)
    secret = presented_secret(request)
    parent = svc.users.credential(secret) if secret else None
    if parent is None:  # revoked between the check of the request and now
        raise Unauthorized("the token or session is invalid, expired or revoked")
    lifetime = timedelta(days=body.days) if body.days else None
    token, made = svc.users.issue_credential(user, "token", name=body.name,
                                             lifetime=lifetime, parent=parent)
    log_event(svc.store, who.username, "token_create",
              {"token": made.fid, "name": made.name, "expires_at": _iso(made.expires_at),
               "made_with": parent.fid})
    return TokenOut(token=token, id=made.fid, expires_at=_iso(made.expires_at))


@router.get("/tokens", response_model=list[TokenInfo],
            summary="My live API tokens (never their secrets)")
def list_tokens(svc: ServicesDep, who: SignedInDep) -> Any:
    return [_info(c) for c in svc.users.tokens(svc.users.get(who.username))]


@router.delete("/tokens/{token_id}", status_code=204,
               summary="Revoke one of my API tokens (and the tokens made with it)")
def revoke_token(svc: ServicesDep, who: SignedInDep,
                 token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    ended = svc.users.revoke_token(token_id, svc.users.get(who.username))
    if not ended:
        raise NotFoundError(f"no live token {token_id} of yours")
    log_event(svc.store, who.username, "token_revoke", {"token": token_id, "ended": ended})
    return Response(status_code=204)
