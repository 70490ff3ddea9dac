"""Admin-area codes as users type them. A pcode typed without its leading zero (5313 for
DANE's 05313, as a spreadsheet shows it) is read as the code it means when the store's
admin areas have exactly one such code; else it is refused with a hint, never matched
silently to nothing. The command line and the API read `admin_area` through here."""

from __future__ import annotations

import sqlalchemy as sa

from mineaction.services.errors import Invalid
from mineaction.store.base import Store
from mineaction.store.schema import entity_table


class UnknownAdminArea(Invalid):
    """The code is no admin area of the store, nor the start of one."""


def admin_area_pcodes(store: Store) -> set[str]:
    """The pcodes of the store's current admin areas."""
    table = entity_table("admin_area")
    with store.engine.connect() as conn:
        return {r[0] for r in conn.execute(
            sa.select(table.c.pcode))}


def zero_padded(code: str, pcodes: set[str]) -> list[str]:
    """The pcodes that are `code` with leading zeros added."""
    return sorted(p for p in pcodes
                  if len(p) > len(code) and p.isdigit() and p == code.zfill(len(p)))


def resolve_admin_area(store: Store, code: str | None) -> str | None:
    """The admin-area code `code` means: itself if an admin area has it or starts with it
    (05 is a department and all under it), else the one code that is it zero-padded.

    Raises UnknownAdminArea, with "did you mean" when there is a choice. A store without
    admin areas cannot tell: the code is taken as it is."""
    if not code:
        return code
    code = code.strip()
    pcodes = admin_area_pcodes(store)
    if not pcodes or any(p.startswith(code) for p in pcodes):
        return code
    padded = zero_padded(code, pcodes) if code.isdigit() else []
    if len(padded) == 1:
        return padded[0]
    if padded:
        raise UnknownAdminArea(f"admin area {code!r} is in none of the store's admin areas: "
                               f"did you mean {' or '.join(padded)}?")
    raise UnknownAdminArea(f"admin area {code!r} is in none of the store's admin areas "
                           "(codes keep their leading zeros, e.g. DANE's 05313)")
