"""Store.table_marks (a kind's records, the sum of their versions, its largest fid): each
write to the kind moves it, a write to another kind does not, and its fast read (SQL
compiled once, on the driver's cursor) gives what SQLAlchemy's own statement gives, on
both stores. services/maps.py `data_version` keys the map's caches on it."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point

from mineaction.domain.models import Accident, Hazard
from mineaction.services import maps
from mineaction.store import Store


def _general(store: Store, kind: str) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        n, total, top = conn.execute(store._table_marks_statement(kind)).one()
    return int(n), int(total), int(top or 0)


def test_every_write_to_the_kind_moves_its_marks(store: Store) -> None:
    fast: list[bool] = []
    real = store._fetch_pooled

    def counted(sql: str, parameters: Any) -> Any:
        rows = real(sql, parameters)
        fast.append(rows is not None)
        return rows

    store._fetch_pooled = counted  # type: ignore[method-assign]
    assert store.table_marks("accident") == (0, 0, 0)
    a = store.add(Accident(geometry=Point(-75.1, 6.2)))
    added = store.table_marks("accident")
    b = store.add(Accident(geometry=Point(-75.2, 6.3)))
    two = store.table_marks("accident")
    assert added[0] == 1 and two[0] == 2 and two[2] > added[2]
    hazards = store.table_marks("hazard")
    store.add(Hazard(name="H", hazard_kind="SHA", geometry=Point(-75.0, 6.0).buffer(0.01)))
    assert store.table_marks("accident") == two  # another kind's write
    assert store.table_marks("hazard") != hazards
    a.narrative = "edited"
    store.update(a, expected_version=a.version)
    edited = store.table_marks("accident")
    assert edited[1] == two[1] + 1 and edited[0] == 2
    store.delete("accident", b.id)
    gone = store.table_marks("accident")
    assert gone[0] == 1 and gone != edited
    assert gone == _general(store, "accident")
    assert all(fast) and len(fast) >= 8  # every read took the fast path
    # data_version, what the caches are keyed on, moves with them.
    before = maps.data_version(store, ("accident", "hazard"))
    store.add(Accident(geometry=Point(-75.3, 6.4)))
    assert maps.data_version(store, ("accident", "hazard")) != before
