# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures in the store (issue 22): a table of their own on both stores, a
re-import adding nothing, and older stores gaining the table when opened."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

import mineaction.store.base as base
from mineaction.domain.claims import Claim
from mineaction.io.claims import read_claims
from mineaction.store import Store, open_store
from mineaction.store import claims as stored

AZERBAIJAN = Path(__file__).resolve().parents[2] / "data" / "azerbaijan" / "claims_2020-2025.csv"


def test_claims_are_kept_once_and_read_back_unchanged(store: Store) -> None:
    claims = read_claims(AZERBAIJAN)
    with store.transaction() as conn:
        first = stored.add_claims(conn, claims, by="ana")
    assert (first.added, first.unchanged) == (96, 0)
    extra = replace(claims[0], value=15, reported_by="Panorama.am", url=None)
    with store.transaction() as conn:
        again = stored.add_claims(conn, [*claims, extra], by="ana")
    assert (again.added, again.unchanged) == (1, 96)
    with store.engine.connect() as conn:
        back = stored.read_claims(conn)
        assert stored.count_claims(conn) == 97
    assert {c.key for c in back} == {c.key for c in claims} | {extra.key}
    assert set(back) == {*claims, extra}


def test_claims_are_filtered_by_metric_area_and_who_stated_them(store: Store) -> None:
    with store.transaction() as conn:
        stored.add_claims(conn, read_claims(AZERBAIJAN), by=None)
    with store.engine.connect() as conn:
        pgo = stored.read_claims(conn, stored.ClaimFilter(metric="victims_total",
                                                          stated_by="prosecutor"))
        assert {c.metric for c in pgo} == {"victims_total"}
        assert all("prosecutor" in c.stated_by.lower() for c in pgo)
        assert [int(c.value) for c in pgo] == [58, 342, 351, 41, 382]
        aghdam = stored.read_claims(conn, stored.ClaimFilter(area="aghdam"))
        assert [(c.metric, c.value) for c in aghdam] == [("mines_on_handed_map", 97000)]
        page = stored.read_claims(conn, limit=10, offset=90)
        assert len(page) == 6
        released = [c for c in read_claims(AZERBAIJAN) if c.metric == "area_released"]
        assert stored.count_claims(conn, stored.ClaimFilter(metric="area_released")) \
            == len(released) == 9


def test_geopackage_lists_the_claims_table(tmp_path: Path) -> None:
    """QGIS and ogrinfo see the claims as an attribute table."""
    import pyogrio

    path = tmp_path / "claims.gpkg"
    with open_store(path) as s, s.transaction() as conn:
        stored.add_claims(conn, [Claim(metric="victims_total", value=301, unit="persons",
                                       as_of=date(2023, 4, 29), area="Azerbaijan",
                                       stated_by="civil society")], by=None)
    assert "claims" in set(pyogrio.list_layers(path)[:, 0])
    meta, _, _, fields = pyogrio.raw.read(path, layer="claims", read_geometry=False)
    values = fields[list(meta["fields"]).index("value")]
    assert list(values) == [301.0]


def test_version_7_store_gains_the_claims_table(store: Store) -> None:
    with store.transaction() as conn:
        conn.exec_driver_sql("DROP TABLE claims")
        if store.dialect == "gpkg":
            conn.exec_driver_sql("DELETE FROM gpkg_contents WHERE table_name = 'claims'")
        conn.exec_driver_sql("UPDATE mineaction_meta SET value = '7' "
                             "WHERE key = 'schema_version'")
    location = store.location
    store.close()
    migrated = open_store(location)
    try:
        assert migrated.schema_version() == base.SCHEMA_VERSION >= 8
        with migrated.transaction() as conn:
            assert stored.add_claims(conn, read_claims(AZERBAIJAN)[:3], by=None).added == 3
        with migrated.engine.connect() as conn:
            assert "claims" in sa.inspect(conn).get_table_names()
            if migrated.dialect == "gpkg":
                assert conn.exec_driver_sql(
                    "SELECT data_type FROM gpkg_contents WHERE table_name = 'claims'"
                ).scalar() == "attributes"
    finally:
        migrated.close()
