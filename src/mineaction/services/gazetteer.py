# SPDX-License-Identifier: GPL-3.0-or-later
"""Place search (issue 21): one gazetteer over the store's admin areas and places, Natural
Earth's populated places (shipped in mineaction/data/), and the records the asker may
see, by name or by record code (HAZ-CO-05-000123, domain/codes.py), so that "the
accidents near Granada" starts by typing "gran" on the map.

Matching ignores case and accents ("bogota" finds "Bogotá") and ranks exact names before
prefixes, prefixes of a word before other substrings; then the store's own reference
data (admin areas by level, then places) before records and before Natural Earth's
places (by their rank), then shorter names.

Who sees what: admin areas and places are read with `Access.sql` (the public: approved
ones); records through `services/browse.browse` with the asker's `Access`, the same
search as the records list (fields the asker may not read are not searched, the public
finds approved records only, at their generalised place). Records are matched by SQL
(case aside, accents as typed); the reference data is small enough to be held and
matched in Python, cached per (who sees what, data version).
"""

from __future__ import annotations

import gzip
import json
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from shapely.geometry import shape

from mineaction.access.visibility import Access
from mineaction.domain.models import ENTITIES
from mineaction.domain.registry import REGISTRY
from mineaction.services.browse import Browse, browse
from mineaction.services.maps import data_version
from mineaction.store.base import Store
from mineaction.store.schema import entity_table

NATURAL_EARTH = Path(__file__).parents[1] / "data" / "ne10m_places.geojson.gz"
REFERENCE_KINDS = ("admin_area", "place")
# Records found by name or place: the kinds with a location and a name to search.
RECORD_KINDS = ("hazard", "accident", "find", "risk_education", "minefield_record")
# Sources in the order they rank among names that match equally well.
SOURCE_ORDER = {"admin_area": 0, "place": 1, "record": 2, "populated_place": 3}
MAX_LIMIT = 50
INVISIBLE = "\u200e\u200f\u202a\u202b\u202c\u200b"


def normalise(text: str) -> str:
    """Lower case, no accents, no invisible marks, single spaces: "Bogotá" → "bogota"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed
                   if not unicodedata.combining(c) and c not in INVISIBLE)
    return " ".join(bare.casefold().split())


def match_class(name: str, q: str) -> int | None:
    """0 exact, 1 prefix, 2 a word's prefix, 3 elsewhere, None no match (both normalised)."""
    if not q or q not in name:
        return None
    if name == q:
        return 0
    if name.startswith(q):
        return 1
    if any(word.startswith(q) for word in name.replace("-", " ").replace(",", " ").split()):
        return 2
    return 3


@dataclass(frozen=True)
class Place:
    """One search result: where to fly to (a point, and an extent for areas)."""

    name: str
    source: str  # admin_area, place, record, populated_place
    detail: str
    lon: float
    lat: float
    bbox: tuple[float, float, float, float] | None = None
    collection: str | None = None
    id: str | None = None
    rank: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "detail": self.detail,
                "lon": round(self.lon, 6), "lat": round(self.lat, 6),
                "bbox": [round(v, 6) for v in self.bbox] if self.bbox else None,
                "collection": self.collection, "id": self.id,
                "href": f"/records/{self.collection}/{self.id}" if self.id else None}


@dataclass(frozen=True)
class _Entry:
    key: str  # normalised name
    place: Place


def _from_geometry(geom: Any) -> tuple[float, float, tuple[float, float, float, float] | None]:
    """A geometry's point to fly to and its extent (None for a point)."""
    if geom.geom_type == "Point":
        return float(geom.x), float(geom.y), None
    centre = geom.representative_point()
    x0, y0, x1, y1 = (float(v) for v in shapely.bounds(geom))
    return float(centre.x), float(centre.y), (x0, y0, x1, y1)


class Gazetteer:
    """The server's place search; reference data cached per (who sees it, version)."""

    def __init__(self, store: Store, keep: int = 8) -> None:
        self.store = store
        self._reference: OrderedDict[tuple[Any, ...], list[_Entry]] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    @cached_property
    def natural_earth(self) -> list[_Entry]:
        if not NATURAL_EARTH.exists():
            return []
        data = json.loads(gzip.decompress(NATURAL_EARTH.read_bytes()))
        out = []
        for f in data["features"]:
            p = f["properties"]
            name = "".join(c for c in str(p.get("name") or "") if c not in INVISIBLE).strip()
            if not name:
                continue
            lon, lat = f["geometry"]["coordinates"][:2]
            out.append(_Entry(normalise(name), Place(
                name=name, source="populated_place", detail=str(p.get("adm0name") or ""),
                lon=float(lon), lat=float(lat), rank=int(p.get("scalerank") or 0) * 100
                + int(p.get("labelrank") or 0))))
        return out

    def search(self, access: Access, q: str, limit: int = 10) -> list[Place]:
        """The places matching `q` that the asker may see, best first (at most `limit`)."""
        # Control characters match no name; PostgreSQL refuses a NUL in a parameter.
        q = "".join(c for c in q if c.isprintable())
        key = normalise(q)
        limit = max(1, min(limit, MAX_LIMIT))
        if not key:
            return []
        scored: list[tuple[tuple[int, int, int, int], Place]] = []
        for entry in (*self._reference_entries(access), *self.natural_earth):
            cls = match_class(entry.key, key)
            if cls is not None:
                p = entry.place
                scored.append(((cls, SOURCE_ORDER[p.source], p.rank, len(entry.key)), p))
        for place in self._records(access, q, limit):
            cls = match_class(normalise(place.name), key)
            # Found by its id or another field the list searches: after the name matches.
            scored.append(((cls if cls is not None else 3, SOURCE_ORDER["record"], 0,
                            len(place.name)), place))
        scored.sort(key=lambda s: s[0])
        return [p for _, p in scored[:limit]]

    def _reference_entries(self, access: Access) -> list[_Entry]:
        out: list[_Entry] = []
        for kind in REFERENCE_KINDS:
            if not access.may_list(kind):
                continue
            cache_key = (access.cache_key(kind), data_version(self.store, (kind,)))
            with self._lock:
                found = self._reference.get(cache_key)
            if found is None:
                found = self._read_reference(access, kind)
                with self._lock:
                    self._reference[cache_key] = found
                    while len(self._reference) > self._keep:
                        self._reference.popitem(last=False)
            out.extend(found)
        return out

    def _read_reference(self, access: Access, kind: str) -> list[_Entry]:
        table = entity_table(ENTITIES[kind])
        cols = [table.c.id, table.c.name, table.c.geometry]
        extra = [c for c in ("level", "pcode", "admin_area_pcode") if c in table.c]
        stmt = (sa.select(*cols, *(table.c[c] for c in extra))
                .where(table.c.name.is_not(None), table.c.geometry.is_not(None),
                       *access.sql(table, kind)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        collection = REGISTRY[kind].collection
        out = []
        for r in rows:
            geom = r.geometry if hasattr(r.geometry, "geom_type") else shape(r.geometry)
            lon, lat, bbox = _from_geometry(geom)
            m = r._mapping
            if kind == "admin_area":
                detail, rank = f"admin area, level {m['level']} ({m['pcode']})", int(m["level"])
            else:
                detail, rank = "place" + (f" ({m['admin_area_pcode']})"
                                          if m.get("admin_area_pcode") else ""), 0
            out.append(_Entry(normalise(str(r.name)), Place(
                name=str(r.name), source=kind, detail=detail, lon=lon, lat=lat, bbox=bbox,
                collection=collection, id=str(r.id), rank=rank)))
        return out

    def _records(self, access: Access, q: str, limit: int) -> list[Place]:
        out: list[Place] = []
        for kind in RECORD_KINDS:
            if not access.may_list(kind):
                continue
            rows, _ = browse(self.store, access, Browse(kind=kind, q=q, limit=limit))
            collection = REGISTRY[kind].collection
            for r in rows:
                if not r.get("geometry"):
                    continue
                lon, lat, bbox = _from_geometry(shape(r["geometry"]))
                name = str(r.get("name") or r.get("place_name") or r.get("device_model")
                           or r.get("code") or r["id"])
                code = f"{r['code']} · " if r.get("code") and r["code"] != name else ""
                out.append(Place(name=name, source="record",
                                 detail=f"{code}{REGISTRY[kind].collection.replace('-', ' ')} "
                                 f"({r.get('status')})",
                                 lon=lon, lat=lat, bbox=bbox, collection=collection,
                                 id=str(r["id"])))
        return out
