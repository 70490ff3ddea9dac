# SPDX-License-Identifier: GPL-3.0-or-later
"""A signed-in user's language (issue 22): the language the user last chose in the web
pages' menu, kept with the user, so that it follows them to every browser and device they
sign in on. The public's choice stays in a cookie of their browser (web/i18n.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from mineaction.access.roles import Principal
from mineaction.store.base import Store
from mineaction.store.schema import METADATA, Timestamp

USER_LANGUAGES = sa.Table(
    "user_languages",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.Text, nullable=False, unique=True),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("updated_at", Timestamp(), nullable=False),
    sqlite_autoincrement=True,
    info={"unlisted": True},
)


class UserLanguage:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_tables([USER_LANGUAGES])

    def get(self, p: Principal) -> str | None:
        if p.is_public:
            return None
        t = USER_LANGUAGES
        with self.store.engine.connect() as conn:
            found = conn.execute(sa.select(t.c.language).where(t.c.username == p.username)
                                 ).scalar()
        return str(found) if found else None

    def set(self, p: Principal, language: str) -> None:
        """Keep `language` (a code the caller has checked) as the user's; the public has
        no setting of its own."""
        if p.is_public:
            return
        t = USER_LANGUAGES
        now = datetime.now(UTC)
        with self.store.transaction() as conn:
            if conn.execute(t.update().where(t.c.username == p.username)
                            .values(language=language, updated_at=now)).rowcount == 0:
                conn.execute(t.insert().values(username=p.username, language=language,
                                               updated_at=now))
