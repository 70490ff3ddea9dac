"""Open data is what the public may see (access/): `mineaction publish` once listed the
title of every source, drafts included, in its datapackage."""

from __future__ import annotations

import json
from pathlib import Path

from shapely.geometry import Polygon

from mineaction.domain.models import Hazard, Source
from mineaction.reports.publish import publish
from mineaction.store import open_store


def test_publish_gives_only_what_the_public_sees(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "s.gpkg")) as store:
        store.add(Source(source_kind="media", title="Informe aprobado", status="approved"))
        store.add(Source(source_kind="community", title="Denuncia sin verificar",
                         status="draft"))
        square = Polygon([(-75, 6), (-75, 6.01), (-74.99, 6.01), (-74.99, 6)])
        store.add(Hazard(hazard_kind="SHA", name="Loma", status="approved",
                         geometry=square), by="editor")
        store.add(Hazard(hazard_kind="SHA", name="Borrador", status="draft",
                         geometry=square), by="editor")
        publish(store, tmp_path / "out")
    package = (tmp_path / "out" / "datapackage.json").read_text()
    assert "Informe aprobado" in package and "Denuncia sin verificar" not in package
    hazards = json.loads((tmp_path / "out" / "hazards.geojson").read_text())
    assert [f["properties"]["name"] for f in hazards["features"]] == ["Loma"]
    assert "created_by" not in hazards["features"][0]["properties"]
