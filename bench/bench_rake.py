"""Benchmark: raking synthetic respondents to 4 margins (6, 2, 5, 10 categories).

Compares analysis.rake with balance, weightipy and ipfn (run from a separate virtual
environment so the project does not depend on them) and R's survey::rake when Rscript
is found. Prints best-of-3 seconds, peak traced memory and the largest relative weight
difference from our weights, with ratios against our own run.

    python bench/bench_rake.py [--sizes 10000 100000 1000000] [--compare-python PATH]

Set up the comparison environment once (ignored by git):

    python3 -m venv bench/out/venv-compare
    bench/out/venv-compare/bin/pip install balance weightipy ipfn
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SIZES = (6, 2, 5, 10)
NAMES = ("age", "sex", "edu", "region")
DEFAULT_COMPARE = HERE / "out" / "venv-compare" / "bin" / "python"


def make_data(n: int, seed: int = 12345) -> tuple[dict[str, np.ndarray], dict[str, dict[int, float]], np.ndarray]:
    """Skewed categories and population margins that differ from the sample."""
    rng = np.random.default_rng(seed)
    data = {}
    targets = {}
    for name, k in zip(NAMES, SIZES, strict=True):
        p = rng.dirichlet(np.full(k, 3.0))
        data[name] = rng.choice(k, size=n, p=p).astype(np.int64)
        q = rng.dirichlet(np.full(k, 3.0))
        targets[name] = {c: float(q[c] * 1_000_000) for c in range(k)}
    # Unit base weights: weightipy has no way to start from base weights.
    base = np.ones(n)
    return data, targets, base


# ----------------------------------------------------------------- competitors (worker side)
def run_balance(df, targets, base):
    import pandas as pd
    from balance.weighting_methods.rake import rake

    margins = {k: {str(c): v / 1e6 for c, v in t.items()} for k, t in targets.items()}
    sdf = df.astype(str)
    res = rake(sdf, pd.Series(base), None, None, variables=list(targets), target_margins=margins,
               transformations=None, max_iteration=1000, convergence_rate=1e-12, rate_tolerance=0.0,
               na_action="drop")
    return np.asarray(res["weight"], dtype=np.float64)


def run_weightipy(df, targets, base):
    import weightipy as wp

    scheme = wp.scheme_from_dict({k: {c: v / 1e4 for c, v in t.items()} for k, t in targets.items()},
                                 rim_params={"max_iterations": 1000, "convcrit": 1e-12, "weight_column_name": "base"})
    d = df.copy()
    d["base"] = base
    out = wp.weight_dataframe(d, scheme, weight_column="base")
    return np.asarray(out["base"], dtype=np.float64)


def run_ipfn(df, targets, base):
    import pandas as pd
    from ipfn import ipfn

    d = df.copy()
    d["w"] = base
    aggregates = [pd.Series(t, name="w").rename_axis(k) for k, t in targets.items()]
    dims = [[k] for k in targets]
    out = ipfn.ipfn(d, aggregates, dims, weight_col="w", convergence_rate=1e-12, max_iteration=1000, rate_tolerance=0.0).iteration()
    return out["w"].to_numpy(dtype=np.float64)


def worker(pkg: str, data_path: str, out_path: str) -> None:
    import warnings

    import pandas as pd

    warnings.filterwarnings("ignore")
    z = np.load(data_path)
    df = pd.DataFrame({k: z[k] for k in NAMES})
    targets = json.loads(Path(data_path + ".json").read_text())
    targets = {k: {int(c): v for c, v in t.items()} for k, t in targets.items()}
    base = z["base"]
    fn = {"balance": run_balance, "weightipy": run_weightipy, "ipfn": run_ipfn}[pkg]
    times = []
    w = None
    for _ in range(3):
        t0 = time.perf_counter()
        w = fn(df, targets, base)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    fn(df, targets, base)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.save(out_path, w)
    print(json.dumps({"seconds": min(times), "peak_bytes": peak}))


# ----------------------------------------------------------------- driver
def ours(data, targets, base):
    sys.path.insert(0, str(HERE.parent))
    from analysis import rake

    times = []
    w = None
    for _ in range(3):
        t0 = time.perf_counter()
        w = rake(data, targets, base)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    rake(data, targets, base)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return w, min(times), peak


R_SCRIPT = r"""
suppressMessages(library(survey))
a <- commandArgs(TRUE)
d <- read.csv(a[1]); tg <- jsonlite::fromJSON(a[2])
for (v in c("age","sex","edu","region")) d[[v]] <- factor(d[[v]])
des <- svydesign(ids=~1, weights=~base, data=d)
pops <- lapply(names(tg), function(v) { x <- data.frame(factor(names(tg[[v]]), levels=levels(d[[v]])), unlist(tg[[v]])); names(x) <- c(v, "Freq"); x })
fs <- lapply(names(tg), function(v) as.formula(paste0("~", v)))
best <- Inf
for (i in 1:3) { t <- system.time(r <- rake(des, fs, pops, control=list(epsilon=1e-10, maxit=100)))[["elapsed"]]; best <- min(best, t) }
write.csv(data.frame(w=weights(r)), a[3], row.names=FALSE)
cat(best, "\n")
"""


def run_r(tmp: Path, data, targets, base) -> tuple[np.ndarray, float] | str:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return "Rscript not found"
    import pandas as pd

    csv = tmp / "data.csv"
    pd.DataFrame({**data, "base": base}).to_csv(csv, index=False)
    tj = tmp / "targets.json"
    tj.write_text(json.dumps({k: {str(c): v for c, v in t.items()} for k, t in targets.items()}))
    script = tmp / "rake.R"
    script.write_text(R_SCRIPT)
    out = tmp / "w_r.csv"
    r = subprocess.run([rscript, str(script), str(csv), str(tj), str(out)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return "R failed: " + r.stderr.strip().splitlines()[-1][:80]
    return pd.read_csv(out)["w"].to_numpy(), float(r.stdout.split()[-1])


def max_rel_diff(w: np.ndarray, ref: np.ndarray) -> float:
    w = w * (ref.sum() / w.sum())
    return float(np.max(np.abs(w - ref) / ref))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--compare-python", default=os.environ.get("BENCH_COMPARE_PYTHON", str(DEFAULT_COMPARE)))
    ap.add_argument("--skip", nargs="*", default=[], help="competitors to skip: balance weightipy ipfn R")
    ap.add_argument("--worker", nargs=3, metavar=("PKG", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    have_py = Path(args.compare_python).exists()
    if not have_py:
        print(f"# {args.compare_python} not found: balance, weightipy and ipfn skipped (see the docstring)", file=sys.stderr)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"# raking to 4 margins ({'x'.join(map(str, SIZES))} categories), best of 3; {os.cpu_count()} CPUs, load {load:.1f}")
    print(f"{'n':>9} {'implementation':<16} {'seconds':>10} {'x ours':>9} {'peak MB':>9} {'x input':>8} {'max rel diff':>13}")
    for n in args.sizes:
        data, targets, base = make_data(n)
        input_bytes = sum(a.nbytes for a in data.values()) + base.nbytes
        w, secs, peak = ours(data, targets, base)
        print(f"{n:>9} {'analysis':<16} {secs:>10.4f} {1.0:>9.1f} {peak / 1e6:>9.1f} {peak / input_bytes:>8.2f} {0.0:>13.1e}", flush=True)
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td)
            np.savez(tmp / "data.npz", base=base, **data)
            (tmp / "data.npz.json").write_text(json.dumps({k: {str(c): v for c, v in t.items()} for k, t in targets.items()}))
            for pkg in ("balance", "weightipy", "ipfn"):
                if pkg in args.skip or not have_py:
                    continue
                r = subprocess.run([args.compare_python, __file__, "--worker", pkg, str(tmp / "data.npz"), str(tmp / f"{pkg}.npy")],
                                   capture_output=True, text=True, check=False)
                if r.returncode != 0:
                    msg = (r.stderr.strip().splitlines() or ["?"])[-1][:70]
                    print(f"{n:>9} {pkg:<16} failed: {msg}", flush=True)
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                wo = np.load(tmp / f"{pkg}.npy")
                print(f"{n:>9} {pkg:<16} {res['seconds']:>10.4f} {res['seconds'] / secs:>9.1f} "
                      f"{res['peak_bytes'] / 1e6:>9.1f} {res['peak_bytes'] / input_bytes:>8.2f} {max_rel_diff(wo, w):>13.1e}", flush=True)
            if "R" not in args.skip:
                rr = run_r(tmp, data, targets, base)
                if isinstance(rr, str):
                    print(f"{n:>9} {'R survey::rake':<16} skipped: {rr}", flush=True)
                else:
                    wr, rs = rr
                    print(f"{n:>9} {'R survey::rake':<16} {rs:>10.4f} {rs / secs:>9.1f} {'-':>9} {'-':>8} {max_rel_diff(wr, w):>13.1e}", flush=True)


if __name__ == "__main__":
    main()
