"""Coverage of the engine's 95% intervals in repeated samples from a known population (issue 17).

A finite population of 200,000 adults in 8 districts (strata) with age and sex margins; a 0-10
score and a yes/no answer that depend on district and age. Every sample is a stratified simple
random sample of 1,200 with disproportionate allocation (one district gets 30, so its weights
are large), base weights N_h/n_h, raked to the population's age and sex counts -- what the
platform does to every wave. Each sample goes through the same code as the report and the
console (:func:`analysis.tables.build_design`, :func:`analysis.tables.rake_wave`,
:func:`analysis.tables.batch_means`, :func:`analysis.tables.intervals`) and the interval is
checked against the population value.

Rows: the whole sample; the small district (a stratum, ~30 respondents); a small group spread
over all districts (~25 respondents: a cross-stratum domain); each for the mean of the score
and the proportion answering yes. Coverage is printed with its Monte Carlo standard error
sqrt(c(1-c)/R); the goal is 94-96% for every row.

    .venv/bin/python bench/bench_coverage.py [--samples 4000] [--seed 1]

Each sample is one design, one raking and one batch of six columns (the domains are the rows
that answered, NaN elsewhere, exactly how the engine treats an unanswered item), so the cost is
a few milliseconds a sample.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.tables import batch_means, build_design, intervals, rake_wave  # noqa: E402

DISTRICTS = 8
POP_SIZES = np.array([40_000, 35_000, 30_000, 28_000, 25_000, 20_000, 12_000, 10_000])
SAMPLE_SIZES = np.array([220, 200, 180, 170, 160, 130, 110, 30])  # the last district is the small stratum
AGES = ["18-34", "35-54", "55+"]


def population(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    district = np.repeat(np.arange(DISTRICTS), POP_SIZES)
    n = district.size
    age = rng.choice(3, n, p=[0.35, 0.4, 0.25])
    sex = rng.choice(2, n)
    # The small group: about 2% of adults, more common in some districts (25 in a sample of 1,200).
    rate = np.array([0.01, 0.015, 0.02, 0.025, 0.03, 0.02, 0.03, 0.04])[district]
    group = rng.random(n) < rate
    latent = 0.3 * (district - 3.5) / 3.5 + 0.4 * (age - 1) + 0.3 * sex - 0.5 * group
    score = np.clip(np.round(5 + 2.0 * latent + rng.normal(0, 2.2, n)), 0, 10)
    yes = (rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 1.2 * latent)))).astype(np.float64)
    return pd.DataFrame({"district": district, "age_band": np.array(AGES, dtype=object)[age],
                         "sex": np.where(sex == 1, "male", "female").astype(object), "group": group,
                         "score": score, "yes": yes})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--level", type=float, default=0.95)
    ap.add_argument("--r-exact", action="store_true", help="R's svymean variance (no small-sample correction)")
    args = ap.parse_args()
    pop = population(args.seed)
    margins = {"age_band": pop["age_band"].value_counts().astype(float).to_dict(),
               "sex": pop["sex"].value_counts().astype(float).to_dict()}
    margins = {k: {str(c): v for c, v in m.items()} for k, m in margins.items()}
    small = DISTRICTS - 1
    domains = {"whole sample": np.ones(len(pop), bool), "small district (stratum)": pop["district"].to_numpy() == small,
               "small group across districts": pop["group"].to_numpy()}
    truth = {(d, v): float(pop.loc[m, v].mean()) for d, m in domains.items() for v in ("score", "yes")}
    starts = np.concatenate(([0], np.cumsum(POP_SIZES)))
    rng = np.random.default_rng(args.seed + 1000)
    cols = [(d, v) for d in domains for v in ("score", "yes")]
    hit = np.zeros(len(cols))
    n_sum = np.zeros(len(cols))
    df_sum = np.zeros(len(cols))
    se_ratio = np.zeros((args.samples, len(cols)))
    estimates = np.zeros((args.samples, len(cols)))
    prop = np.array([v == "yes" for _d, v in cols])
    methods: list[dict[str, int]] = [{} for _ in cols]
    frame_base = pop[["district", "age_band", "sex"]]
    t0, c0 = time.perf_counter(), time.process_time()
    for r in range(args.samples):
        rows = np.concatenate([starts[h] + rng.choice(POP_SIZES[h], SAMPLE_SIZES[h], replace=False)
                               for h in range(DISTRICTS)])
        fw = frame_base.iloc[rows].reset_index(drop=True)
        fw = fw.assign(stratum=fw["district"].astype(str), wave="w",
                       base_weight=(POP_SIZES / SAMPLE_SIZES)[fw["district"].to_numpy()])
        design = rake_wave(build_design(fw), fw, margins, "w")
        y = np.column_stack([np.where(domains[d][rows], pop[v].to_numpy()[rows], np.nan) for d, v in cols])
        out = batch_means(design, y, np.zeros(len(rows), dtype=np.int64), 1, small_sample=not args.r_exact)
        est, se, df, n = out["estimate"][0], np.sqrt(out["var"][0]), out["df"][0].astype(float), out["n"][0]
        lo, hi, how = intervals(est, se, df, n, prop, args.level)
        t = np.array([truth[c] for c in cols])
        hit += (lo <= t) & (t <= hi)
        for k, m in enumerate(how):
            methods[k][m] = methods[k].get(m, 0) + 1
        n_sum += n
        df_sum += df
        se_ratio[r] = se
        estimates[r] = est
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# {args.samples} samples of {SAMPLE_SIZES.sum()} from {len(pop):,}; stratified by {DISTRICTS} districts, "
          f"raked to age and sex; {int(args.level * 100)}% intervals; "
          f"{'R-exact variance' if args.r_exact else 'bias-reduced linearization'}; {wall:.1f} s ({cpu:.1f} s CPU), load {load:.1f}")
    print(f"{'domain':30s} {'measure':8s} {'mean n':>7s} {'mean df':>8s} {'SE/SD':>6s} {'coverage':>9s} {'MC s.e.':>8s}  in 94-96%  interval")
    for k, (d, v) in enumerate(cols):
        cov = hit[k] / args.samples
        mc = np.sqrt(cov * (1 - cov) / args.samples)
        ratio = np.sqrt(np.mean(se_ratio[:, k] ** 2)) / np.std(estimates[:, k], ddof=1)
        ok = "yes" if 0.94 <= cov <= 0.96 else "NO"
        print(f"{d:30s} {'mean' if v == 'score' else 'share':8s} {n_sum[k] / args.samples:7.1f} "
              f"{df_sum[k] / args.samples:8.1f} {ratio:6.3f} {100 * cov:8.2f}% {100 * mc:7.2f}%  {ok:9s}  "
              + ", ".join(f"{m} {c / args.samples:.0%}" for m, c in sorted(methods[k].items(), key=lambda x: -x[1])))


if __name__ == "__main__":
    main()
