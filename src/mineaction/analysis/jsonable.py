# SPDX-License-Identifier: GPL-3.0-or-later
"""Analysis results as JSON: the one conversion the services, the model files and the
command line use."""

from __future__ import annotations

import math
from datetime import date
from typing import Any


def jsonable(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers, NaN and infinities as None, dates as
    ISO text, tuples as lists and dict keys as text, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value
