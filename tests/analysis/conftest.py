"""Fixtures for statistics tests: the real Colombia register (with DANE departments and
municipalities as admin areas) imported once per session into each store, and a small
seeded synthetic land-release data set. Tests using them only read."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from mineaction.store import Store, open_store

REPO = Path(__file__).parents[2]
DATA = REPO / "data" / "colombia"
REGISTER = DATA / "aicma_victims_register_2021-06.csv"


def load_by_path(name: str, path: Path) -> ModuleType:
    """Import a helper module of the tests by its path: tests/ is not a package, and
    tests/reports shares these helpers, so no import by name would be reliable."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_fixture_module = load_by_path(
    "mineaction_tests_landrelease", Path(__file__).with_name("landrelease_fixture.py"))
load_landrelease = _fixture_module.load_landrelease


@pytest.fixture(scope="session")
def landrelease_records() -> dict:
    """The synthetic land-release records, built afresh (same seed: same values)."""
    return _fixture_module.build()


def with_database(url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + dbname))


def import_colombia(store: Store) -> None:
    from mineaction.io.mapping import load_mapping
    from mineaction.io.pipeline import import_file

    for path, mapping in (
        (REGISTER, "aicma-victims"),
        (DATA / "admin" / "departments_dane_mgn2021.geojson", "dane-departments"),
        (DATA / "admin" / "municipalities_dane_mgn2021.geojson", "dane-municipalities"),
    ):
        report = import_file(store, path, mapping=load_mapping(mapping))
        assert report.committed and not report.errors, path


def _session_location(request: pytest.FixtureRequest, kind: str,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if kind == "gpkg":
        yield str(tmp_path_factory.mktemp("stats") / "store.gpkg")
        return
    # A session-long database beside the test one: fresh_postgis_url is per test, and
    # importing the register for every test would cost seconds each.
    server = request.getfixturevalue("postgis_url")
    name = f"mineaction_stats_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(with_database(server, name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield with_database(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


@pytest.fixture(scope="session", params=["gpkg", "postgis"])
def colombia(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The Colombia register and DANE admin areas, on each store in turn."""
    locations = _session_location(request, request.param, tmp_path_factory)
    store = open_store(next(locations))
    try:
        import_colombia(store)
        yield store
    finally:
        store.close()
        locations.close()


@pytest.fixture(scope="session", params=["gpkg", "postgis"])
def landrelease(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The synthetic land-release fixture (tests/analysis/landrelease_fixture.py)."""
    locations = _session_location(request, request.param, tmp_path_factory)
    store = open_store(next(locations))
    try:
        load_landrelease(store)
        yield store
    finally:
        store.close()
        locations.close()
