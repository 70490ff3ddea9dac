# SPDX-License-Identifier: GPL-3.0-or-later
"""Three overlapping sources of victims, linked (issue 17): the store the by-source tests
(analysis, API, annual report) read, with the truth beside it. Loaded by path.

Each person is listed by the police, the hospital and the press with chances 0.7, 0.5 and
0.4, independently (what multiple systems estimation assumes), so some are listed by no
source. The records of one person are joined by confirmed links and canonical_members is
rebuilt from them (store/links.py), as the reconciliation service leaves it.

`load_counts` writes another store: two list sources and a press that counts casualties
per accident and names no one (accidents with reported counts, no victims)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa

from mineaction.domain.models import Accident, Victim
from mineaction.store import Store, links

SOURCES = {"police": 0.7, "hospital": 0.5, "press": 0.4}
YEAR = 2006


def load(store: Store, persons: int = 150, seed: int = 17) -> dict[str, set[int]]:
    """Write the sources; returns source -> the persons it lists (the truth). One extra
    police record, a draft, is not approved; one pair has a rejected link (two people)."""
    rng = np.random.default_rng(seed)
    listed: dict[str, set[int]] = {s: set() for s in SOURCES}
    ids: dict[int, list[tuple[str, str]]] = {}
    accidents: dict[str, str] = {}
    for source in SOURCES:
        acc = store.add(Accident(dataset=source, external_id=f"{source}-a",
                                 status="approved", accident_date=date(YEAR, 6, 1),
                                 admin_area_pcode="05001"))
        accidents[source] = str(acc.id)
    for person in range(persons):
        for source, chance in SOURCES.items():
            if rng.random() < chance:
                listed[source].add(person)
                v = store.add(Victim(dataset=source, external_id=f"{source}-{person}",
                                     status="approved", accident_id=accidents[source],
                                     outcome="killed" if person % 3 else "injured"))
                ids.setdefault(person, []).append((source, str(v.id)))
    store.add(Victim(dataset="police", external_id="police-draft", status="submitted",
                     accident_id=accidents["police"], outcome="injured"))
    rows = []
    for records in ids.values():
        for (sa_, a), (sb, b) in zip(records, records[1:], strict=False):
            rows.append({"kind": "victim", "scope": "sources", "a_id": a, "b_id": b,
                         "a_dataset": sa_, "b_dataset": sb, "probability": 0.99,
                         "status": "confirmed"})
    # Two different people the model proposed as one, and a person rejected: no join.
    alone = [records[0] for records in ids.values() if len(records) == 1]
    (da, a), (db, b) = alone[0], alone[1]
    rows.append({"kind": "victim", "scope": "sources", "a_id": a, "b_id": b, "a_dataset": da,
                 "b_dataset": db, "probability": 0.6, "status": "rejected"})
    with store.engine.begin() as conn:
        links.add_links(conn, rows)
        links.rebuild(store, conn, "victim")
        assert conn.execute(sa.text("select count(*) from canonical_members")).scalar()
    return listed


# --------------------------------------------------- a source that only counts (issue 17)

COUNT_LISTS = {"centre": 0.7, "ngo": 0.5}
PRESS = 0.4


def load_counts(store: Store, accidents: int = 300, seed: int = 3, *, store_press: bool = True
          ) -> dict:
    """Accidents of known sizes over three years and 40 municipalities; the centre and the
    NGO list each casualty with their chances, the press counts each with its own, all
    independently (the model's assumptions); the press's dates are a few days off. The
    same person's records of the two lists are joined by confirmed links. The press's
    accidents are also returned (`press`), for a caller that imports them itself."""
    rng = np.random.default_rng(seed)
    truth: dict = {"total": 0, "press_killed": 0, "press_injured": 0, "press_accidents": 0,
                   "press": []}
    link_rows = []
    for a in range(accidents):
        when = date(2004, 1, 1) + timedelta(days=int(rng.integers(0, 3 * 365)))
        pcode = f"05{int(rng.integers(0, 40)):03d}"
        size = 1 + int(rng.poisson(0.8))
        truth["total"] += size
        outcomes = ["killed" if rng.random() < 0.4 else "injured" for _ in range(size)]
        listed: dict[int, list[tuple[str, str]]] = {}
        for source, chance in COUNT_LISTS.items():
            persons = [p for p in range(size) if rng.random() < chance]
            if not persons:
                continue
            acc = store.add(Accident(dataset=source, external_id=f"{source}-{a}",
                                     status="approved", accident_date=when,
                                     admin_area_pcode=pcode, accident_kind="mine"))
            for p in persons:
                v = store.add(Victim(dataset=source, external_id=f"{source}-{a}-{p}",
                                     status="approved",
                                     accident_id=acc.id, outcome=outcomes[p]))
                listed.setdefault(p, []).append((source, str(v.id)))
        counted = [outcomes[p] for p in range(size) if rng.random() < PRESS]
        if counted:
            killed, injured = counted.count("killed"), counted.count("injured")
            said = when + timedelta(days=int(rng.integers(-3, 4)))
            truth["press"].append((said, pcode, killed, injured))
            if store_press:
                store.add(Accident(dataset="press", external_id=f"press-{a}",
                                   status="approved", accident_date=said,
                                   admin_area_pcode=pcode, accident_kind="mine",
                                   reported_killed=killed, reported_injured=injured))
            truth["press_killed"] += killed
            truth["press_injured"] += injured
            truth["press_accidents"] += 1
        for records in listed.values():
            if len(records) == 2:
                (da, ia), (db, ib) = records
                link_rows.append({"kind": "victim", "scope": "sources", "a_id": ia,
                                  "b_id": ib, "a_dataset": da, "b_dataset": db,
                                  "probability": 0.99, "status": "confirmed"})
    with store.engine.begin() as conn:
        links.add_links(conn, link_rows)
        links.rebuild(store, conn, "victim")
    return truth
