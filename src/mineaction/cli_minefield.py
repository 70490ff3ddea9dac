# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction minefield`: minefield records (issue 18)."""

from __future__ import annotations

import typer

minefield_app = typer.Typer(help="Minefield records: import, show, and how accurate they were.",
                            no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the minefield commands to the `mineaction` command (once they exist)."""
    if minefield_app.registered_commands:
        app.add_typer(minefield_app, name="minefield")
