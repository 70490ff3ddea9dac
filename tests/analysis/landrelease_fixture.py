"""SYNTHETIC land-release data for tests: not real, made up with a fixed seed.

Colombia's public data has no land release (hazards, surveys, clearance, finds, risk
education), so statistics over it are tested on this small, seeded, clearly labelled set:
every record's dataset is "synthetic-landrelease" and every name says "(synthetic)".
Shapes: 24 hazards in two departments (05 Antioquia, 18 Caquetá, as boxes, not real
outlines), three organisations, non-technical survey / technical survey / clearance
activities releasing each hazard's strips as cancelled / reduced / cleared in 2018-2021,
finds on some clearance tasks, risk-education sessions.

`load_landrelease(store)` writes it and returns the records, so tests compute expected
figures independently from these objects rather than from our own SQL.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from shapely.geometry import box

from mineaction.domain.models import (
    Activity,
    AdminArea,
    Find,
    Hazard,
    Organisation,
    Record,
    ReleasedPart,
    RiskEducationSession,
)
from mineaction.store import Store

DATASET = "synthetic-landrelease"
SEED = 20200605
STATUS = "approved"

AREAS = [  # pcode, name, level, parent, (minx, miny, maxx, maxy)
    ("05", "Antioquia (synthetic box)", 1, None, (-77.0, 5.5, -74.5, 8.5)),
    ("05001", "Medellín (synthetic box)", 2, "05", (-75.7, 6.1, -75.5, 6.4)),
    ("05313", "Granada (synthetic box)", 2, "05", (-75.3, 6.0, -75.0, 6.3)),
    ("18", "Caquetá (synthetic box)", 1, None, (-76.0, 0.0, -72.0, 2.5)),
    ("18001", "Florencia (synthetic box)", 2, "18", (-75.8, 1.4, -75.4, 1.8)),
]
MUNICIPALITIES = ["05001", "05313", "18001"]


def _key(kind: str, n: int) -> dict[str, Any]:
    return {"dataset": DATASET, "external_id": f"{kind}-{n}", "status": STATUS}


def build() -> dict[str, list[Record]]:
    rng = np.random.default_rng(SEED)
    out: dict[str, list[Record]] = {k: [] for k in (
        "admin_area", "organisation", "hazard", "activity", "released_part", "find",
        "risk_education")}
    bounds = {}
    for i, (pcode, name, level, parent, bb) in enumerate(AREAS):
        bounds[pcode] = bb
        out["admin_area"].append(AdminArea(
            pcode=pcode, name=name, level=level, parent_pcode=parent, geometry=box(*bb),
            **_key("area", i)))
    orgs = [
        Organisation(name="Demining NGO (synthetic)", acronym="DNGO",
                     organisation_kind="ngo", **_key("org", 0)),
        Organisation(name="Humanitarian Demining Battalion (synthetic)", acronym="HDB",
                     organisation_kind="military_police", **_key("org", 1)),
        Organisation(name="Clearance Ltd (synthetic)", acronym="CLTD",
                     organisation_kind="commercial", **_key("org", 2)),
    ]
    out["organisation"] = list(orgs)
    n_part = n_find = n_act = 0
    for h in range(24):
        pcode = MUNICIPALITIES[h % 3]
        minx, miny, maxx, maxy = bounds[pcode]
        x = float(rng.uniform(minx + 0.02, maxx - 0.02))
        y = float(rng.uniform(miny + 0.02, maxy - 0.02))
        side = float(rng.uniform(0.001, 0.004))  # 110-440 m
        reported = date(2017 + h % 4, 1 + h % 12, 1 + h % 27)
        closed = h % 3 != 2  # two in three hazards are fully released
        org = orgs[h % 3]
        contamination = {"ap_mine"} if h % 4 else {"ap_mine", "uxo"}
        # Strips of the box: cancelled (west), reduced (middle), cleared (east).
        cuts = sorted(rng.uniform(0.1, 0.9, 2).tolist())
        xs = [x, x + side * cuts[0], x + side * cuts[1], x + side]
        year = min(reported.year + 1, 2021)
        hazard = Hazard(
            name=f"Hazard {h} (synthetic)", hazard_kind="CHA" if h % 2 else "SHA",
            hazard_status="closed" if closed else ("worked_on" if h % 2 else "open"),
            geometry=box(x, y, x + side, y + side), admin_area_pcode=pcode,
            organisation_id=org.id, contamination=contamination,
            blockages={"agriculture"}, beneficiaries=int(rng.integers(10, 500)),
            priority=1 + h % 5, date_reported=reported,
            date_closed=date(year, 11, 30) if closed else None, **_key("hazard", h))
        out["hazard"].append(hazard)
        steps = [("non_technical_survey", "cancelled", 0, 3), ("technical_survey", "reduced", 1, 6),
                 ("clearance", "cleared", 2, 9)]
        for kind, method, strip, month in steps:
            if not closed and method == "cleared":
                continue  # open hazards still wait for clearance
            released = date(year, month, 15)
            act = Activity(
                name=f"{kind} {h} (synthetic)", activity_kind=kind,
                activity_status="completed", hazard_id=hazard.id, organisation_id=org.id,
                start_date=date(year, month, 1), end_date=released,
                clearance_depth_cm=13 if kind == "clearance" else None, **_key("act", n_act))
            n_act += 1
            out["activity"].append(act)
            part = ReleasedPart(
                activity_id=act.id, method=method, release_date=released,
                geometry=box(xs[strip], y, xs[strip + 1], y + side), **_key("part", n_part))
            n_part += 1
            out["released_part"].append(part)
            if kind == "clearance" and h % 2 == 0:  # half the clearance tasks find nothing
                for _ in range(int(rng.integers(1, 4))):
                    category = "ap_mine" if rng.random() < 0.7 else "uxo"
                    out["find"].append(Find(
                        device_category=category,
                        device_model="PMN-2" if category == "ap_mine" else "mortar 60 mm",
                        quantity=int(rng.integers(1, 5)),
                        disposal="destroyed_in_situ" if rng.random() < 0.8 else "stored",
                        find_date=released, activity_id=act.id, hazard_id=hazard.id,
                        admin_area_pcode=pcode, **_key("find", n_find)))
                    n_find += 1
    for s in range(30):
        pcode = MUNICIPALITIES[s % 3]
        out["risk_education"].append(RiskEducationSession(
            session_date=date(2018 + s % 4, 1 + s % 12, 10), admin_area_pcode=pcode,
            organisation_id=orgs[s % 3].id, method="community session (synthetic)",
            girls=int(rng.integers(0, 30)), boys=int(rng.integers(0, 30)),
            women=int(rng.integers(0, 40)), men=int(rng.integers(0, 40)),
            unknown_audience=int(rng.integers(0, 5)), **_key("re", s)))
    return out


def load_landrelease(store: Store) -> dict[str, list[Record]]:
    records = build()
    for kind in ("admin_area", "organisation", "hazard", "activity", "released_part", "find",
                 "risk_education"):
        for record in records[kind]:
            store.add(record)
    return records
