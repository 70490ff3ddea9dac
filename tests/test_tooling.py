"""The cheap, strict tooling of pyproject.toml holds on every commit: ruff on the whole
tree, mypy --strict on the core (domain, geo, store)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_mypy_strict_on_the_core() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_on_the_core() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "src/mineaction/domain",
                           "src/mineaction/geo", "src/mineaction/store", "src/mineaction/io",
                           "src/mineaction/cli.py", "tests/store", "tests/io", "tests/domain"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
