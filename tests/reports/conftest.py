"""Fixtures for report tests: the Colombia register and the synthetic land-release set, in
a GeoPackage store each (the statistics behind reports are tested on both stores in
tests/analysis). The helpers are shared with tests/analysis, loaded by path."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mineaction.store import Store, open_store

_spec = importlib.util.spec_from_file_location(
    "mineaction_tests_analysis_conftest", Path(__file__).parents[1] / "analysis" / "conftest.py")
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


@pytest.fixture(scope="session")
def colombia_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("reports") / "colombia.gpkg")
    helpers.import_colombia(store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def landrelease_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(tmp_path_factory.mktemp("reports") / "landrelease.gpkg")
    helpers.load_landrelease(store)
    yield store
    store.close()


@pytest.fixture(scope="session")
def poppler() -> None:
    """pdftotext and pdftoppm (Debian poppler-utils, installed by scripts/test)."""
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.fail("pdftotext/pdftoppm missing: install Debian's poppler-utils "
                    "(scripts/test does as root)", pytrace=False)
