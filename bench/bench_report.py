"""Benchmark: the full report for 12 waves of 5,000 responses each, by 10 districts.

Generates a synthetic export table in memory (no database: this measures ``analysis``), then
times each stage of :func:`analysis.report.write_report`: weights (base weights raked to seven
margins in every wave) and estimates of every index and question overall and by district with
their changes, every chart (an index trend per index, small multiples of the 10 districts per
index), the CSV tables and the HTML. Goal: under 10 seconds in all.

    python bench/bench_report.py [--waves 12] [--per-wave 5000] [--districts 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.report import write_report  # noqa: E402
from analysis.synthetic import synthetic_export  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=12)
    parser.add_argument("--per-wave", type=int, default=5000)
    parser.add_argument("--districts", type=int, default=10)
    parser.add_argument("--out", help="keep the report here (default: a temporary folder)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    frame, codebook = synthetic_export(args.waves, args.per_wave, args.districts, seed=2026)
    generate = time.perf_counter() - t0
    print(f"synthetic export: {len(frame):,} responses, {args.waves} waves, {args.districts} districts "
          f"({generate:.1f} s, not counted)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        start = time.perf_counter()
        times = write_report(frame, codebook, out, breakdowns=["district"], progress=lambda msg: print("  " + msg))
        total = time.perf_counter() - start
        size = (out / "report.html").stat().st_size
    print()
    for stage, secs in times.items():
        print(f"{stage:>24}: {secs:6.2f} s")
    print(f"{'total':>24}: {total:6.2f} s  (goal: under 10 s; report.html {size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
