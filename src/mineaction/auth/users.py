"""The user directory: accounts, argon2 password hashes, sessions and API tokens, kept in
the store's own database so that every API worker and the CLI see the same users."""

from __future__ import annotations

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

    def set_password(self, username: str, password: str) -> User:
        weak = passwords.problem(password, username)
        if weak:
            raise AuthError(weak)
        return self._set(username, password_hash=self.hasher.hash(password))

    def disable(self, username: str, disabled: bool = True) -> User:
        user = self._set(username, disabled=disabled)
        if disabled:  # sign out everywhere
            with self.store.transaction() as conn:
                conn.execute(CREDENTIALS.update().where(CREDENTIALS.c.user_id == user.id)
                             .values(revoked=True))
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
              lifetime: timedelta | None = None) -> tuple[str, datetime | None]:
        """A new session or API token for `user`: (secret, expiry). Only its hash is kept."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + lifetime if lifetime else None
        with self.store.transaction() as conn:
            conn.execute(CREDENTIALS.insert().values(
                secret_hash=_hash_secret(secret), user_id=user.id, kind=kind, name=name,
                created_at=now, expires_at=expires, revoked=False))
        return secret, expires

    def revoke(self, secret: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(CREDENTIALS.update()
                         .where(CREDENTIALS.c.secret_hash == _hash_secret(secret))
                         .values(revoked=True))

    def resolve(self, secret: str) -> User | None:
        """The enabled user a live session or token belongs to, or None."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        stmt = (sa.select(USERS, CREDENTIALS.c.expires_at, CREDENTIALS.c.revoked)
                .join(CREDENTIALS, CREDENTIALS.c.user_id == USERS.c.id)
                .where(CREDENTIALS.c.secret_hash == _hash_secret(secret)))
        with self.store.engine.connect() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None or row["revoked"] or row["disabled"]:
            return None
        expires = row["expires_at"]
        if expires is not None:
            expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
            if expires < datetime.now(UTC):
                return None
        return _user(row)
