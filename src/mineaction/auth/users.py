"""The user directory: accounts, argon2 password hashes, sessions and API tokens, kept in
the store's own database so that every API worker and the CLI see the same users."""

from __future__ import annotations

import builtins
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mineaction.access.roles import ROLES, Principal, Role
from mineaction.auth import passwords
from mineaction.auth.schema import CREDENTIALS, USERS, ensure_server_tables
from mineaction.store.base import Store

TOKEN_PREFIX = "ma_"
MIN_PASSWORD = passwords.MIN_LENGTH


class AuthError(Exception):
    """A user-directory request that cannot be done (unknown user, weak password ...)."""


@dataclass(frozen=True)
class User:
    id: str
    username: str
    role: str
    organisation_id: str | None
    disabled: bool
    created_at: datetime

    def principal(self) -> Principal:
        return Principal(self.username, Role(self.role), self.id, self.organisation_id)


@dataclass(frozen=True)
class Credential:
    """A session or API token, never its secret. `fid` is its id (`token list`, DELETE
    /auth/tokens/{id}); `parent_fid` the credential it was made with, if any."""
    fid: int
    user_id: str
    kind: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    parent_fid: int | None
    username: str = ""


def _utc(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _credential(row: Any) -> Credential:
    return Credential(row["fid"], row["user_id"], row["kind"], row["name"],
                      _utc(row["created_at"]) or datetime.now(UTC), _utc(row["expires_at"]),
                      row["parent_fid"], row.get("username") or "")


# The user a credential belongs to, with the credential's state: built once, as every
# signed-in request asks (building the statement cost as much as running it).
_RESOLVE = (sa.select(USERS, CREDENTIALS.c.expires_at, CREDENTIALS.c.revoked)
            .join(CREDENTIALS, CREDENTIALS.c.user_id == USERS.c.id)
            .where(CREDENTIALS.c.secret_hash == sa.bindparam("secret_hash")))


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: Any) -> User:
    return User(row["id"], row["username"], row["role"], row["organisation_id"],
                bool(row["disabled"]), row["created_at"])


class UserDirectory:
    # argon2id with the library's defaults (RFC 9106 "low memory" profile: 64 MiB, t=3).
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        ensure_server_tables(store)
        # A hash to verify against for unknown users, so timing does not tell who exists.
        self._dummy = self.hasher.hash(secrets.token_hex(8))

    # -- accounts -------------------------------------------------------------------------
    def add(self, username: str, password: str, role: str,
            organisation_id: str | None = None) -> User:
        username = username.strip()
        if not username or len(username) > 100:
            raise AuthError("a username is 1 to 100 characters")
        if role not in ROLES or role == Role.public:
            raise AuthError(f"role {role!r}: choose one of {', '.join(ROLES[:-1])}")
        weak = passwords.problem(password, username)
        if weak:
            raise AuthError(weak)
        now = datetime.now(UTC)
        row = {"id": str(uuid.uuid4()), "username": username,
               "password_hash": self.hasher.hash(password), "role": role,
               "organisation_id": organisation_id, "disabled": False, "created_at": now,
               "updated_at": now}
        with self.store.transaction() as conn:
            if conn.execute(sa.select(USERS.c.id).where(USERS.c.username == username)).first():
                raise AuthError(f"user {username!r} already exists")
            conn.execute(USERS.insert().values(**row))
        return _user(row)

    def get(self, username: str) -> User:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.username == username)
                               ).mappings().first()
        if row is None:
            raise AuthError(f"no user {username!r}")
        return _user(row)

    def resolve_id(self, user_id: str) -> User | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.id == user_id)
                               ).mappings().first()
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(USERS).order_by(USERS.c.username)).mappings().all()
        return [_user(r) for r in rows]

    def _set(self, username: str, **values: Any) -> User:
        with self.store.transaction() as conn:
            done = conn.execute(USERS.update().where(USERS.c.username == username)
                                .values(updated_at=datetime.now(UTC), **values))
            if done.rowcount != 1:
                raise AuthError(f"no user {username!r}")
        return self.get(username)

    def set_role(self, username: str, role: str) -> User:
        if role not in ROLES or role == Role.public:
            raise AuthError(f"role {role!r}: choose one of {', '.join(ROLES[:-1])}")
        return self._set(username, role=role)

    def set_organisation(self, username: str, organisation_id: str | None) -> User:
        return self._set(username, organisation_id=organisation_id)

    def set_password(self, username: str, password: str) -> tuple[User, int]:
        """Set a new password and end every session and token of the user: whoever
        signed in with the old one is out. Returns the user and how many credentials
        ended."""
        weak = passwords.problem(password, username)
        if weak:
            raise AuthError(weak)
        user = self._set(username, password_hash=self.hasher.hash(password))
        return user, self._revoke_all(user.id)

    def _revoke_all(self, user_id: str) -> int:
        live = (CREDENTIALS.c.user_id == user_id) & CREDENTIALS.c.revoked.is_(False)
        with self.store.transaction() as conn:
            return int(conn.execute(CREDENTIALS.update().where(live)
                                    .values(revoked=True)).rowcount)

    def disable(self, username: str, disabled: bool = True) -> User:
        user = self._set(username, disabled=disabled)
        if disabled:  # sign out everywhere
            self._revoke_all(user.id)
        return user

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> User | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(USERS).where(USERS.c.username == username)
                               ).mappings().first()
        stored = row["password_hash"] if row is not None else self._dummy
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            self._set(username, password_hash=self.hasher.hash(password))
        return _user(row)

    def issue(self, user: User, kind: str, *, name: str | None = None,
              lifetime: timedelta | None = None,
              parent: Credential | None = None) -> tuple[str, datetime | None]:
        """A new session or API token for `user`: (secret, expiry). Only its hash is kept."""
        secret, credential = self.issue_credential(user, kind, name=name, lifetime=lifetime,
                                                   parent=parent)
        return secret, credential.expires_at

    def issue_credential(self, user: User, kind: str, *, name: str | None = None,
                         lifetime: timedelta | None = None,
                         parent: Credential | None = None) -> tuple[str, Credential]:
        """As `issue`, with the new credential. Made with `parent` (the session or token of
        the request), it ends when the parent is revoked, and a token made with a token
        expires no later than that token: a child never outlives its parent."""
        if parent is not None and parent.user_id != user.id:
            raise AuthError("a credential is made only with one of the same user")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + lifetime if lifetime else None
        if expires is not None:  # as the GeoPackage keeps it: to the millisecond
            expires = expires.replace(microsecond=expires.microsecond // 1000 * 1000)
        if parent is not None and parent.kind == "token" and parent.expires_at is not None:
            expires = min(expires or parent.expires_at, parent.expires_at)
        row = {"secret_hash": _hash_secret(secret), "user_id": user.id, "kind": kind,
               "name": name, "created_at": now, "expires_at": expires, "revoked": False,
               "parent_fid": parent.fid if parent is not None else None}
        with self.store.transaction() as conn:
            key = conn.execute(CREDENTIALS.insert().values(**row)).inserted_primary_key
            assert key is not None
            fid = key[0]
        return secret, _credential({**row, "fid": fid, "username": user.username})

    def revoke(self, secret: str) -> int:
        """End the session or token whose secret this is, and every credential made with
        it (at any depth): signing out ends the tokens made in that session. Returns how
        many ended."""
        with self.store.transaction() as conn:
            fid = conn.execute(sa.select(CREDENTIALS.c.fid).where(
                CREDENTIALS.c.secret_hash == _hash_secret(secret))).scalar_one_or_none()
            return 0 if fid is None else self._revoke_tree(conn, fid)

    def revoke_token(self, token_id: int, user: User | None = None) -> int:
        """End one API token by its id (and what was made with it); only one of `user`'s
        when given. Returns how many credentials ended: 0 when no such live token."""
        live = ((CREDENTIALS.c.fid == token_id) & (CREDENTIALS.c.kind == "token")
                & CREDENTIALS.c.revoked.is_(False))
        if user is not None:
            live &= CREDENTIALS.c.user_id == user.id
        with self.store.transaction() as conn:
            if conn.execute(sa.select(CREDENTIALS.c.fid).where(live)).first() is None:
                return 0
            return self._revoke_tree(conn, token_id)

    @staticmethod
    def _revoke_tree(conn: sa.Connection, fid: int) -> int:
        ended, layer = 0, [fid]
        seen: set[int] = set()
        while layer:
            seen.update(layer)
            ended += int(conn.execute(CREDENTIALS.update()
                                      .where(CREDENTIALS.c.fid.in_(layer)
                                             & CREDENTIALS.c.revoked.is_(False))
                                      .values(revoked=True)).rowcount)
            children: list[int] = list(conn.execute(
                sa.select(CREDENTIALS.c.fid).where(CREDENTIALS.c.parent_fid.in_(layer))
            ).scalars())
            layer = [c for c in children if c not in seen]
        return ended

    def tokens(self, user: User | None = None) -> builtins.list[Credential]:
        """Live API tokens (not revoked, not expired), of `user` or of everyone, oldest
        first."""
        stmt = (sa.select(CREDENTIALS, USERS.c.username)
                .join(USERS, USERS.c.id == CREDENTIALS.c.user_id)
                .where(CREDENTIALS.c.kind == "token", CREDENTIALS.c.revoked.is_(False))
                .order_by(CREDENTIALS.c.fid))
        if user is not None:
            stmt = stmt.where(CREDENTIALS.c.user_id == user.id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        now = datetime.now(UTC)
        found = [_credential(dict(r)) for r in rows]
        return [c for c in found if c.expires_at is None or c.expires_at > now]

    def credential(self, secret: str) -> Credential | None:
        """The live session or token whose secret this is, or None."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(CREDENTIALS).where(
                CREDENTIALS.c.secret_hash == _hash_secret(secret))).mappings().first()
        if row is None or row["revoked"]:
            return None
        found = _credential(dict(row))
        if found.expires_at is not None and found.expires_at < datetime.now(UTC):
            return None
        return found

    def resolve(self, secret: str) -> User | None:
        """The enabled user a live session or token belongs to, or None."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        with self.store.single_read() as conn:  # every signed-in request asks
            row = conn.execute(_RESOLVE, {"secret_hash": _hash_secret(secret)}
                               ).mappings().first()
        if row is None or row["revoked"] or row["disabled"]:
            return None
        expires = row["expires_at"]
        if expires is not None:
            expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            if expires < datetime.now(UTC):
                return None
        return _user(row)
