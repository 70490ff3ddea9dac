# SPDX-License-Identifier: GPL-3.0-or-later
"""Human-readable record codes (issue 21, 5): ``HAZ-CO-05-000123`` instead of a UUID's
first eight characters, in titles, lists, exports and the map's search.

A code is made of:

- the kind's prefix, after IMSMA's item types (HAZ hazard, ACC accident, VIC victim ...);
- where the record lies: its country (ISO 3166-1 alpha-2) and first-level admin area,
  read from its admin-area P-code after OCHA's convention (``AZ01`` is Azerbaijan's
  area 01; ``UA0102003`` lies in Ukraine's 01). A national code without letters (Colombia's
  DANE ``05790``) gives its first two characters, the department, and the store's country;
- the record's number: its row number in its kind's table (``fid``), which the store
  assigns on every write path, never reuses (SQLite AUTOINCREMENT, a PostgreSQL
  sequence) and never changes.

The number alone identifies the record within its kind: the part in the middle follows
the record's admin area, so a corrected P-code changes it, and a code printed before the
correction still finds the record (`parse_code` keeps only the prefix and the number).
Codes belong to one store: a record copied into another store gets that store's number.
"""

from __future__ import annotations

import re

# The kinds with a code, and their prefixes. Reference data (admin areas, places,
# organisations, sources) has codes of its own (P-codes, acronyms) and gets none.
PREFIXES: dict[str, str] = {
    "hazard": "HAZ",
    "activity": "ACT",
    "released_part": "REL",
    "find": "FND",
    "accident": "ACC",
    "victim": "VIC",
    "risk_education": "EORE",
    "minefield_record": "MFR",
}
KINDS_BY_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}
DIGITS = 6  # zero-padded to six, as IMSMA's; longer numbers are written in full

_LEADING_LETTERS = re.compile(r"^([A-Za-z]{2,3})(.*)$")
_CODE = re.compile(
    r"^\s*(?P<prefix>[A-Za-z]{3,4})"  # the kind
    r"(?:-[A-Za-z0-9]{1,12})*"  # where it lies, any number of parts: not used to look up
    r"-(?P<number>\d{1,12})\s*$")


def region(pcode: str | None, country: str | None) -> list[str]:
    """The country and first-level area of a P-code, as the code's middle parts (either
    may be missing: no P-code, no country known)."""
    parts: list[str] = []
    rest = (pcode or "").strip()
    found = _LEADING_LETTERS.match(rest)
    if found:  # OCHA's P-codes lead with the country's two letters (a few with three)
        letters, rest = found.group(1), found.group(2)
        country = letters if len(letters) == 2 else country
    if country:
        parts.append(country.upper())
    first_level = "".join(c for c in rest[:2] if c.isalnum())
    if first_level:
        parts.append(first_level.upper())
    return parts


def record_code(kind: str, number: int, pcode: str | None = None,
                country: str | None = None) -> str | None:
    """The code of the `kind` record whose number (fid) is `number`; None for kinds
    without codes."""
    prefix = PREFIXES.get(kind)
    if prefix is None:
        return None
    return "-".join([prefix, *region(pcode, country), f"{number:0{DIGITS}d}"])


def parse_code(text: str) -> tuple[str, int] | None:
    """(kind, number) of a code as typed ("haz-co-05-000123", "HAZ-123"), or None when
    the text is not a code."""
    found = _CODE.match(text)
    if found is None:
        return None
    kind = KINDS_BY_PREFIX.get(found.group("prefix").upper())
    if kind is None:
        return None
    return kind, int(found.group("number"))
