"""The resident benchmarks still run end to end (they share the reliability harness).

Numbers are not checked here (speed goals live in bench/, not in timed tests); what is checked
is what the scripts themselves assert: the page budget, no script on any page, and no lost or
duplicated response under gunicorn.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_page_weight_lists_every_page_within_budget() -> None:
    out = _run("bench/page_weight.py")
    rows = [line for line in out.splitlines() if line.startswith(("en ", "es ", "ar "))]
    # start, bad code, every questionnaire page, an error page and the confirmation, per language
    assert len(rows) >= 3 * 12, out
    assert all(line.rstrip().endswith("ok") for line in rows), out
    assert "JavaScript: none" in out


@pytest.mark.slow
def test_load_benchmark_counts_what_it_stored() -> None:
    out = _run("bench/load_survey.py", "--residents", "3", "--seconds", "2", "--postgres", "")
    assert "bare Flask endpoint" in out
    assert "the required stack alone / bare endpoint" in out
    assert "== SQLite: 3 concurrent residents" in out
    assert "failed or cut off: 0" in out
    assert "-> no loss, no duplicates" in out, out
    assert "survey request rate / bare endpoint rate" in out
