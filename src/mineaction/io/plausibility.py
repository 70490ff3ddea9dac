"""Flags for coordinates that are possible but implausible: outside the country the mapping
names, or outside the admin area the record itself names (when admin areas are in the
store), unless inside the record's own admin area, whose outline is finer than the
country's; and admin-area codes that no admin area in the store has. Flagged records are
imported and listed for review (`mineaction flags`); the message says what probably
happened (a sign error, swapped latitude and longitude)."""

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
    _pcodes: dict[str, bool] = field(default_factory=dict)  # pcode -> in the store
    _any_admin: bool | None = None

    def _admin_outlines(self, pcodes: set[str]) -> None:
        wanted = [p for p in pcodes if p not in self._admin]
        if not wanted:
            return
        table = entity_table("admin_area")
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.pcode, table.c.name, table.c.geometry)
                .where(table.c.pcode.in_(wanted))
            ).all()
        found: dict[str, tuple[str, Any]] = {}
        for row in rows:
            if isinstance(row.geometry, shapely.Geometry):  # None: the area has no outline
                outline = row.geometry.buffer(ADMIN_SLACK_DEGREES)
                shapely.prepare(outline)
                found[row.pcode] = (row.name, outline)
        for p in wanted:
            self._admin[p] = found.get(p)

    def _has_admin_areas(self) -> bool:
        if self._any_admin is None:
            table = entity_table("admin_area")
            with self.store.engine.connect() as conn:
                self._any_admin = conn.execute(
                    sa.select(table.c.id).limit(1)
                ).first() is not None
        return self._any_admin

    def _known_pcodes(self, pcodes: set[str]) -> None:
        wanted = [p for p in pcodes if p not in self._pcodes]
        if not wanted:
            return
        table = entity_table("admin_area")
        with self.store.engine.connect() as conn:
            found: set[str] = set(conn.execute(
                sa.select(table.c.pcode)
                .where(table.c.pcode.in_(wanted))
            ).scalars())
        for p in wanted:
            self._pcodes[p] = p in found

    def flags(self, mapped: Mapped, ok: np.ndarray, ids: list[str]
              ) -> list[tuple[int, str, str, str]]:
        """(row, record id, field, message) for each implausible location or admin area."""
        rows = mapped.rows[ok]
        flags: list[tuple[int, str, str, str]] = []
        codes_value = mapped.values.get("admin_area_pcode")
        codes = (codes_value[ok].to_numpy(dtype=object, na_value=None)
                 if codes_value is not None and hasattr(codes_value, "to_numpy")
                 else np.full(len(rows), None, dtype=object))
        given = np.array([c is not None for c in codes], bool)
        if given.any() and self._has_admin_areas():
            self._known_pcodes({c for c in codes[given]})
            for i in np.nonzero(given)[0]:
                if not self._pcodes[codes[i]]:
                    flags.append((int(rows[i]), ids[i], "admin_area_pcode",
                                  f"admin area {codes[i]} is not in the store: no admin area "
                                  "has that code"))
        value = mapped.values.get("geometry")
        if value is None:
            return flags
        lon, lat = _coordinates(value, ok)
        present = ~np.isnan(lon)
        check = present & given
        self._admin_outlines({c for c in codes[check]})
        # Inside its own admin area (None: that area's outline is not known).
        in_admin = np.full(len(rows), None, dtype=object)
        for pcode in sorted({c for c in codes[check]}):
            known = self._admin.get(pcode)
            if known is None:
                continue
            idx = np.nonzero(check & (codes == pcode))[0]
            in_admin[idx] = shapely.contains_xy(known[1], lon[idx], lat[idx])
        in_country = present.copy()
        if self.country is not None:
            in_country[present] = shapely.contains_xy(self.country, lon[present], lat[present])
            # A point inside its own admin area's (finer) outline is where it says it is,
            # whatever the coarser country outline says (islands, coasts).
            for i in np.nonzero(present & ~in_country)[0]:
                if in_admin[i] is True or in_admin[i] is np.True_:
                    continue
                problems = plausibility_problems(float(lon[i]), float(lat[i]), area=self.country)
                flags.append((int(rows[i]), ids[i], "geometry",
                              "; ".join(problems) or "outside the country"))
        for i in np.nonzero(in_country)[0]:
            if in_admin[i] is None or bool(in_admin[i]):
                continue
            pcode = codes[i]
            name, outline = self._admin[pcode]
            problems = plausibility_problems(float(lon[i]), float(lat[i]), area=outline)
            detail = "; ".join(p for p in problems if "outside the expected" not in p)
            flags.append((int(rows[i]), ids[i], "geometry",
                          f"({lon[i]:.6f}, {lat[i]:.6f}) is outside its admin area "
                          f"{pcode} ({name})" + (f"; {detail}" if detail else "")))
        return sorted(flags)


def _coordinates(value: Any, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points' coordinates, or a point inside each area, NaN where there is no geometry."""
    if isinstance(value, Points):
        return value.lon[ok], value.lat[ok]
    centres = [None if g is None else g.representative_point() for g in value[ok]]
    lon = np.array([np.nan if c is None else c.x for c in centres], float)
    lat = np.array([np.nan if c is None else c.y for c in centres], float)
    return lon, lat



