"""Checkpoints of the audit chain kept outside the table they protect (issue 15).

A chain shows any entry edited, inserted or removed in its middle, but not entries cut
off its end, nor a log emptied and begun again: the chain left is still a valid chain. A
checkpoint `SEQ:HASH` says "entry SEQ existed and had this hash"; a log that no longer
reaches entry SEQ, or whose entry SEQ has another hash, was cut back or rewritten.

Two places keep checkpoints:

- the anchor file, rewritten with the new head at the end of every audited transaction:
  `STORE.audit-anchor` beside a GeoPackage store, or the path in MINEACTION_AUDIT_ANCHOR
  (the way to have one for PostGIS; `off` for none). It is written while the transaction
  still holds the chain's lock, so anchors are written in chain order;
- `mineaction audit verify --checkpoint` prints one for the operator to keep elsewhere
  (another machine, a daily e-mail); `--against` checks the log against it.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mineaction.store.base import Store

ANCHOR_ENV = "MINEACTION_AUDIT_ANCHOR"
ANCHOR_SUFFIX = ".audit-anchor"
_CHECKPOINT = re.compile(r"^\s*(\d+):([0-9a-f]{64})\s*$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


def parse_checkpoint(text: str) -> Checkpoint:
    """`SEQ:HASH` (as printed by `audit verify --checkpoint`) as a Checkpoint."""
    m = _CHECKPOINT.match(text)
    if not m:
        raise ValueError(f"not a checkpoint (SEQ:HASH, 64 hex digits): {text.strip()[:80]!r}")
    return Checkpoint(int(m.group(1)), m.group(2))


def anchor_path(store: Store) -> Path | None:
    """Where `store`'s anchor file is: MINEACTION_AUDIT_ANCHOR when set (empty or `off`:
    none), else beside a GeoPackage file; PostGIS has none unless set."""
    value = os.environ.get(ANCHOR_ENV)
    if value is not None:
        value = value.strip()
        return None if value.lower() in ("", "off", "none") else Path(value)
    if store.dialect == "gpkg":
        return Path(store.location + ANCHOR_SUFFIX)
    return None


def read_checkpoint_file(path: Path) -> Checkpoint | None:
    """The checkpoint in a file (its first line), or None when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_checkpoint(text.splitlines()[0] if text.strip() else "")


def write_anchor(path: Path, checkpoint: Checkpoint) -> None:
    """Replace the anchor file with `checkpoint` (atomically: a reader never sees half).
    A failure is logged, never raised: it must not undo the write being audited."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(f"{checkpoint}\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("audit anchor %s not written: %s", path, exc)
