# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks over the whole store (issue 18): `mineaction check-geometry`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the check commands to the `mineaction` command."""
