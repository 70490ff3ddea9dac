"""The kinds of report, one declaration each: name, title, what it holds, its parameters and
the function that gathers its data (reports/context.py). Its template is
templates/<name>.html.

Everything that offers reports reads them from here (issue 14): render.py dispatches on
REPORTS, `mineaction report <name>` has one command per kind with one option per parameter
(cli_reports.py), and GET /api/v1/reports/{name} takes the kinds as its choices and the
parameters as query parameters (api/routers/reports.py). A new kind is one entry below, its
template and its builder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mineaction.store.base import Store


class ParameterError(ValueError):
    """A report parameter is missing or malformed: `parameter` names it, `detail` says what
    is wrong without naming it."""

    def __init__(self, parameter: str, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.detail = detail or message


def _month(text: str | date) -> date:
    """The first day of a month given as YYYY-MM (or as any date in it)."""
    if isinstance(text, date):
        return text.replace(day=1)
    try:
        if len(text) != 7:
            raise ValueError(text)
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise ValueError(f"{text!r} is not a month: give YYYY-MM") from None


@dataclass(frozen=True)
class Param:
    """One parameter of a report: `name` is the builder's keyword and the API's query
    parameter (`--admin-area` on the command line for admin_area). `type` is what it is
    typed as (int or str); `parse` turns that into what the builder takes, raising
    ValueError with what to give instead. `bounds` and `pattern` constrain the value where
    it is typed (command line, OpenAPI)."""

    name: str
    help: str
    type: type = str
    required: bool = False
    parse: Callable[[Any], Any] | None = None
    bounds: tuple[int, int] | None = None
    pattern: str | None = None

    @property
    def option(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")


@dataclass(frozen=True)
class ReportKind:
    name: str
    title: str
    summary: str  # what it holds: the command's help
    params: tuple[Param, ...]
    build: Callable[..., dict[str, Any]]  # (store, *, lang, image, **params) -> template data
    # Whether the builder takes `risk_model` and `reader` (the contamination-risk model's
    # section, issue 19): not parameters a reader types, but what the caller holds.
    shows_risk_model: bool = False

    @property
    def template(self) -> str:
        # A template is a module-like name: map-accuracy -> map_accuracy.html.
        return f"{self.name.replace('-', '_')}.html"

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The builder's keyword arguments from the values given (None or "" = not given), parsed
        and checked; ParameterError names the first that is missing or wrong. Values of
        parameters this kind does not take are ignored."""
        out: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name)
            if value is None or value == "":
                if p.required:
                    raise ParameterError(p.name, f"the {self.title.lower()} needs the "
                                                 f"{p.label} ({p.option})")
                value = None
            elif p.parse is not None:
                try:
                    value = p.parse(value)
                except ValueError as exc:
                    raise ParameterError(p.name, f"{p.label}: {exc}", str(exc)) from None
            out[p.name] = value
        return out


# The builders (reports/context.py) are imported when a report is made: the command line
# reads this module at start-up, and context pulls in matplotlib, the analysis and the store.
def _annual(store: Store, **options: Any) -> dict[str, Any]:
    from mineaction.reports.context import annual

    return annual(store, **options)


def _factsheet(store: Store, **options: Any) -> dict[str, Any]:
    from mineaction.reports.context import factsheet

    return factsheet(store, **options)


def _map_accuracy(store: Store, **options: Any) -> dict[str, Any]:
    from mineaction.reports.map_accuracy import map_accuracy

    return map_accuracy(store, **options)


def _day(text: str | date) -> date:
    """A date given as YYYY-MM-DD."""
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date: give YYYY-MM-DD") from None


def _monthly(store: Store, **options: Any) -> dict[str, Any]:
    from mineaction.reports.context import monthly

    return monthly(store, **options)


_YEAR = (1900, 2100)
REPORTS: dict[str, ReportKind] = {k.name: k for k in (
    ReportKind(
        "annual", "Annual country report",
        "Annual report in the layout of a Landmine Monitor country profile: casualties, "
        "contamination, land release, risk education, methods and sources.",
        (Param("year", "Calendar year reported on.", int, required=True, bounds=_YEAR),
         Param("admin_area", "Admin area pcode (and all under it).")),
        _annual, shows_risk_model=True),
    ReportKind(
        "factsheet", "Admin-area fact sheet",
        "One-page fact sheet for an admin area.",
        (Param("admin_area", "Admin area pcode, e.g. 05.", required=True),
         Param("year", "Up to this year (default: all).", int, bounds=_YEAR)),
        _factsheet),
    ReportKind(
        "monthly", "Monthly operations report",
        "Monthly operations report: accidents, casualties, land release, finds, hazards "
        "opened and closed, risk education.",
        (Param("month", "Month reported on, YYYY-MM.", required=True, parse=_month,
               pattern=r"^\d{4}-\d{2}$"),
         Param("admin_area", "Admin area pcode (and all under it).")),
        _monthly),
    ReportKind(
        "map-accuracy", "Map-accuracy report",
        "How accurate were the minefield records an area received: records, devices found "
        "inside and outside recorded minefields, accidents outside them, accuracy per "
        "record, and a map (issue 18).",
        (Param("admin_area", "Admin area pcode (and all under it).", required=True),
         Param("date_from", "Finds and accidents from this date, YYYY-MM-DD.", parse=_day,
               pattern=r"^\d{4}-\d{2}-\d{2}$"),
         Param("date_to", "Finds and accidents up to this date, YYYY-MM-DD.", parse=_day,
               pattern=r"^\d{4}-\d{2}-\d{2}$")),
        _map_accuracy),
)}


def names_text() -> str:
    """The kinds' names, comma-separated, for messages and help."""
    return ", ".join(REPORTS)


def all_params() -> dict[str, list[tuple[ReportKind, Param]]]:
    """Every parameter name any kind takes -> the kinds taking it, in declaration order:
    what one endpoint serving every kind accepts."""
    out: dict[str, list[tuple[ReportKind, Param]]] = {}
    for kind in REPORTS.values():
        for p in kind.params:
            out.setdefault(p.name, []).append((kind, p))
    return out
