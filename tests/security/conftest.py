"""Attacks on the server, each a test that reproduces it (issue 15). The clients and
fixtures are the API tests' (tests/api/api_fixtures.py, api_helpers.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_fixtures import api, settings_overrides, store  # noqa: E402,F401
