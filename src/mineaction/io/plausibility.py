"""Flags for coordinates that are possible but implausible: outside the country the mapping
names, or outside the admin area the record itself names (when admin areas are in the
store). Flagged records are imported and listed for review (`mineaction flags`); the
message says what probably happened (a sign error, swapped latitude and longitude)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

from mineaction.geo.validation import plausibility_problems
from mineaction.io.transform import Mapped, Points
from mineaction.store.base import Store
from mineaction.store.schema import entity_table

# Admin-area outlines are usually simplified; about 2 km of slack keeps a village on the
# border from being flagged.
ADMIN_SLACK_DEGREES = 0.02


@dataclass
class ExpectedPlaces:
    store: Store
    country: Any = None  # prepared outline, or None
    _admin: dict[str, Any] = field(default_factory=dict)  # pcode -> (name, outline) | None

    def _admin_outlines(self, pcodes: set[str]) -> None:
        wanted = [p for p in pcodes if p not in self._admin]
        if not wanted:
            return
        table = entity_table("admin_area")
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.pcode, table.c.name, table.c.geometry)
                .where(table.c.pcode.in_(wanted), table.c.deleted_at.is_(None))
            ).all()
        found: dict[str, tuple[str, Any]] = {}
        for row in rows:
            if isinstance(row.geometry, shapely.Geometry):  # None: the area has no outline
                outline = row.geometry.buffer(ADMIN_SLACK_DEGREES)
                shapely.prepare(outline)
                found[row.pcode] = (row.name, outline)
        for p in wanted:
            self._admin[p] = found.get(p)

    def flags(self, mapped: Mapped, ok: np.ndarray, ids: list[str]) -> list[tuple[int, str, str]]:
        value = mapped.values.get("geometry")
        if value is None:
            return []
        lon, lat = _coordinates(value, ok)
        present = ~np.isnan(lon)
        rows = mapped.rows[ok]
        flags: list[tuple[int, str, str]] = []
        in_country = present.copy()
        if self.country is not None:
            in_country[present] = shapely.contains_xy(self.country, lon[present], lat[present])
            for i in np.nonzero(present & ~in_country)[0]:
                problems = plausibility_problems(float(lon[i]), float(lat[i]), area=self.country)
                flags.append((int(rows[i]), ids[i], "; ".join(problems) or "outside the country"))
        codes = mapped.values.get("admin_area_pcode")
        if codes is None or not hasattr(codes, "to_numpy"):
            return flags
        codes = codes[ok].to_numpy(dtype=object, na_value=None)
        check = in_country & np.array([c is not None for c in codes], bool)
        self._admin_outlines({c for c in codes[check]})
        for pcode in {c for c in codes[check]}:
            known = self._admin.get(pcode)
            if known is None:
                continue
            name, outline = known
            idx = np.nonzero(check & (codes == pcode))[0]
            inside = shapely.contains_xy(outline, lon[idx], lat[idx])
            for i in idx[~inside]:
                problems = plausibility_problems(float(lon[i]), float(lat[i]), area=outline)
                detail = "; ".join(p for p in problems if "outside the expected" not in p)
                flags.append((int(rows[i]), ids[i],
                               f"({lon[i]:.6f}, {lat[i]:.6f}) is outside its admin area "
                               f"{pcode} ({name})" + (f"; {detail}" if detail else "")))
        return flags


def _coordinates(value: Any, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points' coordinates, or a point inside each area, NaN where there is no geometry."""
    if isinstance(value, Points):
        return value.lon[ok], value.lat[ok]
    centres = [None if g is None else g.representative_point() for g in value[ok]]
    lon = np.array([np.nan if c is None else c.x for c in centres], float)
    lat = np.array([np.nan if c is None else c.y for c in centres], float)
    return lon, lat



