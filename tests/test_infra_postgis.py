"""The test infrastructure itself: the PostGIS server scripts/test provides, the per-test
databases of ``fresh_postgis_url``, and GDAL's GeoPackage validator."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from pyproj import Geod
from shapely.geometry import Polygon

# A 0.01 x 0.01 degree square near Kabul: ~1.11 km x ~0.91 km.
SQUARE = Polygon([(69.17, 34.52), (69.18, 34.52), (69.18, 34.53), (69.17, 34.53)])


@pytest.mark.postgis
def test_postgis_is_installed_and_areas_are_geodesic(postgis_url: str) -> None:
    with psycopg.connect(postgis_url) as conn:
        (version,) = conn.execute("SELECT postgis_full_version()").fetchone()
        assert "POSTGIS=" in version and "PROJ=" in version and "GEOS=" in version

        (server_version,) = conn.execute("SHOW server_version_num").fetchone()
        assert int(server_version) >= 150000

        (area,) = conn.execute(
            "SELECT ST_Area(ST_GeogFromText(%s))", (f"SRID=4326;{SQUARE.wkt}",)
        ).fetchone()
    expected, _ = Geod(ellps="WGS84").geometry_area_perimeter(SQUARE)
    assert 0.9e6 < area < 1.1e6
    # PostGIS and pyproj both work on the WGS84 ellipsoid: they agree to far below 0.1 %.
    assert area == pytest.approx(abs(expected), rel=1e-4)


_seen_fresh: list[str] = []


def _dbname(url: str) -> str:
    with psycopg.connect(url) as conn:
        (name,) = conn.execute("SELECT current_database()").fetchone()
    return name


def _user_tables(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name NOT IN ('spatial_ref_sys', 'geography_columns', 'geometry_columns') "
        "ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.postgis
@pytest.mark.parametrize("round_", [1, 2])
def test_fresh_postgis_url_is_empty_isolated_and_dropped(
    round_: int, postgis_url: str, fresh_postgis_url: str
) -> None:
    name = _dbname(fresh_postgis_url)
    assert name != _dbname(postgis_url)
    with psycopg.connect(fresh_postgis_url) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        assert _user_tables(conn) == []  # nothing left over from the previous round
        conn.execute("CREATE TABLE hazard (id serial PRIMARY KEY, geom geometry(Polygon, 4326))")
        conn.execute("INSERT INTO hazard (geom) VALUES (ST_GeomFromText(%s, 4326))", (SQUARE.wkt,))
        assert _user_tables(conn) == ["hazard"]
    # A connection left open must not stop the fixture from dropping the database.
    leaked = psycopg.connect(fresh_postgis_url)
    leaked.execute("SELECT 1")
    _seen_fresh.append(name)
    try:
        if round_ == 2:
            with psycopg.connect(postgis_url) as conn:
                existing = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
            assert len(set(_seen_fresh)) == len(_seen_fresh)
            # the database of round 1 is gone
            assert not set(_seen_fresh[:-1]) & existing
    finally:
        leaked.close()


def test_gdal_validator_accepts_good_and_rejects_bad(gdal_validator, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-geopackage.gpkg"
    with sqlite3.connect(bad) as conn:
        conn.execute("CREATE TABLE x (a)")
    conn.close()
    with pytest.raises(AssertionError, match="validate_gpkg.py rejects"):
        gdal_validator(bad)

    good = tmp_path / "minimal.gpkg"
    _write_minimal_geopackage(good)
    gdal_validator(good)


def _write_minimal_geopackage(path: Path) -> None:
    """The smallest valid GeoPackage: the mandatory tables and no content (GeoPackage 1.3)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(
            """
            PRAGMA application_id = 1196444487;  -- 'GPKG'
            PRAGMA user_version = 10300;
            CREATE TABLE gpkg_spatial_ref_sys (
              srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
              organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
              definition TEXT NOT NULL, description TEXT);
            INSERT INTO gpkg_spatial_ref_sys VALUES
              ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', NULL),
              ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', NULL),
              ('WGS 84 geodetic', 4326, 'EPSG', 4326,
               'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
               || 'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
               || 'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,'
               || 'AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
               || 'AUTHORITY["EPSG","4326"]]', NULL);
            CREATE TABLE gpkg_contents (
              table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
              identifier TEXT UNIQUE, description TEXT DEFAULT '',
              last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
              min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
              CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id)
                REFERENCES gpkg_spatial_ref_sys(srs_id));
            """
        )
        conn.commit()
    finally:
        conn.close()
