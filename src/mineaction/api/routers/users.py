"""User administration (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.access.roles import Principal, Role, is_admin
from mineaction.audit.log import log_event
from mineaction.auth.users import AuthError, User
from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES, Forbidden, NotFoundError

router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)
AssignableRole = Role  # public is refused by the directory


class UserOut(BaseModel):
    username: str
    role: str
    organisation_id: str | None
    disabled: bool


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=1000)
    role: Role
    organisation_id: str | None = Field(None, max_length=100)


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    organisation_id: str | None = Field(None, max_length=100)
    disabled: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=1000)


def _admin(who: Principal) -> None:
    if not is_admin(who):
        raise Forbidden("only admins manage users")


def _out(u: User) -> UserOut:
    return UserOut(username=u.username, role=u.role, organisation_id=u.organisation_id,
                   disabled=u.disabled)


@router.get("", response_model=list[UserOut], summary="List users")
def list_users(svc: ServicesDep, who: SignedInDep) -> Any:
    _admin(who)
    return [_out(u) for u in svc.users.list()]


@router.post("", response_model=UserOut, status_code=201, summary="Add a user")
def add_user(svc: ServicesDep, who: SignedInDep, body: Annotated[UserIn, Body()]) -> Any:
    _admin(who)
    user = svc.users.add(body.username, body.password, body.role.value, body.organisation_id)
    log_event(svc.store, who.username, "user_add", {"username": user.username,
                                                    "role": user.role})
    return _out(user)


@router.patch("/{username}", response_model=UserOut, summary="Change a user's role, "
              "organisation, password or disable them")
def change_user(svc: ServicesDep, who: SignedInDep, username: str,
                body: Annotated[UserChange, Body()]) -> Any:
    _admin(who)
    try:
        user = svc.users.get(username)
        if body.role is not None:
            user = svc.users.set_role(username, body.role.value)
        if "organisation_id" in body.model_fields_set:
            user = svc.users.set_organisation(username, body.organisation_id)
        ended = 0
        if body.password is not None:  # a reset: whoever signed in with the old one is out
            user, ended = svc.users.set_password(username, body.password)
        if body.disabled is not None:
            user = svc.users.disable(username, body.disabled)
    except AuthError as exc:
        if "no user" in str(exc):
            raise NotFoundError(str(exc)) from None
        raise
    changed = sorted(k for k in body.model_fields_set if k != "password")
    log_event(svc.store, who.username, "user_change",
              {"username": username, "changed": changed,
               "password_changed": body.password is not None,
               "credentials_ended": ended})
    return _out(user)


class UserToken(BaseModel):
    id: int
    name: str | None
    created_at: str
    expires_at: str | None
    made_with: int | None


@router.get("/{username}/tokens", response_model=list[UserToken],
            summary="A user's live API tokens (never their secrets)")
def user_tokens(svc: ServicesDep, who: SignedInDep, username: str) -> Any:
    _admin(who)
    try:
        user = svc.users.get(username)
    except AuthError as exc:
        raise NotFoundError(str(exc)) from None
    return [UserToken(id=c.fid, name=c.name, created_at=c.created_at.isoformat(),
                      expires_at=c.expires_at.isoformat() if c.expires_at else None,
                      made_with=c.parent_fid) for c in svc.users.tokens(user)]


@router.delete("/{username}/tokens/{token_id}", status_code=204,
               summary="Revoke one of a user's API tokens (and the tokens made with it)")
def revoke_user_token(svc: ServicesDep, who: SignedInDep, username: str,
                      token_id: Annotated[int, Path(ge=1, le=2**62)]) -> Response:
    _admin(who)
    try:
        user = svc.users.get(username)
    except AuthError as exc:
        raise NotFoundError(str(exc)) from None
    ended = svc.users.revoke_token(token_id, user)
    if not ended:
        raise NotFoundError(f"no live token {token_id} of {username}")
    log_event(svc.store, who.username, "token_revoke",
              {"username": username, "token": token_id, "ended": ended})
    return Response(status_code=204)
