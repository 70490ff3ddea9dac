# SPDX-License-Identifier: GPL-3.0-or-later
"""Sites to check (issue 20) from a file: a table of points (CSV or Excel with lon/lat, or
a WKT column) or any vector file GDAL reads (GeoJSON, KML, Shapefile, GeoPackage,
FlatGeobuf), each feature one site, in lon/lat (EPSG:4326; other CRSs are transformed).

A site's id is the file's `id`, `site_id` or `name` column when there is one, else its row
number. A row that cannot be a site is an error naming the file, the row and the field;
`sites(..., skip_invalid=True)` yields it as the error instead, for batch checks that go
on past a bad row.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mineaction.io.errors import FileError, ReadError

LON = ("lon", "longitude", "long", "x", "lng")
LAT = ("lat", "latitude", "y")
WKT = ("wkt", "geometry", "geom")
ID = ("id", "site_id", "name")
TABLES = (".csv", ".txt", ".tsv")


class SiteError(FileError):
    """One site of the file cannot be read: names the row and field."""

    def __init__(self, path: str | Path, row: int, field: str, problem: str) -> None:
        self.row = row
        self.field = field
        super().__init__(path, f"row {row}, field {field!r}: {problem}")


def _pick(names: list[str], wanted: tuple[str, ...]) -> str | None:
    lowered = {n.strip().lower(): n for n in names}
    return next((lowered[w] for w in wanted if w in lowered), None)


def _number(path: Path, row: int, field: str, text: str, low: float, high: float) -> float:
    try:
        value = float(str(text).strip().replace(",", "."))
    except ValueError:
        raise SiteError(path, row, field, f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise SiteError(path, row, field, f"{value:g} is outside {low:g}..{high:g}")
    return value


def _table_sites(path: Path) -> Iterator[tuple[str, Any] | SiteError]:
    import shapely
    from shapely.geometry import Point

    with path.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        names = list(reader.fieldnames or [])
        lon, lat, wkt, ident = (_pick(names, LON), _pick(names, LAT), _pick(names, WKT),
                                _pick(names, ID))
        if not wkt and not (lon and lat):
            raise ReadError(path, "no site columns: give lon and lat (or longitude and "
                            f"latitude), or a wkt column; the file has {', '.join(names)}")
        for n, rec in enumerate(reader, start=2):  # row 1 is the header
            site_id = str(rec.get(ident) or n) if ident else str(n)
            try:
                if wkt and rec.get(wkt):
                    try:
                        geom = shapely.from_wkt(rec[wkt])
                    except shapely.errors.GEOSException as exc:
                        raise SiteError(path, n, wkt, f"not WKT: {exc}") from None
                elif lon and lat:
                    geom = Point(_number(path, n, lon, rec.get(lon) or "", -180, 180),
                                 _number(path, n, lat, rec.get(lat) or "", -90, 90))
                else:
                    raise SiteError(path, n, wkt or "lon", "empty")
            except SiteError as exc:
                yield exc
                continue
            yield site_id, geom


def _vector_sites(path: Path) -> Iterator[tuple[str, Any] | SiteError]:
    import shapely
    from pyogrio.errors import DataSourceError
    from pyogrio.raw import read as read_raw

    try:
        meta, _fids, wkb, fields = read_raw(str(path))
    except (DataSourceError, OSError) as exc:
        raise ReadError(path, f"not a file GDAL reads: {exc}") from None
    geoms = shapely.from_wkb(wkb) if wkb is not None else []
    crs = meta.get("crs")
    if crs and crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
        from pyproj import Transformer

        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geoms = shapely.transform(geoms, lambda c: _xy(to_lonlat, c))
    names = list(meta["fields"])
    ident = _pick(names, ID)
    ids = fields[names.index(ident)] if ident else None
    for n, geom in enumerate(geoms, start=1):
        site_id = str(ids[n - 1]) if ids is not None and ids[n - 1] is not None else str(n)
        if geom is None or geom.is_empty:
            yield SiteError(path, n, "geometry", "the feature has no geometry")
            continue
        yield site_id, geom


def _xy(transformer: Any, coords: Any) -> Any:
    import numpy as np

    x, y = transformer.transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def sites(path: str | Path, *, skip_invalid: bool = False
          ) -> Iterator[tuple[str, Any] | SiteError]:
    """(site id, shapely geometry in lon/lat) per site of the file. A bad row raises its
    SiteError, or with `skip_invalid` is yielded as it."""
    path = Path(path)
    if not path.exists():
        raise ReadError(path, "no such file")
    read = _table_sites if path.suffix.lower() in TABLES else _vector_sites
    for item in read(path):
        if isinstance(item, SiteError) and not skip_invalid:
            raise item
        yield item


def one_site(path: str | Path) -> Any:
    """The one site of a file (a plot drawn in QGIS, a road as KML): several features are
    checked as one site, their union."""
    from shapely import unary_union

    geoms = [g for _, g in sites(path)]  # type: ignore[misc]
    if not geoms:
        raise ReadError(path, "the file holds no site")
    return geoms[0] if len(geoms) == 1 else unary_union(geoms)
