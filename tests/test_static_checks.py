"""Static checks run with the suite so CI enforces them: ruff, and bandit with no medium or high
finding left unexplained (an explained one carries `# nosec BXXX - reason` at the line)."""

from __future__ import annotations

import re
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


#: British spellings that have crept in before; the English text of the platform is US English.
BRITISH = re.compile(
    r"\b(neighbour\w*|organis\w*|recognis\w*|colour\w*|behaviour\w*|favour\w*|honour\w*|centre|licence|"
    r"analys(?:e|ed|es|ing)|catalogue\w*|summaris\w*|prioritis\w*|authoris\w*|realis(?:e|ed|es|ing)|"
    r"labell(?:ed|ing)|modell(?:ed|ing)|travell\w*|cancell(?:ed|ing))\b", re.IGNORECASE)
#: Where English text lives: code, templates, instruments' English wording, documentation.
SOURCES = ("survey", "analysis", "bench", "tests", "docs")


def test_one_spelling_of_english_us():
    found = []
    paths = [p for folder in SOURCES for p in (ROOT / folder).rglob("*") if p.suffix in {".py", ".html", ".md", ".css", ".txt"}]
    paths += [ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "instruments").glob("*.toml")]
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if path.suffix == ".toml" and re.match(r"\s*\w+\.(?!en\b)\w+\s*=", line):
                continue  # another language's wording
            for match in BRITISH.finditer(line):
                if path.name == Path(__file__).name:
                    continue
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert not found, "use US spelling:\n" + "\n".join(found)
