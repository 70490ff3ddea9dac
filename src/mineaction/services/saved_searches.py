# SPDX-License-Identifier: GPL-3.0-or-later
"""Saved searches (issue 21, item 5): a signed-in user keeps a records list's filters under
a name ("Antioquia accidents 2020, approved") and comes back to them from any device.

A saved search is the list page's own address (path and query), nothing more: opening it
asks the list page again, so what it shows is decided by the access rules of that moment
(access/), never by what the user could see when saving. Each user sees and deletes only
their own; the public saves none. Only addresses of the records lists are kept, so a
saved search can never send its user elsewhere (auth/next_path.safe_next, and the path
checked to be a list's own: /records/<collection>).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import sqlalchemy as sa

from mineaction.access.roles import Principal
from mineaction.auth.next_path import safe_next
from mineaction.services.errors import Invalid, NotFoundError, Unauthorized
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, Timestamp

MAX_PER_USER = 100
MAX_NAME = 80
LIST_PATH = re.compile(r"/records/[a-z][a-z-]*")  # a records list: /records/<collection>

SAVED_SEARCHES = sa.Table(
    "saved_searches",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("username", sa.Text, nullable=False, index=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("target", sa.Text, nullable=False),  # the list page's path and query
    sa.Column("created_at", Timestamp(), nullable=False),
    sqlite_autoincrement=True,
    info={"unlisted": True},
)


@dataclass(frozen=True)
class SavedSearch:
    id: str
    name: str
    target: str
    created_at: datetime


class SavedSearches:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_tables([SAVED_SEARCHES])

    @staticmethod
    def _user(p: Principal) -> str:
        if p.is_public:
            raise Unauthorized("sign in to save searches")
        return p.username

    def list(self, p: Principal) -> list[SavedSearch]:
        """The user's saved searches, by name."""
        if p.is_public:
            return []
        t = SAVED_SEARCHES
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.id, t.c.name, t.c.target, t.c.created_at)
                                .where(t.c.username == p.username)
                                .order_by(sa.func.lower(t.c.name), t.c.fid)).all()
        return [SavedSearch(r.id, r.name, r.target, r.created_at) for r in rows]

    def save(self, p: Principal, name: str, target: str) -> SavedSearch:
        """Keep `target` (a records list's address) under `name`; a name the user has
        already used is given the new address."""
        user = self._user(p)
        name = " ".join(name.split())
        if not name:
            raise Invalid("give the search a name")
        if len(name) > MAX_NAME:
            raise Invalid(f"a name of at most {MAX_NAME} characters")
        if safe_next(target) != target or not LIST_PATH.fullmatch(urlsplit(target).path):
            raise Invalid("only the address of a records list can be saved")
        t = SAVED_SEARCHES
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            same = conn.execute(sa.select(t.c.id).where(
                (t.c.username == user) & (t.c.name == name))).scalar()
            if same is not None:
                conn.execute(t.update().where(t.c.id == same).values(target=target,
                                                                     created_at=now))
                return SavedSearch(same, name, target, now)
            count = conn.execute(sa.select(sa.func.count()).select_from(t)
                                 .where(t.c.username == user)).scalar_one()
            if count >= MAX_PER_USER:
                raise Invalid(f"at most {MAX_PER_USER} saved searches: delete one first")
            new = SavedSearch(str(uuid.uuid4()), name, target, now)
            conn.execute(t.insert().values(id=new.id, username=user, name=name,
                                           target=target, created_at=now))
        return new

    def delete(self, p: Principal, search_id: str) -> None:
        user = self._user(p)
        t = SAVED_SEARCHES
        with self.store.transaction() as conn:
            gone = conn.execute(t.delete().where((t.c.id == search_id)
                                                 & (t.c.username == user))).rowcount
        if not gone:  # another user's is as unknown as one that never was
            raise NotFoundError(f"no saved search {search_id}")
