# SPDX-License-Identifier: GPL-3.0-or-later
"""What every command module of `mineaction` shares: the --store option, failing with a
message and an exit status, and opening the store as the commands that write do (audited).
One definition, imported by cli.py, cli_server.py, cli_reports.py and cli_reconcile.py."""

from __future__ import annotations

import json
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_i18n import _

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="MINEACTION_STORE",
        help="GeoPackage file or postgresql:// URL.",
        show_default=True,
    ),
]
DEFAULT_STORE = "mineaction.gpkg"


def fail(message: str, code: int = 1) -> None:
    typer.secho(_("error: {message}").format(message=message), fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def open_audited(location: str, *, create: bool = False, audited: bool = True) -> Any:
    """The store at `location`, with the server tables and the audit trail attached:
    what the command line writes is audited like what the API writes. `audited=False`
    for commands that only read (`info`): nothing to audit, and neither the audit's
    modules nor its first-open sealing write are needed (issue 16, item 12)."""
    from mineaction.store import open_store
    from mineaction.store.errors import StoreError

    is_url = location.startswith(("postgresql://", "postgres://"))
    if not create and not is_url and not Path(location).exists():
        fail(_("no store at {location}: check --store, or create one with "
               "`mineaction init --store {location}`").format(location=location), 2)
    try:
        store = open_store(location)
        if not audited:
            return store
        # Users, audit log and the other server tables exist in every store, and writes
        # from the command line are audited like those through the API.
        from mineaction.audit.log import attach
        from mineaction.auth.schema import ensure_server_tables

        ensure_server_tables(store)
        return attach(store)
    except StoreError as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- any driver error: say where, not a traceback
        fail(_("cannot open store {location}: {problem}").format(location=location, problem=exc))


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def cli_actor() -> str:
    """Who the audit trail names for what the command line does: the system user."""
    import getpass

    return f"cli:{getpass.getuser()}"


def service_error_text(exc: Any) -> str:
    """A service's refusal (services/errors.py) as the command line prints it: the
    message, then each field's problem on its own line."""
    details = [f"  {e.field}: {e.message}" for e in getattr(exc, "field_errors", ())]
    return "\n".join([exc.message, *details])


def run_service(action: Any) -> Any:
    """`action()`, a service call; a refusal ends the command with exit status 2 and the
    refusal's text (the one way every command module reports a service's errors)."""
    from mineaction.services.errors import ServiceError

    try:
        return action()
    except ServiceError as exc:
        fail(service_error_text(exc), 2)


def cli_principal() -> Any:
    """The command line acts as the store's administrator, in the system user's name."""
    from mineaction.access.roles import Principal, Role

    actor = cli_actor()
    return Principal(username=actor, role=Role.admin, user_id=actor)


# Options more than one command module declares.
AdminOption = Annotated[str | None, typer.Option(help="Admin area pcode (and all under it).")]
FromOption = Annotated[str | None, typer.Option("--from", help="From date, YYYY-MM-DD.")]
ToOption = Annotated[str | None, typer.Option("--to", help="To date, YYYY-MM-DD.")]
DatasetOption = Annotated[str | None, typer.Option(help="Only this dataset.")]


def admin_area_meant(s: Any, code: str | None) -> str | None:
    """--admin-area as the store's admin areas read it: 5313 means 05313 when that is the
    only code it can mean; a code that matches nothing is refused (services/places.py).
    Every command with --admin-area reads it through here."""
    if not code:
        return code
    from mineaction.services.places import UnknownAdminArea, resolve_admin_area

    try:
        meant = resolve_admin_area(s, code)
    except UnknownAdminArea as exc:
        fail(f"--admin-area: {exc}", 2)
    if meant != code:
        typer.echo(_("admin area {code} read as {meant}").format(code=code, meant=meant),
                   err=True)
    return meant


def date_option(value: str | None, option: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        fail(_("{option} {value}: dates are YYYY-MM-DD").format(option=option,
                                                                value=repr(value)), 2)

    return None


FREE_TEXT = frozenset({"name", "place_name", "title", "device_model"})


def emit(rows: list[dict[str, Any]], columns: list[str], fmt: OutputFormat,
          fit: bool = False) -> None:
    if fmt == OutputFormat.json:
        typer.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=1))
    elif fmt == OutputFormat.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table

        cells = [[cell_text(r[c]) for c in columns] for r in rows]
        if fit:  # one line per record, as wide as the terminal (80 when not one): only
            # free text (names, titles) is cut short, if the rest leaves room for it.
            import shutil

            width = shutil.get_terminal_size((80, 24)).columns
            natural = [max([len(c), *(len(row[i]) for row in cells)])
                       for i, c in enumerate(columns)]
            free = [i for i, c in enumerate(columns) if c in FREE_TEXT]
            fixed = sum(w for i, w in enumerate(natural) if i not in free)
            room = width - fixed - 3 * (len(columns) - 1) - 1
            for i in free:
                cap = max(len(columns[i]), room // len(free))
                natural[i] = min(natural[i], cap)
                for row in cells:
                    if len(row[i]) > cap:
                        row[i] = row[i][:cap - 1] + "…"
            table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for c, w in zip(columns, natural, strict=True):
                table.add_column(c, no_wrap=True, min_width=w)
        else:
            table = Table(show_lines=False)
            for c in columns:
                table.add_column(c, overflow="fold")
        for row in cells:
            table.add_row(*row)
        if fit:
            Console(width=max(width, sum(natural) + 3 * len(columns))).print(table)
        else:
            Console(width=max(100, min(240, 14 * len(columns)))).print(table)


def cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None, NaN
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return str(value)[:10] if str(value).endswith("00:00:00") else str(value)
    return str(value)
