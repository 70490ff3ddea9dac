"""Both stores, with the audit trail attached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mineaction.audit.log import attach
from mineaction.auth.schema import ensure_server_tables
from mineaction.store import Store, open_store


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location)
    ensure_server_tables(s)
    attach(s)
    try:
        yield s
    finally:
        s.close()
