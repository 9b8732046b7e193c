"""Static checks run with the suite so CI enforces them: ruff, and bandit with no medium or high
finding left unexplained (an explained one carries `# nosec BXXX - reason` at the line)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "survey", "analysis", "tests", "bench"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bandit_finds_no_medium_or_high_issue():
    result = subprocess.run([_tool("bandit"), "-q", "-r", "survey", "analysis", "-ll", "-f", "txt"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
