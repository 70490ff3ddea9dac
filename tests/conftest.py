"""Fixtures shared by the whole suite.

- ``repo_root`` / ``REPO_ROOT``: the checkout; ``shared_data`` / ``SHARED_DATA``: its data/ folder.
- ``postgis_url`` (session): URL of a PostgreSQL 15 + PostGIS server's ``mineaction_test``
  database, from MINEACTION_TEST_DATABASE_URL (``scripts/test`` starts a throwaway cluster
  and sets it).
- ``fresh_postgis_url`` (function): URL of a new, empty database with PostGIS on that server,
  dropped after the test (open connections to it are terminated).
- ``gdal_validator`` (session): ``validate(path)`` runs GDAL's validate_gpkg.py (Debian's
  python3-gdal) on a GeoPackage and raises AssertionError with its report if it is invalid.

A missing PostGIS server or GDAL validator skips the tests that need it on a developer's
machine, with the reason shown in the summary, but fails them when CI is set: CI never
skips them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parents[1]
# The command line prints in the machine's language (issue 22): the suite compares its
# English output, so it runs in English whatever LANG the machine or CI has (forced, not a
# default: a developer's MINEACTION_LANG=es must not fail the documented examples).
os.environ["MINEACTION_LANG"] = "en"
SHARED_DATA = REPO_ROOT / "data"

DATABASE_URL_ENV = "MINEACTION_TEST_DATABASE_URL"
# GDAL's validator must run with Debian's own Python, the one python3-gdal is built for.
GDAL_PYTHON = Path("/usr/bin/python3")
VALIDATE_GPKG_CANDIDATES = (
    Path("/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py"),
    Path("/usr/share/doc/python3-gdal/examples/validate_gpkg.py"),
)


def in_ci() -> bool:
    """True when running under CI (CI=true, as CI sets it)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason`` on a developer's machine; fail in CI, where nothing may be skipped."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this is never skipped in CI)", pytrace=False)
    pytest.skip(reason)


def with_database(url: str, dbname: str) -> str:
    """``url`` (a postgresql:// URL) pointing at database ``dbname`` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The repository's data/ folder (sample data sets shared by tests and benchmarks)."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgis_url() -> str:
    """URL of the PostGIS test database (``postgresql://postgres@127.0.0.1:PORT/mineaction_test``
    under scripts/test). Shared by the whole session: tests that need isolation use
    ``fresh_postgis_url``."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not url:
        skip_or_fail(
            f"PostGIS tests need {DATABASE_URL_ENV}; scripts/test starts a throwaway cluster"
        )
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            conn.execute("SELECT postgis_lib_version()").fetchone()
    except psycopg.Error as exc:
        pytest.fail(
            f"{DATABASE_URL_ENV}={url} is set but not usable as a PostGIS database: {exc}",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def _postgis_template(postgis_url: str) -> Iterator[str]:
    """A database with PostGIS already created, copied by each ``fresh_postgis_url``:
    copying it is several times faster than CREATE EXTENSION postgis in every test."""
    name = f"mineaction_tmpl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(with_database(postgis_url, name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield name
    finally:
        _drop_database(postgis_url, name)


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        # WITH (FORCE) terminates the sessions still connected (e.g. a leaked pool) first.
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def fresh_postgis_url(postgis_url: str, _postgis_template: str) -> Iterator[str]:
    """URL of a new, uniquely named database with PostGIS (and nothing else) on the test
    server; dropped after the test."""
    name = f"mineaction_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgis_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(_postgis_template)
            )
        )
    try:
        yield with_database(postgis_url, name)
    finally:
        _drop_database(postgis_url, name)


@pytest.fixture(scope="session")
def gdal_validator() -> Callable[..., None]:
    """``validate(path, *, warnings_as_errors=True)``: run GDAL's validate_gpkg.py on the
    GeoPackage at ``path``; raise AssertionError with the validator's output if it finds any
    error (or, by default, any warning). The file should not be mid-write; WAL mode is fine."""
    script = next((p for p in VALIDATE_GPKG_CANDIDATES if p.is_file()), None)
    if script is None or not GDAL_PYTHON.is_file():
        skip_or_fail(
            "GeoPackage validation needs GDAL's validate_gpkg.py and /usr/bin/python3 "
            "(Debian package python3-gdal; scripts/test installs it as root)"
        )
    # Debian's Python must not see our virtualenv's settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON") and k != "VIRTUAL_ENV"}

    def validate(path: str | os.PathLike[str], *, warnings_as_errors: bool = True) -> None:
        path = Path(path)
        assert path.is_file(), f"no GeoPackage at {path}"
        cmd = [str(GDAL_PYTHON), "-I", str(script), "-k"]
        if warnings_as_errors:
            cmd.append("--warning-as-error")
        cmd.append(str(path))
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=300, check=False
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"validate_gpkg.py rejects {path} (exit {proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}".rstrip()
            )

    return validate


@pytest.fixture(params=["gpkg", "postgis"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store goes, once per kind of store: a new GeoPackage file, and a new
    PostGIS database. Tests built on it pass on both stores, as the Store contract asks."""
    if request.param == "gpkg":
        return str(tmp_path / "store.gpkg")
    return str(request.getfixturevalue("fresh_postgis_url"))


@pytest.fixture
def two_viewers_app(tmp_path: Path) -> Iterator[Any]:
    """The app with its web pages, in-process (no server, no browser), over a fresh
    GeoPackage store holding two viewers, vera and otto (password "correct horse battery"):
    for tests of what one user's settings do to the other's pages."""
    from mineaction.app import create_app
    from mineaction.services.settings import load_settings
    from mineaction.web import mount_web

    settings = load_settings(store=str(tmp_path / "s.gpkg"), argon2_time_cost=1,
                             argon2_memory_kib=64, upload_dir=tmp_path / "up")
    app = create_app(settings)
    mount_web(app, settings)
    for name in ("vera", "otto"):
        app.state.services.users.add(name, "correct horse battery", "viewer", None)
    yield app
    app.state.services.close()
