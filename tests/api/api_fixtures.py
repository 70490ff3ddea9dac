"""The `api` fixture and what it stands on (tests/api/conftest.py says what it gives);
imported by the conftest.py of tests/api and tests/security."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from api_helpers import Api, make_settings

from mineaction.app import create_app
from mineaction.store import Store, open_store


@pytest.fixture
def store(store_location: str) -> Iterator[Store]:
    s = open_store(store_location)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


@pytest.fixture
def api(store: Store, tmp_path: Path, settings_overrides: dict[str, Any]) -> Iterator[Api]:
    app = create_app(make_settings(store.location, tmp_path, **settings_overrides),
                     store=store)
    with start_blocking_portal() as portal:
        client = Api(app, portal)
        try:
            yield client
        finally:
            for c in [client.public, *client._clients.values()]:
                portal.call(c.http.aclose)
            app.state.services.close()
