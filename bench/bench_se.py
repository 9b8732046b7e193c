"""Benchmark: linearized SEs of 20 items by 10 districts on synthetic respondents.

Design: stratified by district (10 strata), unequal weights, each respondent its own
unit; 20 items on 0-10 with 5% missing; one mean + SE + CI + deff per item and district
(200 estimates). Also times the same with 500 clusters of respondents, and on a raked
design (calibration residuals). Prints best-of-3 wall-clock seconds and the CPU seconds
of that run (the machine may be shared; CPU time is the steadier number).

    python bench/bench_se.py [--n 1000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import Design, mean  # noqa: E402


def make(n: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    district = rng.integers(0, 10, n)
    weights = rng.lognormal(3.0, 0.4, n)
    items = {}
    for j in range(20):
        y = np.clip(np.round(rng.normal(5 + 0.1 * district, 2.5)), 0, 10)
        y[rng.random(n) < 0.05] = np.nan
        items[f"item{j:02d}"] = y
    age = rng.integers(0, 6, n)
    sex = rng.integers(0, 2, n)
    cluster = rng.integers(0, 50, n)
    return district, weights, items, age, sex, cluster


def best_of(fn, k=3):
    """Best wall-clock seconds of k runs, the CPU seconds of that run, and the result."""
    runs = []
    out = None
    for _ in range(k):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = min(runs)
    return (wall, cpu), out


def run_all(design: Design, items: dict[str, np.ndarray], district: np.ndarray):
    return [mean(design, y, by=district, name=name) for name, y in items.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--skip-raked", action="store_true")
    args = ap.parse_args()
    n = args.n
    district, weights, items, age, sex, cluster = make(n)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"# {n} respondents, 20 items x 10 districts = 200 means with SE, CI, deff; best of 3; "
          f"{os.cpu_count()} CPUs, load {load:.1f}")
    print(f"{'design':<44} {'seconds':>9} {'cpu s':>9} {'per item':>9}")
    d = Design.from_data(weights=weights, strata=district, n=n)
    (secs, cpu), res = best_of(lambda: run_all(d, items, district))
    print(f"{'stratified, respondents as units':<44} {secs:>9.3f} {cpu:>9.3f} {secs / 20:>9.4f}", flush=True)
    # 50 clusters in each district stratum
    dc = Design.from_data(weights=weights, strata=district, clusters=cluster, n=n)
    (secs, cpu), _ = best_of(lambda: run_all(dc, items, district))
    print(f"{'stratified, 500 clusters':<44} {secs:>9.3f} {cpu:>9.3f} {secs / 20:>9.4f}", flush=True)
    if not args.skip_raked:
        targets = {"age": {c: float(1e6 / 6) for c in range(6)}, "sex": {0: 5e5, 1: 5e5}}
        t0 = time.perf_counter()
        dr = d.rake(targets, data={"age": age, "sex": sex})
        rake_secs = time.perf_counter() - t0
        (secs, cpu), _ = best_of(lambda: run_all(dr, items, district))
        print(f"{'stratified, raked to age and sex margins':<44} {secs:>9.3f} {cpu:>9.3f} {secs / 20:>9.4f}   (raking {rake_secs:.3f} s)", flush=True)
    first = res[0].iloc[0]
    print(f"# e.g. item00 district 0: mean {first['estimate']:.4f}, se {first['se']:.5f}, deff {first['deff']:.3f}, n {first['n']}")


if __name__ == "__main__":
    main()
