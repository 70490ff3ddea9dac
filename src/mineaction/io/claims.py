# SPDX-License-Identifier: GPL-3.0-or-later
"""Published figures (claims, issue 22) read from an HXL-tagged CSV file.

Columns are found by their HXL hashtag (the row of #tags under the header), whatever the
header calls them, as HXL intends: a spreadsheet translated into Azerbaijani keeps its tags.
A file without a hashtag row is read by its header names (as_of, metric, value...).

The file is read whole before anything is kept: one bad row refuses the file with every
problem named (file, row, field, problem), and nothing of it is imported.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast

from mineaction.domain.claims import (
    PRECISIONS,
    Claim,
    ClaimValueError,
    Precision,
    normal_metric,
)
from mineaction.io.errors import ReadError

# field -> (header name, HXL hashtag patterns: base tag and the attributes it must carry).
# The first pattern is what `write_claims` writes.
FIELDS: dict[str, tuple[str, tuple[tuple[str, frozenset[str]], ...]]] = {
    "as_of": ("as_of", (("#date", frozenset({"reported"})),)),
    "as_of_precision": ("as_of_precision", (("#x_precision", frozenset()),
                                            ("#meta", frozenset({"precision"})))),
    "period_start": ("period_start", (("#date", frozenset({"start"})),)),
    "period_end": ("period_end", (("#date", frozenset({"end"})),)),
    "area": ("area", tuple((f"#{base}", frozenset({"name"}))
                           for base in ("adm0", "adm1", "adm2", "adm3", "loc"))),
    "metric": ("metric", (("#indicator", frozenset({"code"})),)),
    "value": ("value", (("#indicator", frozenset({"value"})),
                        ("#indicator", frozenset({"num"})))),
    "unit": ("unit", (("#meta", frozenset({"unit"})),)),
    "stated_by": ("stated_by", (("#org", frozenset({"source"})),)),
    "reported_by": ("reported_by", (("#meta", frozenset({"publisher"})),)),
    "url": ("url", (("#meta", frozenset({"url"})),)),
    "reliability": ("reliability", (("#meta", frozenset({"reliability"})),
                                    ("#x_reliability", frozenset()))),
    "note": ("note", (("#description", frozenset()),)),
}
REQUIRED = ("as_of", "metric", "value", "unit", "area", "stated_by")
MAX_PROBLEMS = 20  # a wholly wrong file names its first problems, not thousands


@dataclass(frozen=True)
class Problem:
    row: int  # the line in the file, as a spreadsheet numbers it (the header is 1)
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


class ClaimFileError(ReadError):
    """The file is refused; `problems` names each bad cell."""

    def __init__(self, path: str | os.PathLike[str], problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(str(p) for p in self.problems[:MAX_PROBLEMS])
        more = len(self.problems) - MAX_PROBLEMS
        super().__init__(path, f"{len(self.problems)} problem(s), nothing imported: {shown}"
                         + (f" (and {more} more)" if more > 0 else ""))


def _tag(cell: str) -> tuple[str, frozenset[str]]:
    parts = [p.strip().lower() for p in cell.strip().split("+")]
    return parts[0], frozenset(p for p in parts[1:] if p)


def _is_hashtag_row(row: Sequence[str]) -> bool:
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and all(c.startswith("#") for c in cells)


def _columns_by_tag(tags: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    parsed = [_tag(t) if t.strip() else ("", frozenset()) for t in tags]
    for name, (_, patterns) in FIELDS.items():
        for base, attrs in patterns:
            index = next((i for i, (b, a) in enumerate(parsed)
                          if b == base and attrs <= a and i not in found.values()), None)
            if index is not None:
                found[name] = index
                break
    return found


def _columns_by_header(header: Sequence[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    return {field: names.index(head) for field, (head, _) in FIELDS.items() if head in names}


def _date(text: str) -> tuple[date, Precision]:
    """A date as YYYY-MM-DD, or YYYY-MM / YYYY (then only as exact as that)."""
    parts = text.split("-")
    if len(parts) == 3:
        return date.fromisoformat(text), "day"
    if len(parts) == 2 and len(parts[0]) == 4:
        return date(int(parts[0]), int(parts[1]), 1), "month"
    if len(parts) == 1 and len(text) == 4:
        return date(int(text), 1, 1), "year"
    raise ValueError(f"{text!r} is no date (YYYY-MM-DD, YYYY-MM or YYYY)")


def _value(text: str) -> float:
    try:
        value = float(text.replace(" ", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text!r} is not a finite number")
    if value < 0:
        raise ValueError(f"{text!r} is negative; a published figure counts something")
    return value


def _claim(cells: dict[str, str], row: int) -> tuple[Claim | None, list[Problem]]:
    problems: list[Problem] = []

    def get(field: str, parse: Callable[[str], object] = str) -> object:
        text = cells.get(field, "").strip()
        if not text:
            if field in REQUIRED:
                problems.append(Problem(row, field, "is empty; a claim needs it"))
            return None
        try:
            return parse(text)
        except ValueError as exc:
            problems.append(Problem(row, field, str(exc)))
            return None

    as_of_parsed = cast("tuple[date, Precision] | None", get("as_of", _date))
    stated_precision = cells.get("as_of_precision", "").strip().lower()
    if stated_precision and stated_precision not in PRECISIONS:
        problems.append(Problem(row, "as_of_precision",
                                f"{stated_precision!r} is not day, month or year"))
    start = cast("tuple[date, Precision] | None", get("period_start", _date))
    end = cast("tuple[date, Precision] | None", get("period_end", _date))
    metric = cast("str | None", get("metric", normal_metric))
    value = cast("float | None", get("value", _value))
    unit = cast("str | None", get("unit", lambda t: t.lower()))
    area = cast("str | None", get("area"))
    stated_by = cast("str | None", get("stated_by"))
    if problems or as_of_parsed is None or metric is None or value is None or unit is None \
            or area is None or stated_by is None:
        return None, problems
    as_of, precision = as_of_parsed
    if stated_precision in PRECISIONS:
        precision = stated_precision
    optional = {f: cells.get(f, "").strip() or None
                for f in ("reported_by", "url", "reliability", "note")}
    try:
        claim = Claim(metric=metric, value=value, unit=unit, as_of=as_of, area=area,
                      stated_by=stated_by, as_of_precision=precision,
                      period_start=start[0] if start else None,
                      period_end=end[0] if end else None,
                      reported_by=optional["reported_by"], url=optional["url"],
                      reliability=optional["reliability"], note=optional["note"])
    except ClaimValueError as exc:
        return None, [Problem(row, exc.field, str(exc))]
    return claim, []


def parse_claims(text: str, name: str | os.PathLike[str] = "<upload>") -> list[Claim]:
    """Every claim of an HXL-tagged (or plain) CSV text, in file order, or ClaimFileError
    naming every bad cell. Rows that repeat a claim exactly are kept once."""
    # newline="" as the csv module wants: a line break inside quotes stays in its cell
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as exc:
        raise ClaimFileError(name, [Problem(reader.line_num, "file", f"not CSV: {exc}")]
                             ) from exc
    if not rows:
        raise ClaimFileError(name, [Problem(1, "header", "the file is empty")])
    if _is_hashtag_row(rows[0]):
        columns, first = _columns_by_tag(rows[0]), 1
    elif len(rows) > 1 and _is_hashtag_row(rows[1]):
        columns, first = _columns_by_tag(rows[1]), 2
    else:
        columns, first = _columns_by_header(rows[0]), 1
    missing = [f for f in REQUIRED if f not in columns]
    if missing:
        wanted = ", ".join(f"{f} ({FIELDS[f][1][0][0]}+{'+'.join(sorted(FIELDS[f][1][0][1]))})"
                           for f in missing)
        raise ClaimFileError(name, [Problem(first, "header", f"no column for {wanted}")])
    claims: list[Claim] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for offset, row in enumerate(rows[first:]):
        if not any(c.strip() for c in row):
            continue
        number = first + offset + 1
        cells = {f: row[i] if i < len(row) else "" for f, i in columns.items()}
        claim, bad = _claim(cells, number)
        problems.extend(bad)
        if claim is not None and claim.key not in seen:
            seen.add(claim.key)
            claims.append(claim)
    if problems:
        raise ClaimFileError(name, problems)
    return claims


def read_claims(path: str | os.PathLike[str]) -> list[Claim]:
    """The claims of a CSV file (UTF-8); ReadError if it cannot be read, ClaimFileError
    if a row is bad."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReadError(path, f"cannot read: {exc}") from exc
    return parse_claims(text, path)


def write_claims(claims: Sequence[Claim]) -> str:
    """Claims as CSV with the header and HXL hashtag row `parse_claims` reads."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([head for head, _ in FIELDS.values()])
    writer.writerow(["+".join((base, *sorted(attrs))) for _, ((base, attrs), *_) in
                     FIELDS.values()])
    for c in claims:
        data = c.as_dict()
        writer.writerow(["" if data.get(f) is None else str(data[f]) for f in FIELDS])
    return buffer.getvalue()
