"""Bulk-load an empty SQLite R*Tree by writing its shadow tables directly (STR packing).

Inserting into an R*Tree one row at a time costs about 20 us a row here (node splits and
reinsertion), so half a million accidents spend ten seconds on their spatial index. GDAL's
GeoPackage driver builds large R-trees the same way as this module: sort-tile-recursive
packing, then write the %_node, %_parent and %_rowid tables SQLite keeps for the index.

Layout (sqlite/ext/rtree/rtree.c): a node is a blob of the index's node size; bytes 0-1 hold
the tree depth (root only), bytes 2-3 the number of cells, then cells of an 8-byte row id or
child node number and four 4-byte float coordinates (min x, max x, min y, max y), all
big-endian. Node 1 is the root. Coordinates are rounded outwards to float32, as SQLite does,
so that no box shrinks. tests/store/test_rtree_bulk.py checks the result with SQLite's own
rtreecheck() and against trigger-built indexes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

CELL_BYTES = 24  # 8-byte id + 4 x float32, for a 2-D rtree


def _outward(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo32, hi32 = lo.astype(np.float32), hi.astype(np.float32)
    down = lo32.astype(np.float64) > lo
    lo32[down] = np.nextafter(lo32[down], np.float32(-np.inf))
    up = hi32.astype(np.float64) < hi
    hi32[up] = np.nextafter(hi32[up], np.float32(np.inf))
    return lo32, hi32


def _str_order(minx: np.ndarray, maxx: np.ndarray, miny: np.ndarray, maxy: np.ndarray,
               per_node: int) -> np.ndarray:
    """Sort-tile-recursive order: vertical slices by x centre, each sorted by y centre."""
    n = len(minx)
    leaves = math.ceil(n / per_node)
    slices = max(1, math.ceil(math.sqrt(leaves)))
    per_slice = slices * per_node
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    by_x = np.argsort(cx, kind="stable")
    order = np.empty(n, dtype=np.int64)
    for start in range(0, n, per_slice):
        part = by_x[start : start + per_slice]
        order[start : start + len(part)] = part[np.argsort(cy[part], kind="stable")]
    return order


def _node_blob(node_size: int, depth: int, ids: np.ndarray, boxes: np.ndarray) -> bytes:
    cells = np.zeros(len(ids), dtype=[("id", ">i8"), ("box", ">f4", (4,))])
    cells["id"] = ids
    cells["box"] = boxes
    header = int(depth).to_bytes(2, "big") + len(ids).to_bytes(2, "big")
    body = header + cells.tobytes()
    return body + bytes(node_size - len(body))


def bulk_load(conn: Any, rtree: str, fids: np.ndarray, minx: np.ndarray, maxx: np.ndarray,
              miny: np.ndarray, maxy: np.ndarray) -> None:
    """Fill the EMPTY R*Tree `rtree` with (fid, box) entries. `conn` is an SQLAlchemy
    connection inside the caller's transaction."""
    if not len(fids):
        return
    node_size = conn.exec_driver_sql(
        f'SELECT length(data) FROM "{rtree}_node" WHERE nodeno = 1'
    ).scalar()
    per_node = (int(node_size) - 4) // CELL_BYTES
    lo_x, hi_x = _outward(np.asarray(minx, float), np.asarray(maxx, float))
    lo_y, hi_y = _outward(np.asarray(miny, float), np.asarray(maxy, float))
    order = _str_order(lo_x, hi_x, lo_y, hi_y, per_node)
    ids = np.asarray(fids, dtype=np.int64)[order]
    boxes = np.column_stack([lo_x, hi_x, lo_y, hi_y])[order]

    nodes: list[tuple[int, bytes]] = []
    parents: list[tuple[int, int]] = []
    rowids: list[tuple[int, int]] = []
    # Build level by level; node numbers are given top-down at the end so the root is 1.
    levels: list[list[tuple[np.ndarray, np.ndarray]]] = []  # per level: (child ids, boxes)
    level_ids, level_boxes = ids, boxes
    while True:
        groups = [(level_ids[i : i + per_node], level_boxes[i : i + per_node])
                  for i in range(0, len(level_ids), per_node)]
        levels.append(groups)
        if len(groups) == 1:
            break
        level_boxes = np.array([[b[:, 0].min(), b[:, 1].max(), b[:, 2].min(), b[:, 3].max()]
                                for _, b in groups], dtype=np.float32)
        level_ids = np.arange(len(groups))  # placeholders, numbered below
    depth = len(levels) - 1
    # Number nodes: root 1, then each level below in order.
    numbers: list[np.ndarray] = [np.array([1])]
    next_no = 2
    for groups in reversed(levels[:-1]):
        numbers.insert(0, np.arange(next_no, next_no + len(groups)))
        next_no += len(groups)
    for level, groups in enumerate(levels):
        node_depth = depth if level == depth else 0
        for g, (child_ids, child_boxes) in enumerate(groups):
            nodeno = int(numbers[level][g])
            if level == 0:
                cell_ids = child_ids
                rowids.extend((int(r), nodeno) for r in child_ids)
            else:
                cell_ids = numbers[level - 1][child_ids]
                parents.extend((int(c), nodeno) for c in cell_ids)
            nodes.append((nodeno, _node_blob(int(node_size), node_depth, cell_ids, child_boxes)))
    conn.exec_driver_sql(f'DELETE FROM "{rtree}_node"')
    conn.exec_driver_sql(f'INSERT INTO "{rtree}_node" (nodeno, data) VALUES (?, ?)', nodes)
    if parents:
        conn.exec_driver_sql(
            f'INSERT INTO "{rtree}_parent" (nodeno, parentnode) VALUES (?, ?)', parents
        )
    conn.exec_driver_sql(f'INSERT INTO "{rtree}_rowid" (rowid, nodeno) VALUES (?, ?)', rowids)
