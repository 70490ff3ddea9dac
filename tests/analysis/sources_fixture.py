# SPDX-License-Identifier: GPL-3.0-or-later
"""Three overlapping sources of victims, linked (issue 17): the store the by-source tests
(analysis, API, annual report) read, with the truth beside it. Loaded by path.

Each person is listed by the police, the hospital and the press with chances 0.7, 0.5 and
0.4, independently (what multiple systems estimation assumes), so some are listed by no
source. The records of one person are joined by confirmed links and canonical_members is
rebuilt from them (store/links.py), as the reconciliation service leaves it."""

from __future__ import annotations

from datetime import date

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
