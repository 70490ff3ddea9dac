# SPDX-License-Identifier: GPL-3.0-or-later
"""What every command module of `mineaction` shares: the --store option, failing with a
message and an exit status, and opening the store as the commands that write do (audited).
One definition, imported by cli.py, cli_server.py, cli_reports.py and cli_reconcile.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

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
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def open_audited(location: str, *, create: bool = False) -> Any:
    """The store at `location`, with the server tables and the audit trail attached:
    what the command line writes is audited like what the API writes."""
    from mineaction.store import open_store
    from mineaction.store.errors import StoreError

    is_url = location.startswith(("postgresql://", "postgres://"))
    if not create and not is_url and not Path(location).exists():
        fail(f"no store at {location}: check --store, or create one with "
             f"`mineaction init --store {location}`", 2)
    try:
        store = open_store(location)
        # Users, audit log and the other server tables exist in every store, and writes
        # from the command line are audited like those through the API.
        from mineaction.audit.log import attach
        from mineaction.auth.schema import ensure_server_tables

        ensure_server_tables(store)
        return attach(store)
    except StoreError as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 -- any driver error: say where, not a traceback
        fail(f"cannot open store {location}: {exc}")
