# SPDX-License-Identifier: GPL-3.0-or-later
"""The grammar of angles written in degrees (decimal, degrees-minutes, DMS); private to geo.

Kept out of coordinates.py so that one small tokenizer holds every rule about how an angle
may be written. Errors are plain ValueError carrying only the reason; callers add the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Look-alike symbols that spreadsheets, word processors and phone keyboards substitute.
_SYMBOLS = str.maketrans(
    {
        "º": "°",
        "˚": "°",
        "′": "'",
        "’": "'",
        "‘": "'",
        "´": "'",
        "″": '"',
        "”": '"',
        "“": '"',
        "−": "-",
        "–": "-",
    }
)
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+))|(?P<hemi>[NSEWO])|(?P<mark>[°'\":])"
    r"|(?P<sep>[,;]))"
)
# "O" is west in Spanish (oeste) and French (ouest) forms; no English notation uses it.
_AXIS = {"N": "lat", "S": "lat", "E": "lon", "W": "lon", "O": "lon"}
_NEGATIVE = frozenset("SWO")
# Which number (0 degrees, 1 minutes, 2 seconds) each mark may follow.
_MARK_POSITIONS = {"°": (0,), "'": (1,), '"': (2,), ":": (0, 1)}
_PART_NAMES = ("degrees", "minutes", "seconds")

Token = tuple[str, str]  # (kind, text): kind is num, hemi, mark or sep


@dataclass(frozen=True, slots=True)
class Angle:
    """A signed angle in decimal degrees, the axis its hemisphere letter names, if any,
    and how many numbers it was written with (1 decimal, 2 degrees-minutes, 3 DMS)."""

    value: float
    axis: str | None
    parts: int


def normalise(text: str) -> str:
    """Replace look-alike symbols and write two apostrophes ('') as a seconds mark."""
    return text.translate(_SYMBOLS).replace("''", '"').strip()


def parse_pair(text: str) -> tuple[Angle, Angle]:
    """Two angles in the order written, from upper-case normalised text."""
    groups = _split(_tokenise(text))
    if len(groups) != 2:
        raise ValueError("expected a latitude and a longitude, e.g. '4.6097, -74.0817'")
    first, second = _angle(groups[0]), _angle(groups[1])
    if first.axis is not None and first.axis == second.axis:
        kind = "latitudes (N/S)" if first.axis == "lat" else "longitudes (E/W)"
        raise ValueError(f"both halves are marked as {kind}")
    return first, second


def parse_single(text: str) -> Angle:
    """One angle, from upper-case normalised text."""
    tokens = _tokenise(text)
    if any(kind == "sep" for kind, _ in tokens):
        raise ValueError("expected a single value")
    return _angle(tokens)


def _tokenise(text: str) -> list[Token]:
    tokens: list[Token] = []
    position, end = 0, len(text.rstrip())
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected {text[position:].lstrip()[:1]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


def _split(tokens: list[Token]) -> list[list[Token]]:
    """Cut the tokens into one group per angle, by the strongest clue present: a comma,
    then hemisphere letters, then degree marks, then half the numbers each."""
    groups: list[list[Token]] = [[]]
    if any(kind == "sep" for kind, _ in tokens):
        for token in tokens:
            if token[0] == "sep":
                groups.append([])
            else:
                groups[-1].append(token)
        return groups
    if any(kind == "hemi" for kind, _ in tokens):
        prefixed = tokens[0][0] == "hemi"  # "N4.6 W74.1" rather than "4.6N 74.1W"
        for token in tokens:
            if prefixed and token[0] == "hemi" and groups[-1]:
                groups.append([])
            groups[-1].append(token)
            if not prefixed and token[0] == "hemi":
                groups.append([])
        return groups[:-1] if not groups[-1] else groups
    numbers = [i for i, (kind, _) in enumerate(tokens) if kind == "num"]
    starts = [i for i in numbers[1:] if tokens[i + 1 : i + 2] == [("mark", "°")]]
    if not starts:
        if len(numbers) % 2 and len(numbers) > 1:
            raise ValueError(
                f"found {len(numbers)} numbers; expected as many for the "
                "latitude as for the longitude"
            )
        starts = [numbers[len(numbers) // 2]] if len(numbers) > 1 else []
    bounds = [0, *starts, len(tokens)]
    return [tokens[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _angle(tokens: list[Token]) -> Angle:
    if not tokens:
        raise ValueError("a latitude or longitude is missing")
    hemisphere: str | None = None
    if tokens[0][0] == "hemi":
        hemisphere, tokens = tokens[0][1], tokens[1:]
    elif tokens[-1][0] == "hemi":
        hemisphere, tokens = tokens[-1][1], tokens[:-1]
    numbers: list[str] = []
    previous = ""
    for kind, text in tokens:
        if kind == "hemi":
            raise ValueError("a hemisphere letter must come before or after the number")
        if kind == "mark" and (previous != "num" or len(numbers) - 1 not in _MARK_POSITIONS[text]):
            raise ValueError(f"{text!r} is out of place")
        if kind == "num":
            numbers.append(text)
        previous = kind
    if not 1 <= len(numbers) <= 3:
        raise ValueError("expected degrees, optionally followed by minutes and seconds")
    if any(number[0] in "+-" for number in numbers[1:]):
        raise ValueError("only the degrees may carry a sign")
    values = [abs(float(number)) for number in numbers]
    for index, value in enumerate(values):
        name = _PART_NAMES[index]
        if index and value >= 60:
            raise ValueError(f"{name} must be under 60, not {numbers[index]}")
        if index < len(values) - 1 and not value.is_integer():
            raise ValueError(f"{name} must be whole when {_PART_NAMES[index + 1]} follow")
    degrees = sum(value / 60**index for index, value in enumerate(values))
    negative = numbers[0][0] == "-"
    if hemisphere is not None:
        if negative:
            raise ValueError(f"a minus sign and the hemisphere letter {hemisphere!r} contradict")
        negative = hemisphere in _NEGATIVE
    return Angle(-degrees if negative else degrees, _AXIS.get(hemisphere or ""), len(values))
