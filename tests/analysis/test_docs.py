"""The worked examples in the docstrings run, and the public API is what __all__ says."""

from __future__ import annotations

import doctest
import importlib

import pytest

import analysis

MODULES = ["analysis.weights", "analysis.design", "analysis.estimate", "analysis.scales", "analysis.compare", "analysis.io",
           "analysis.changes", "analysis.campaign",
           "analysis.tables", "analysis.plots"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_public_api_is_curated():
    for name in analysis.__all__:
        assert getattr(analysis, name).__doc__, name


def test_no_web_or_plotting_imports():
    import ast
    from pathlib import Path

    for path in Path(analysis.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for n in names:
                    assert not n.startswith(("flask", "survey")), f"{path.name} imports {n}"
                    # Charts live in plots.py alone; the estimation modules never import plotting.
                    if path.name != "plots.py":
                        assert not n.startswith("matplotlib"), f"{path.name} imports {n}"


@pytest.mark.parametrize("name", ["satterthwaite_df", "wave_change", "linear_trend", "holm_bh", "adjusted_level",
                                  "compare_waves", "campaign_benchmarks"])
def test_engine_functions_have_full_numpydoc(name):
    doc = getattr(analysis, name).__doc__
    for section in ("Parameters\n", "Returns\n", "Notes\n"):
        assert section in doc, (name, section)
    if name != "compare_waves":
        assert "References\n" in doc and ".. math::" in doc, name
