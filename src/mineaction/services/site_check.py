# SPDX-License-Identifier: GPL-3.0-or-later
"""Site checks (issue 20): "what does the record say about this place?" for a point, a
line or an area, one at a time or in a batch, for anyone the server lets in.

Every record read goes through the asker's access (access/visibility.py, through the
records service): the public reads approved records only, never minefield records (it sees
the hazards they document), and accidents only where it sees them, generalised: its
distances are measured from the generalised points, and the records reached are widened
by the generalisation first so that what it is told does not hinge on the exact place. An
accident several sources report counts once (its representative, store/links.py).
"""

from __future__ import annotations

import contextvars
import itertools
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mineaction.access.roles import Policy, Principal
from mineaction.access.visibility import Access
from mineaction.analysis import site_check as sc
from mineaction.reports.i18n import SOURCE_LANGUAGE, available_languages
from mineaction.reports.site_wording import caveat, wording
from mineaction.services.errors import FieldError, Invalid
from mineaction.services.records import Records
from mineaction.store.base import Store
from mineaction.store.query import Query

MAX_BUFFER_M = 50_000.0
MAX_SITE_KM2 = 2_500.0  # a district; larger areas are a map, not a site
# The most a square degree of the ellipsoid holds, (a / sqrt(1 - e2) * pi / 180)^2, km²: an
# area whose box of degrees holds less than half the limit by it is within the limit
# without measuring it (a plot check measured each site's area: issue 20); half, for the
# bulge of a geodesic edge beyond its box.
_KM2_PER_SQUARE_DEGREE = 12_476.0
# A quick check (`SiteChecks.is_quick`): a site within this many degrees each way, of at
# most this many positions, with hazards, accidents and finds sought within this many
# metres (the defaults are 500 and 2,000). On a million hazards such a check is 2-5 ms of
# CPU (issue 20's bench); one over these bounds may read far more.
QUICK_SPAN_DEG = 0.02
QUICK_POSITIONS = 64
QUICK_REACH_M = 2_000.0
SITE_TYPES = ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(message, field_errors=[FieldError(field=field, message=message)])


def checked_site(geometry: Any) -> Any:
    """The site as a valid shapely geometry in lon/lat, or Invalid saying what is wrong."""
    import shapely
    from shapely.geometry import shape

    if isinstance(geometry, dict):
        try:
            geometry = shape(geometry)
        except (KeyError, TypeError, ValueError, AttributeError,
                shapely.errors.GeometryTypeError) as exc:
            raise _invalid("geometry", f"not a GeoJSON geometry: {exc}") from exc
    if geometry is None or geometry.is_empty:
        raise _invalid("geometry", "the site has no geometry")
    if geometry.geom_type not in SITE_TYPES:
        raise _invalid("geometry", f"a site is a point, a line or an area, not a "
                       f"{geometry.geom_type}")
    minx, miny, maxx, maxy = geometry.bounds
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)) or \
            minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise _invalid("geometry", "coordinates must be longitude (-180..180) and latitude "
                       "(-90..90), in that order")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if geometry.geom_type in ("Polygon", "MultiPolygon") and \
            (maxx - minx) * (maxy - miny) * _KM2_PER_SQUARE_DEGREE > MAX_SITE_KM2 / 2:
        from mineaction.geo.geodesic import geodesic_area_m2

        if geodesic_area_m2(geometry) > MAX_SITE_KM2 * 1e6:
            raise _invalid("geometry", f"the site is larger than {MAX_SITE_KM2:,.0f} km²; "
                           "check a smaller area, or use the map")
    return geometry


def _spans_within(coordinates: Any, span_deg: float, most: int) -> bool:
    """Whether GeoJSON `coordinates` (of any geometry type but a collection) hold 1 to
    `most` positions within `span_deg` each way. Anything malformed is not: the check
    itself will say what is wrong with it."""
    lons: list[float] = []
    lats: list[float] = []
    pending = [coordinates]
    while pending:
        part = pending.pop()
        if not isinstance(part, list) or not part:
            return False
        if isinstance(part[0], int | float):  # a position
            if len(part) < 2 or len(lons) == most \
                    or not isinstance(part[1], int | float):
                return False
            lons.append(part[0])
            lats.append(part[1])
        else:
            pending.extend(part)
    return bool(lons) and max(lons) - min(lons) <= span_deg \
        and max(lats) - min(lats) <= span_deg


def _distance(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0 or value > MAX_BUFFER_M:
        raise _invalid(name, f"{name} must be between 0 and {MAX_BUFFER_M:,.0f} metres")
    return float(value)


class SiteChecks:
    def __init__(self, store: Store, policy: Policy | None = None, public_decimals: int = 1,
                 records: Records | None = None,
                 risk_at: Callable[[Access, Any], dict[str, Any] | None] | None = None
                 ) -> None:
        self.store = store
        self.records = records or Records(store, policy or Policy(), public_decimals)
        # The risk layer's score at a point, when the server has one (services/risk_layer).
        self.risk_at = risk_at

    def is_quick(self, geometry: Any, buffer_m: float, nearby_m: float) -> bool:
        """Whether checking this site is sure to be quick: a small site at the usual
        reach. The API runs such a check on its event loop, as it runs the other quick
        reads (api/routers/records.py `_read`), which costs less than handing it to a
        thread and back: a tenth of a plot check's CPU under 50 clients on a GeoPackage;
        on PostGIS, where the check's reads go to the database in one round trip on the
        worker's held connection (store/held.py), 2.1 against 2.8 ms of the server's CPU
        a point check and 1.3-1.4x the checks a second (issue 20's bench). Any other
        check goes to a thread, so that a long one never holds up the worker's other
        requests."""
        if not isinstance(geometry, dict):
            return False
        if not (0 <= buffer_m <= QUICK_REACH_M and 0 <= nearby_m <= QUICK_REACH_M):
            return False
        return _spans_within(geometry.get("coordinates"), QUICK_SPAN_DEG, QUICK_POSITIONS)

    def check(self, principal: Principal, geometry: Any, *, buffer_m: float = 500.0,
              nearby_m: float = 2000.0, lang: str = "en") -> sc.SiteReport:
        """The findings for one site as `principal` may know them, worded in `lang`."""
        # the source language is always there: no look for catalogues on disk for it
        if lang != SOURCE_LANGUAGE and lang not in available_languages():
            raise _invalid("lang", f"no wording in {lang!r}; one of "
                           f"{', '.join(available_languages())}")
        site = checked_site(geometry)
        buffer_m = _distance("buffer_m", buffer_m)
        nearby_m = _distance("nearby_m", nearby_m)
        access = self.records.access(principal)
        reach = dict(_reads(buffer_m, nearby_m))
        boxes = _boxes(access, site, reach)
        # its six to eight reads on one connection (store/reading.py says why), those of
        # the kinds around the site together where the store sends them so
        # (`_read_around`), unless a batch read them already
        with self.store.one_connection():
            around = None
            if self.store.reads_go_together and _PREFETCHED.get() is None:
                around = _PREFETCHED.set(self._read_around(access, boxes))

            def near(kind: str) -> list[dict[str, Any]]:
                return self._near(access, kind, site, reach[kind], boxes.get(kind))
            try:
                hazards = near("hazard")
                minefield_records = near("minefield_record")
                released = self._released(access, near("released_part"))
                accidents = near("accident")
                finds = near("find")
            finally:
                if around is not None:
                    _PREFETCHED.reset(around)
        report = sc.measure(site, buffer_m=buffer_m, nearby_m=nearby_m, hazards=hazards,
                            minefield_records=minefield_records, released=released,
                            accidents=accidents, finds=finds)
        report.generalised = {kind: access.public_decimals for kind in ("accident", "find")
                              if access.may_list(kind) and access.generalised(kind)}
        if self.risk_at is not None:
            report.risk = self.risk_at(access, site.representative_point())
        report.findings = wording(report, lang)
        report.caveat = caveat(lang)
        return report

    def batch(self, principal: Principal, sites: Iterable[tuple[str, Any]], *,
              buffer_m: float = 500.0, nearby_m: float = 2000.0, lang: str = "en",
              progress: Callable[[int], None] | None = None, processes: int = 1
              ) -> Iterator[tuple[str, sc.SiteReport | Invalid]]:
        """(site id, report) for each site, in order; a bad site gives its Invalid, not an
        abort. With `processes` > 1 the checks run in that many worker processes (forked,
        each reading the store through its own connections), a chunk of sites at a time:
        a check is Python work, one core's worth per process."""
        sites = iter(sites)
        # as many chunks as workers asked, to know whether the sites fill more than one
        # (a chunk alone held so, workers were never started, issue 20)
        head = list(itertools.islice(sites, BATCH_CHUNK * max(1, processes)))

        def chunks() -> Iterator[list[tuple[str, Any]]]:
            for start in range(0, len(head), BATCH_CHUNK):
                yield head[start:start + BATCH_CHUNK]
            while chunk := list(itertools.islice(sites, BATCH_CHUNK)):
                yield chunk

        if batch_workers(processes, len(head)) <= 1:
            # one chunk or fewer: starting workers costs more than it saves
            n = 0
            for chunk in chunks():
                for (site_id, _), out in zip(chunk, self._check_chunk(
                        principal, chunk, buffer_m, nearby_m, lang), strict=True):
                    n += 1
                    yield site_id, out
                    if progress is not None:
                        progress(n)
            return
        import multiprocessing

        # fork: the workers start from this SiteChecks as it is (its policy, its risk
        # layer), without pickling it; each drops the connections it inherited.
        context = multiprocessing.get_context("fork")
        n = 0
        with context.Pool(processes, initializer=_worker_start,
                          initargs=(self, principal, buffer_m, nearby_m, lang)) as pool:
            for done in pool.imap(_worker_chunk, chunks()):
                for site_id, out in done:
                    n += 1
                    yield site_id, (out if isinstance(out, sc.SiteReport)
                                    else _invalid_from(out))
                    if progress is not None:
                        progress(n)

    def _check_chunk(self, principal: Principal, chunk: list[tuple[str, Any]],
                     buffer_m: float, nearby_m: float, lang: str
                     ) -> list[sc.SiteReport | Invalid]:
        """`_checked_or_invalid` of each site of a chunk, on one connection, the chunk's
        reads of each kind made together first (`_prefetch`): the same rows each check
        would read, in a statement a kind rather than one a kind and a site (issue 20)."""
        with self.store.one_connection():
            try:
                prefetched = self._prefetch(self.records.access(principal),
                                            [g for _, g in chunk], buffer_m, nearby_m)
            except Invalid:  # bad distances: each check says so
                prefetched = {}
            token = _PREFETCHED.set(prefetched)
            try:
                return [self._checked_or_invalid(principal, geometry, buffer_m, nearby_m,
                                                 lang) for _, geometry in chunk]
            finally:
                _PREFETCHED.reset(token)

    def _prefetch(self, access: Access, geometries: list[Any], buffer_m: float,
                  nearby_m: float) -> dict[Any, Any]:
        """The rows `_near` reads for each of the sites (the invalid ones left to their
        check), by kind and box, each kind's boxes read in one `read_dicts_in_boxes`."""
        sites = []
        for geometry in geometries:
            try:
                sites.append(checked_site(geometry))
            except Invalid:
                pass
        reads = _reads(_distance("buffer_m", buffer_m), _distance("nearby_m", nearby_m))
        out: dict[Any, Any] = {}
        for kind, distance_m in reads:
            if not access.may_list(kind) or not sites:
                continue
            # each box once, with how many of the chunk's checks will ask for it
            uses = Counter(_read_box(access, kind, site, distance_m) for site in sites)
            boxes = list(uses)
            found = self.store.read_dicts_in_boxes(_near_query(access, kind, None),
                                                   boxes, _columns(kind))
            out.update(((kind, box), [rows, uses[box]])
                       for box, rows in zip(boxes, found, strict=True))
        return out

    def _read_around(self, access: Access, boxes: dict[str, Any]) -> dict[Any, Any]:
        """`_prefetch`'s entries for one site: the rows `_near` reads for each kind the
        asker may list (`boxes`: each such kind's `_read_box`), in one
        `read_dicts_together`. They do not depend on each other, and the PostGIS store
        sends them in one round trip rather than one a kind (issue 20: a check's reads
        cost the server and the database a third less)."""
        found = self.store.read_dicts_together(
            [(_near_query(access, kind, box), _columns(kind)) for kind, box in boxes.items()])
        return {key: [rows, 1] for key, rows in zip(boxes.items(), found, strict=True)}

    def _checked_or_invalid(self, principal: Principal, geometry: Any, buffer_m: float,
                            nearby_m: float, lang: str) -> sc.SiteReport | Invalid:
        try:
            return self.check(principal, geometry, buffer_m=buffer_m, nearby_m=nearby_m,
                              lang=lang)
        except Invalid as exc:
            return exc

    # -- reading, as the asker may --------------------------------------------------------
    def _near(self, access: Access, kind: str, site: Any, distance_m: float,
              box: tuple[float, float, float, float] | None) -> list[dict[str, Any]]:
        """The rows of `kind` the asker sees within `distance_m` of the site (widened by
        the generalisation for kinds the asker sees generalised), with their distance.
        `box` is the kind's `_read_box` for the site (the check works it out once).

        The store is asked for the candidates in the box a near-query reads (the
        GeoPackage store's `_near_condition`), and their exact distances are measured
        here, once, all together (`sc.gaps_m`): a near-query would measure each row, and
        then `sc.measure` again. The same measure decides as the GeoPackage store's
        near-queries; PostGIS's ST_DWithin on geography agrees with it to millimetres."""
        if not access.may_list(kind):
            return []
        generalised = access.generalised(kind)
        reach = _reach(access, kind, site, distance_m)
        assert box is not None, f"{kind}: the box it is read in (`_read_box`)"
        prefetched = _PREFETCHED.get()
        entry = None if prefetched is None else prefetched.get((kind, box))
        if prefetched is None or entry is None:
            rows = self.store.read_dicts(_near_query(access, kind, box), _columns(kind))
        elif entry[1] > 1:
            # sites of a chunk may share a box (the public's rounding cells): a check
            # before the last gets its own copy of the rows, as `_near` changes them
            entry[1] -= 1
            rows = [dict(r) for r in entry[0]]
        else:
            rows = prefetched.pop((kind, box))[0]  # the last check takes them
        if not rows:
            return rows
        import numpy as np
        import shapely

        # Those with a geometry, tested all at once (a public check reads a few hundred
        # accidents: a property call a row was a tenth of its CPU, issue 20).
        geoms = np.empty(len(rows), dtype=object)
        geoms[:] = [r["geometry"] for r in rows]
        placed = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        if not placed.all():
            rows = [r for r, keep in zip(rows, placed.tolist(), strict=True) if keep]
            geoms = geoms[placed]
        # only the hidden fields a row holds (the columns read are the same for every row)
        hidden = [name for name in access.hidden(kind) if rows and name in rows[0]]
        if generalised:
            # The true distance only decides which rows are within reach: the distance
            # kept is measured from the generalised place (below).
            near = _within_reach(site, list(geoms), reach)
            kept = [r for r, ok in zip(rows, near, strict=True) if ok]
            originals = [g for g, ok in zip(geoms.tolist(), near, strict=True) if ok]
            for r in kept:
                for name in hidden:
                    r.pop(name, None)
            if not kept:
                return kept
            rows = _generalised(access, kind, kept)
            measured = [r for r in rows if r.get("geometry") is not None]
            for r, d in zip(measured, _gaps_of_places(site, [r["geometry"] for r in measured]),
                            strict=True):
                r[sc.DISTANCE] = d
            # a row presented without a place keeps its true distance, as it always did
            unplaced = [(r, g) for r, g in zip(rows, originals, strict=True)
                        if r.get("geometry") is None]
            for (r, _), d in zip(unplaced, sc.gaps_m(site, [g for _, g in unplaced]),
                                 strict=True):
                r[sc.DISTANCE] = d
            return rows
        kept = []
        for r, d in zip(rows, sc.gaps_m(site, list(geoms)), strict=True):
            if d <= reach:
                r[sc.DISTANCE] = d
                for name in hidden:
                    r.pop(name, None)
                kept.append(r)
        return kept

    def _released(self, access: Access, rows: list[dict[str, Any]]
                  ) -> list[dict[str, Any]]:
        """The released land `_near` found (`rows`), each with the name of the
        organisation whose activity released it."""
        activity_ids = tuple({str(r["activity_id"]) for r in rows if r.get("activity_id")})
        if not activity_ids:
            return rows
        activities = self.store.read_dicts(Query(kind="activity", ids=activity_ids,
                                                 limit=None, visible=access.rows("activity")),
                                           columns=("id", "organisation_id"))
        org_of = {str(a["id"]): a.get("organisation_id") for a in activities}
        org_ids = tuple({str(o) for o in org_of.values() if o})
        names: dict[str, str] = {}
        if org_ids:
            orgs = self.store.read_dicts(Query(kind="organisation", ids=org_ids, limit=None,
                                               visible=access.rows("organisation")),
                                         columns=("id", "name"))
            names = {str(o["id"]): str(o.get("name") or o["id"]) for o in orgs}
        for r in rows:
            org = org_of.get(str(r.get("activity_id")))
            r["organisation_name"] = names.get(str(org)) if org else None
        return rows



def _reads(buffer_m: float, nearby_m: float) -> tuple[tuple[str, float], ...]:
    """The kinds a check reads near the site, and how far from it: hazards and minefield
    records within the buffer, released land on the site, accidents and finds nearby."""
    return (("hazard", buffer_m), ("minefield_record", buffer_m), ("released_part", 0.0),
            ("accident", nearby_m), ("find", nearby_m))


def _boxes(access: Access, site: Any, reach: dict[str, float]
           ) -> dict[str, tuple[float, float, float, float]]:
    """The box each kind the asker may list is read in (`_read_box`), worked out once a
    check: it was a twentieth of a check's CPU when `_read_around` and `_near` each
    worked it out (issue 20)."""
    return {kind: _read_box(access, kind, site, distance_m)
            for kind, distance_m in reach.items() if access.may_list(kind)}


def _reach(access: Access, kind: str, site: Any, distance_m: float) -> float:
    """How far from the site `_near` reads `kind`: `distance_m`, widened by the
    generalisation for kinds the asker sees generalised."""
    return distance_m + (_generalisation_m(site, access.public_decimals)
                         if access.generalised(kind) else 0.0)


def _box(site: Any, reach: float) -> tuple[float, float, float, float]:
    """The box sure to hold everything within `reach` of the site, that a near-query
    reads (the GeoPackage store's `_near_condition`)."""
    from mineaction.geo.geodesic import degrees_buffer_for_distance

    minx, miny, maxx, maxy = site.bounds
    dlon, dlat = degrees_buffer_for_distance(max(abs(miny), abs(maxy)), reach)
    return (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


# Past this many grid points to test, a generalised kind is read in the box of its reach
# (`_read_box`): a site or a distance that large gains nothing from the cells.
_MAX_GRID_POINTS = 400


def _read_box(access: Access, kind: str, site: Any, distance_m: float
              ) -> tuple[float, float, float, float]:
    """The box `_near` reads `kind` in: the box of its reach (`_box`, `_reach`), or, for a
    kind the asker sees generalised, the smaller box around the rounding cells whose grid
    point (the place a row is shown at) lies in the site's box at `distance_m`, and that
    box itself (a row shown without a place is measured where it is). A row counts only if
    its shown place is within `distance_m`, so every row that can count is in a cell
    read. The reach's box (7.9 km wider at 1 decimal) read every accident within
    about 10 km, and a public check cost twice a viewer's (issue 20); most sites have no
    grid point within 2 km and now read only their own box. Rows read are kept or dropped
    as before, so the answer is the same."""
    reach = _reach(access, kind, site, distance_m)
    wide = _box(site, reach)
    if not access.generalised(kind):
        return wide
    decimals = access.public_decimals
    step = 10.0 ** -decimals
    # every point within distance_m of the site lies in this box (`_box`): the grid points
    # in it are the places a counted row can be shown at (a few more, at its corners, is
    # a cell read for nothing; no geodesic needed to choose them)
    near = _box(site, distance_m)
    i0, i1 = math.ceil(near[0] / step - 1e-9), math.floor(near[2] / step + 1e-9)
    j0, j1 = math.ceil(near[1] / step - 1e-9), math.floor(near[3] / step + 1e-9)
    if max(0, i1 - i0 + 1) * max(0, j1 - j0 + 1) > _MAX_GRID_POINTS:
        return wide
    half = step / 2 + 1e-9  # round(v, decimals) == g for every v within half a step of g
    boxes = [near]
    if i1 >= i0 and j1 >= j0:  # the cells of those grid points, as one box
        boxes.append((i0 * step - half, max(-90.0, j0 * step - half),
                      i1 * step + half, min(90.0, j1 * step + half)))
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes),
           max(b[2] for b in boxes), max(b[3] for b in boxes))
    area = (box[2] - box[0]) * (box[3] - box[1])
    return box if area < (wide[2] - wide[0]) * (wide[3] - wide[1]) else wide


def _near_query(access: Access, kind: str, box: tuple[float, float, float, float] | None
                ) -> Query:
    """The rows of `kind` in the box the asker sees (its rule, access/visibility.py); with
    no box, for `read_dicts_in_boxes`. Accidents without those another record represents
    (an accident several sources report counts once), left out in the same statement
    rather than asked of after: on PostGIS a round trip fewer (issue 20)."""
    return Query(kind=kind, bbox=box, limit=None, visible=access.rows(kind),
                 unrepresented=kind == "accident")


def _columns(kind: str) -> tuple[str, ...]:
    return ("id", "geometry", *sc.FIELDS[kind])


# A batch's reads of a chunk of sites, made together before their checks (`_prefetch`):
# (kind, box) -> [the rows `_near` would read, how many checks will still ask for them].
# A check takes a copy of the rows while others will ask for them, the last one the rows
# (`_near` changes them).
_PREFETCHED: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "site_check_prefetched", default=None)


def risk_from(layer: Any) -> Callable[[Access, Any], dict[str, Any] | None]:
    """The site check's reading of the risk layer (services/risk_layer.py): the modelled
    probability of the cell holding a point, for those the layer's rule lets see it."""
    def at(access: Access, point: Any) -> dict[str, Any] | None:
        if not layer.available(access):
            return None
        from shapely.geometry import shape

        eps = 1e-7
        cells = layer.cells(access, (point.x - eps, point.y - eps, point.x + eps,
                                     point.y + eps))
        for f in cells.get("features", ()):
            if shape(f["geometry"]).covers(point) and not cells.get("aggregated"):
                model = layer.model(access)
                return {**f["properties"], "trained_until": model.get("trained_until"),
                        "horizon_years": model.get("horizon_years")}
        return None

    return at


BATCH_CHUNK = 200  # sites a batch worker checks per round trip to it
# A batch worker process's SiteChecks and the check's settings (`_worker_start`).
_worker: dict[str, Any] = {}


def batch_workers(processes: int, sites: int) -> int:
    """How many worker processes a batch of `sites` asked to use `processes` runs in: one
    (this process) for a chunk of sites or fewer, where starting workers costs more than
    it saves, and from a process that runs other threads. A fork copies the locks other
    threads hold (logging's, SQLite's, a server's, a progress bar's), never their release,
    and a worker that needs one waits for ever: a stop once hung CI that way."""
    if processes <= 1 or sites < BATCH_CHUNK or threading.active_count() > 1:
        return 1
    return min(processes, math.ceil(sites / BATCH_CHUNK))


def _worker_start(checks: SiteChecks, principal: Principal, buffer_m: float,
                  nearby_m: float, lang: str) -> None:
    from mineaction.store import open_store

    checks.store.engine.dispose(close=False)  # the parent's connections stay the parent's
    store = open_store(checks.store.location, initialise=False)
    records = Records(store, checks.records.policy, checks.records.public_decimals)
    _worker.update(checks=SiteChecks(store, records=records, risk_at=checks.risk_at),
                   principal=principal, buffer_m=buffer_m, nearby_m=nearby_m, lang=lang)


def _worker_chunk(chunk: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    w = _worker
    out: list[tuple[str, Any]] = []
    checked = w["checks"]._check_chunk(w["principal"], chunk, w["buffer_m"], w["nearby_m"],
                                       w["lang"])
    for (site_id, _), r in zip(chunk, checked, strict=True):
        # an Invalid goes back as its parts (an exception with keyword fields does not
        # pickle whole)
        out.append((site_id, r if isinstance(r, sc.SiteReport) else
                    (r.message, [(e.field, e.message) for e in r.field_errors])))
    return out


def _invalid_from(parts: tuple[str, list[tuple[str, str]]]) -> Invalid:
    message, errors = parts
    return Invalid(message, field_errors=[FieldError(field=f, message=m) for f, m in errors])


# Mean earth radius (IUGG): a great-circle distance on it is within 0.6% of the geodesic
# on WGS84 (the radii of curvature run from 6,335,439 to 6,399,594 m); `_within_reach`
# allows 1%.
_MEAN_RADIUS_M = 6_371_008.8
_SPHERE_SLACK = 0.01


def _within_reach(site: Any, geoms: list[Any], reach: float) -> list[bool]:
    """Whether `sc.gaps_m(site, g) <= reach` for each geometry (none empty), deciding by a
    great-circle distance where it is clear by more than the ellipsoid (and the site's
    size) could change it, and measuring exactly only the rest: the rows near the edge of
    the reach. A public check reads a few hundred accidents 7.9 km further out than it
    counts (the generalisation, `_generalisation_m`), only to keep or drop them; one exact
    geodesic a point (a vertex of an area site a point) was a fifth of its CPU (issue 20).

    From the site's centre c, within rho of every vertex of the site (exactly measured):
    gap(p) <= geo(p, c) + rho (the vertex nearest c's way), and gap(p) >= geo(p, c) - rho
    (a small area lies within the geodesic disc of radius rho around c); geo(p, c) is
    the great-circle distance within 1%. Each bound gets 1% and a metre more, for the
    edges gaps_m draws straight between vertices at most ~1 km apart."""
    import numpy as np
    import shapely

    from mineaction.geo import geodesic

    if not geoms:
        return []
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    if not bool((shapely.get_type_id(arr) == 0).all()):
        return [d <= reach for d in sc.gaps_m(site, geoms)]
    if site.geom_type == "Point":
        cx, cy, rho = float(site.x), float(site.y), 0.0
    else:
        c = site.centroid
        cx, cy = float(c.x), float(c.y)
        corners = shapely.get_coordinates(shapely.segmentize(site, geodesic._MAX_EDGE_DEG))
        _, _, to_corners = geodesic.WGS84.inv(np.full(len(corners), cx),
                                              np.full(len(corners), cy),
                                              corners[:, 0], corners[:, 1])
        rho = float(np.max(to_corners))
    x, y = np.radians(shapely.get_x(arr)), np.radians(shapely.get_y(arr))
    lon0, lat0 = np.radians(cx), np.radians(cy)
    h = 2 * _MEAN_RADIUS_M * np.arcsin(np.sqrt(np.clip(
        np.sin((y - lat0) / 2) ** 2
        + np.cos(lat0) * np.cos(y) * np.sin((x - lon0) / 2) ** 2, 0.0, 1.0)))
    slack = 1 + _SPHERE_SLACK
    surely_in = h * slack + rho * slack + 1.0 < reach
    surely_out = h / slack - rho * slack - 1.0 > reach
    out: list[bool] = surely_in.tolist()
    unsure = np.flatnonzero(~(surely_in | surely_out))
    if len(unsure):
        for i, d in zip(unsure.tolist(), sc.gaps_m(site, list(arr[unsure])), strict=True):
            out[i] = d <= reach
    return out


def _gaps_of_places(site: Any, geoms: list[Any]) -> list[float]:
    """`sc.gaps_m(site, geoms)`, each distinct point measured once: generalised places
    are a few grid points shared by hundreds of accidents, and measuring each from an
    area site is a geodesic a vertex of it (issue 20). The same value for the same point."""
    import numpy as np
    import shapely

    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    if not len(arr) or not bool((shapely.get_type_id(arr) == 0).all()):
        return sc.gaps_m(site, geoms)
    coords = shapely.get_coordinates(arr)
    if len(coords) != len(arr):  # an empty point among them: no coordinates
        return sc.gaps_m(site, geoms)
    # distinct places by a dict of their coordinates, in order of first sight: for the
    # tens to hundreds of rows of a check, a tenth of what np.unique(axis=0) cost
    place_of: dict[tuple[float, float], int] = {}
    at = [place_of.setdefault(xy, len(place_of)) for xy in map(tuple, coords.tolist())]
    if len(place_of) == len(arr):
        return sc.gaps_m(site, geoms)
    gaps = sc.gaps_m(site, list(shapely.points(np.array(list(place_of)))))
    return [gaps[i] for i in at]


def _generalisation_m(site: Any, decimals: int) -> float:
    """How far a generalised point may lie from the true one: half a rounding step in
    each axis, in metres at the site's latitude (a degree of latitude is at most 111.7 km;
    a degree of longitude at most that)."""
    half = 0.5 * 10.0 ** -decimals
    return math.hypot(half, half) * 111_700.0


def _generalised(access: Access, kind: str, rows: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The rows as `access` presents them (generalised places), geometry back as shapely.
    The kinds generalised are points: their GeoJSON is made from all the rows'
    coordinates at once rather than by shapely's `mapping` and `shape` a row (a public
    check reads a few hundred accidents, 7.9 km further out), any other geometry as
    before."""
    import numpy as np
    import shapely
    from shapely.geometry import mapping, shape

    if not rows:
        return rows
    geoms = np.array([r.get("geometry") for r in rows], dtype=object)
    kinds = shapely.get_type_id(geoms)  # -1 for None
    empty = shapely.is_empty(geoms)
    xs, ys = shapely.get_x(geoms), shapely.get_y(geoms)
    for r, g, k, e, x, y in zip(rows, geoms, kinds, empty, xs, ys, strict=True):
        if g is None or e:
            r["geometry"] = None
        elif k == 0:
            r["geometry"] = {"type": "Point", "coordinates": (float(x), float(y))}
        else:
            r["geometry"] = dict(mapping(g))
    access.present_rows(kind, rows)
    at = [i for i, r in enumerate(rows) if r.get("geometry")
          and r["geometry"].get("type") == "Point"]
    if at:
        coords = np.array([rows[i]["geometry"]["coordinates"][:2] for i in at], dtype=float)
        for i, point in zip(at, shapely.points(coords), strict=True):
            rows[i]["geometry"] = point
    for r in rows:
        g = r.get("geometry")
        if isinstance(g, dict):
            r["geometry"] = shape(g) if g else None
    return rows
