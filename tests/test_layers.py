"""The layers point down only (issue 14): the import-linter contracts of pyproject.toml
hold, and would fail on an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint(config: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a test dependency (pyproject.toml)"
    args = [exe, "--no-cache"] + (["--config", str(config)] if config else [])
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_are_kept() -> None:
    done = _lint()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    # The same contracts with the store placed above access/: access imports the store,
    # so the linter must now report it.
    text = (ROOT / "pyproject.toml").read_text()
    swapped = text.replace('  "mineaction.store",\n', "").replace(
        '  "mineaction.access : mineaction.auth : mineaction.audit",\n',
        '  "mineaction.store",\n  "mineaction.access : mineaction.auth : mineaction.audit",\n')
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    done = _lint(config)
    assert done.returncode != 0
    assert "mineaction.access is not allowed to import mineaction.store" in done.stdout
