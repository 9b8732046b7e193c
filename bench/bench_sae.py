"""Simulation: direct against Fay-Herriot estimates for 40 neighborhoods of a synthetic city with known truth.

The city: 40 neighborhoods of unequal size (log-normal), each with a known share
:math:`x_i` of long-tenure residents (the census covariate) and a true mean trust score
:math:`\\theta_i = 55 + 30(x_i - 0.5) + v_i`, :math:`v_i \\sim N(0, 5^2)`, drawn once
and then held fixed (the truth every sample is judged against). A resident answers one
five-point item scored 0, 25, ..., 100: :math:`25\\,\\mathrm{Binomial}(4, \\theta_i/100)`,
so answers are discrete and bounded like the survey's.

Each sample: 2,000 respondents over the city, falling in a neighborhood with
probability proportional to its size (the neighborhood is not a sampling stratum, so
its sample size varies from sample to sample, down to 0). Per neighborhood: the direct
estimate (sample mean) with its own variance :math:`s_i^2/n_i` and a t interval; the
Fay-Herriot EBLUP (REML and ML) on the covariate, fed the direct means and
variances smoothed by :func:`analysis.smooth_variances`, with intervals
:math:`\\pm 1.96\\sqrt{\\mathrm{mse}}`; neighborhoods with no respondent get the
synthetic estimate. Areas are grouped by their expected sample size.

Goals (issue 19): model RMSE below direct RMSE for neighborhoods under 50 respondents,
model interval coverage 94-96% on average over areas.

    python bench/bench_sae.py [--samples 1000] [--seed 19] [--cities 20]

Coverage of EBLUP intervals is nominal on average over the model's area effects, not for
each area (an area whose true effect is far from the regression line is under-covered,
Rao and Molina 2015, sec. 6.2.7); with one fixed city the average over its 40 areas
depends on how extreme its 40 effects happen to be. ``--cities`` repeats the whole
simulation on other cities to show that spread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import fay_herriot, smooth_variances  # noqa: E402

AREAS = 40
RESPONDENTS = 2000
GROUPS = [(0, 20), (20, 50), (50, 100), (100, 10**9)]


def city(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population shares, covariate and true means of the 40 neighborhoods."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0.0, 1.0, AREAS)
    x = rng.uniform(0.2, 0.8, AREAS)
    theta = np.clip(55 + 30 * (x - 0.5) + rng.normal(0, 5.0, AREAS), 5, 95)
    return size / size.sum(), x, theta


def draw(rng: np.random.Generator, shares: np.ndarray, theta: np.ndarray, samples: int):
    """Respondent counts per neighborhood and answer category, (samples, areas, 5), all at once."""
    n = rng.multinomial(RESPONDENTS, shares, size=samples)
    p = theta / 100.0
    cat = stats.binom.pmf(np.arange(5)[None, :], 4, p[:, None])  # (areas, 5)
    return rng.multinomial(n, np.broadcast_to(cat, (samples, AREAS, 5)))


def direct(counts: np.ndarray):
    scores = 25.0 * np.arange(5)
    n = counts.sum(axis=-1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (counts * scores).sum(axis=-1) / n
        s2 = ((counts * scores**2).sum(axis=-1) - n * mean**2) / (n - 1)
        var = s2 / n
    mean[n == 0] = np.nan
    return n, mean, var


def run(samples: int, seed: int) -> dict[str, np.ndarray]:
    shares, x, theta = city(seed)
    rng = np.random.default_rng(seed + 1)
    n, ybar, var = direct(draw(rng, shares, theta, samples))
    z = stats.norm.ppf(0.975)
    with np.errstate(invalid="ignore"):
        tq = stats.t.ppf(0.975, np.maximum(n - 1, 1))
        half = tq * np.sqrt(var)
        dcover = np.where(n >= 2, np.abs(ybar - theta) <= half, np.nan)
    out = {"n": n, "direct_err": ybar - theta, "direct_cover": dcover}
    for method in ("REML", "ML"):
        err, cover = np.empty((samples, AREAS)), np.empty((samples, AREAS))
        for r in range(samples):
            psi = smooth_variances(var[r], n[r])
            y = np.where(n[r] > 0, ybar[r], np.nan)
            fit = fay_herriot(y, psi, x, method=method)
            err[r] = fit.estimate - theta
            cover[r] = np.abs(err[r]) <= z * fit.rmse
        out[f"{method}_err"], out[f"{method}_cover"] = err, cover
    out["expected_n"] = RESPONDENTS * shares
    return out


def report(out: dict[str, np.ndarray]) -> list[str]:
    lines = []
    en = out["expected_n"]
    rmse = {k: np.sqrt(np.nanmean(out[f"{k}_err"] ** 2, axis=0)) for k in ("direct", "REML", "ML")}
    cover = {k: np.nanmean(out[f"{k}_cover"], axis=0) for k in ("direct", "REML", "ML")}
    head = f"{'expected n':>12} {'areas':>5} {'RMSE direct':>11} {'RMSE REML':>9} {'RMSE ML':>8} {'cover direct':>12} {'cover REML':>10} {'cover ML':>8}"
    lines.append(head)
    for lo, hi in GROUPS:
        g = (en >= lo) & (en < hi)
        if not g.any():
            continue
        label = f"{lo}-{hi - 1}" if hi < 10**9 else f"{lo}+"
        lines.append(
            f"{label:>12} {int(g.sum()):>5} {rmse['direct'][g].mean():>11.2f} {rmse['REML'][g].mean():>9.2f} "
            f"{rmse['ML'][g].mean():>8.2f} {cover['direct'][g].mean():>12.3f} {cover['REML'][g].mean():>10.3f} {cover['ML'][g].mean():>8.3f}"
        )
    lines.append(
        f"{'all':>12} {len(en):>5} {rmse['direct'].mean():>11.2f} {rmse['REML'].mean():>9.2f} {rmse['ML'].mean():>8.2f} "
        f"{cover['direct'].mean():>12.3f} {cover['REML'].mean():>10.3f} {cover['ML'].mean():>8.3f}"
    )
    small = en < 50
    worse = int((rmse["REML"][small] >= rmse["direct"][small]).sum())
    lines.append(f"neighborhoods under 50 where the model's RMSE is not below direct: {worse} of {int(small.sum())}")
    lines.append(f"expected sample sizes: {en.min():.1f} to {en.max():.1f}")
    lines.append(f"model coverage range over areas (REML): {cover['REML'].min():.3f}-{cover['REML'].max():.3f}")
    empty = float((out["n"] == 0).mean())
    lines.append(f"neighborhood-samples with no respondent (synthetic estimate, no direct): {empty:.3%}")
    return lines


def goals(out: dict[str, np.ndarray]) -> dict[str, bool]:
    rmse = {k: np.sqrt(np.nanmean(out[f"{k}_err"] ** 2, axis=0)) for k in ("direct", "REML")}
    cover = float(np.nanmean(out["REML_cover"]))
    by_group = [
        rmse["REML"][g].mean() < rmse["direct"][g].mean()
        for lo, hi in GROUPS
        if lo < 50 and (g := (out["expected_n"] >= lo) & (out["expected_n"] < hi)).any()
    ]
    return {
        "model RMSE below direct in each group under 50 respondents": all(by_group),
        "model coverage 94-96% on average over areas": 0.94 <= cover <= 0.96,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--cities", type=int, default=1, help="also repeat with this many more cities (new truth each)")
    args = ap.parse_args(argv)
    t0, c0 = time.perf_counter(), time.process_time()
    out = run(args.samples, args.seed)
    print(f"{args.samples} samples of {RESPONDENTS} respondents, {AREAS} neighborhoods (seed {args.seed})")
    for line in report(out):
        print(line)
    for goal, ok in goals(out).items():
        print(f"goal: {goal}: {'met' if ok else 'NOT met'}")
    if args.cities > 1:
        covers, gains = [], []
        for k in range(1, args.cities + 1):
            o = run(args.samples, args.seed + 1000 * k)
            covers.append(float(np.nanmean(o["REML_cover"])))
            small = o["expected_n"] < 50
            d = np.sqrt(np.nanmean(o["direct_err"] ** 2, axis=0))[small].mean()
            gains.append(np.sqrt(np.nanmean(o["REML_err"] ** 2, axis=0))[small].mean() / d)
        c = np.array(covers)
        print(
            f"over {args.cities} more cities (truth redrawn, {args.samples} samples each): REML coverage averaged over areas "
            f"{c.mean():.3f} (cities from {c.min():.3f} to {c.max():.3f}; {int(((c >= 0.94) & (c <= 0.96)).sum())} of "
            f"{args.cities} within 94-96%); model/direct RMSE under 50 respondents {np.mean(gains):.2f} "
            f"({np.min(gains):.2f}-{np.max(gains):.2f})"
        )
    print(f"time: {time.perf_counter() - t0:.1f} s wall, {time.process_time() - c0:.1f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
