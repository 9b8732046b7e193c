"""bench/bench_sae.py still runs, at a small size, and its figures point the right way.

The full-size figures (1,000 samples) are in the report and bench/README.md; here 60
samples are enough for the direct RMSE of the small neighborhoods to exceed the model's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]


def load():
    spec = importlib.util.spec_from_file_location("bench_sae", ROOT / "bench" / "bench_sae.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_simulation_prints_every_group_and_model_beats_direct_in_small_areas(capsys):
    bench = load()
    assert bench.main(["--samples", "60", "--cities", "2"]) == 0
    text = capsys.readouterr().out
    for label in ("0-19", "20-49", "50-99", "100+", "all", "over 2 more cities"):
        assert label in text, text
    assert "goal: model RMSE below direct in each group under 50 respondents: met" in text, text


def test_simulation_knows_the_truth_and_intervals_cover_it_roughly():
    bench = load()
    out = bench.run(40, 19)
    assert out["REML_err"].shape == (40, bench.AREAS)
    assert np.isfinite(out["REML_err"]).all()  # every area, sampled or not, gets an estimate
    cover = float(np.nanmean(out["REML_cover"]))
    assert 0.88 < cover < 0.99
    small = out["expected_n"] < 20
    direct = np.sqrt(np.nanmean(out["direct_err"][:, small] ** 2))
    model = np.sqrt(np.nanmean(out["REML_err"][:, small] ** 2))
    assert model < 0.85 * direct
