"""Command line: ``python -m analysis estimate | weight | compare | report`` (see ``--help`` of each)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .compare import compare_waves
from .design import Design
from .estimate import mean, proportion, total
from .io import Codebook, read_codebook, read_export, read_strings, read_targets, to_numeric
from .scales import index_reliability
from .weights import poststratify, rake, trim_and_rake, weight_diagnostics

ESTIMATE_KEYS = ["variable", "category", "domain", "estimate", "se", "ci_low", "ci_high", "interval", "df", "deff", "n"]


def _codebook_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--codebook", help="codebook JSON whose missing codes (e.g. -9 'prefer not to say') are treated "
                   "as missing (default: codebook.json beside the data, when there is one)")
    p.add_argument("--negative-values-are-answers", action="store_true",
                   help="without a codebook, count negative values as answers instead of refusing")


def _find_codebook(args: argparse.Namespace) -> Codebook | None:
    """The codebook named by --codebook, else codebook.json beside the data, else None."""
    if args.codebook:
        return read_codebook(args.codebook)
    beside = Path(args.data).resolve().parent / "codebook.json"
    if beside.is_file():
        print(f"using the codebook beside the data: {beside}", file=sys.stderr)
        return read_codebook(beside)
    return None


def _missing_as_none(data: pd.DataFrame, columns: Sequence[str | None], codebook: Codebook | None,
                     allow_negative: bool) -> pd.DataFrame:
    """Set each column's missing codes (from the codebook) to missing; refuse negative codes
    that no codebook explains, because exports code "prefer not to say" and the like as -9."""
    out = data.copy()
    for col in dict.fromkeys(c for c in columns if c is not None):
        values = pd.to_numeric(out[col], errors="coerce")
        known = codebook is not None and col in codebook.variables
        if known:
            codes = codebook.missing_codes(col)
            if codes:
                out[col] = out[col].where(~values.isin(codes).to_numpy(), None)
        elif (values < 0).any() and not allow_negative:
            found = sorted({f"{v:g}" for v in values[values < 0]})[:5]
            where = "no codebook was given or found beside the data" if codebook is None else \
                "the codebook does not describe this column"
            raise ValueError(
                f"column {col!r} has negative codes {found} and {where}: in the platform's exports these mean "
                "'prefer not to say', 'don't know' or 'not asked' and must not be counted as answers. Give "
                "--codebook codebook.json (the export's codebook lists each variable's missing codes), or "
                "--negative-values-are-answers if they really are values")
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analysis", description="Survey weights, estimates and wave comparisons.")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("estimate", help="design-based mean, total or proportions with SE, CI, deff")
    e.add_argument("data", help="CSV file, one row per respondent")
    e.add_argument("--weights", required=True, help="weight column")
    e.add_argument("--strata", help="stratum column")
    e.add_argument("--cluster", help="PSU column (without it each row is its own unit)")
    e.add_argument("--fpc", help="population size of the stratum (or of the PSUs, one-stage cluster design)")
    what = e.add_mutually_exclusive_group(required=True)
    what.add_argument("--mean", metavar="COL")
    what.add_argument("--total", metavar="COL")
    what.add_argument("--proportion", metavar="COL")
    e.add_argument("--by", help="domain column: one estimate per value")
    cal = e.add_mutually_exclusive_group()
    cal.add_argument("--rake", metavar="TARGETS.csv", help="rake to margins (variable,category,population)")
    cal.add_argument("--poststratify", metavar="TARGETS.csv", help="post-stratify to one variable's counts")
    e.add_argument("--level", type=float, default=0.95)
    e.add_argument("--ci", choices=["logit", "beta", "wald"], default="logit", help="interval for proportions")
    e.add_argument("--lonely-psu", default="fail", choices=["fail", "remove", "certainty", "adjust", "average"])
    e.add_argument("--format", choices=["json", "csv"], default="json")
    _codebook_arguments(e)

    w = sub.add_parser("weight", help="add a weight column: rake or post-stratify, optional trimming")
    w.add_argument("data")
    w.add_argument("--weights", help="base weight column (ones when omitted; empty cells count as 1)")
    cal = w.add_mutually_exclusive_group(required=True)
    cal.add_argument("--rake", metavar="TARGETS.csv")
    cal.add_argument("--poststratify", metavar="TARGETS.csv")
    w.add_argument("--max-ratio", type=float, help="trim at this multiple of the mean weight, then re-rake")
    w.add_argument("--name", default="weight", help="name of the new column (default: weight)")
    w.add_argument("--output", "-o", help="output CSV (default: standard output)")
    w.add_argument("--diagnostics", help="write diagnostics JSON here (default: standard error)")
    w.add_argument("--tol", type=float, default=1e-10)
    w.add_argument("--max-iter", type=int, default=100, help="raking sweeps before giving up (default 100)")
    _codebook_arguments(w)

    c = sub.add_parser("compare", help="wave-over-wave changes of every index and item")
    c.add_argument("export", help="export CSV")
    c.add_argument("--codebook", required=True, help="codebook JSON")
    rk = c.add_mutually_exclusive_group()
    rk.add_argument("--rake-from-codebook", dest="rake", action="store_const", const=True,
                    help="rake each wave to the codebook's targets (the default when it has any)")
    rk.add_argument("--no-rake", dest="rake", action="store_const", const=False, help="base weights only")
    c.add_argument("--by", help="also compare within each value of this column (e.g. district)")
    c.add_argument("--level", type=float, default=0.95)
    c.add_argument("--min-n", type=int, default=10, help="fewer responses than this in a wave: not compared")
    c.add_argument("--format", choices=["json", "csv", "text"], default="text")
    c.add_argument("--quiet", action="store_true", help="no progress on standard error")
    c.add_argument("--max-iter", type=int, default=100, help="raking sweeps per wave before giving up (default 100)")

    r = sub.add_parser("report", help="one HTML report (charts embedded) plus the tables as CSV")
    r.add_argument("export", help="export CSV")
    r.add_argument("--codebook", required=True, help="codebook JSON")
    r.add_argument("--out", required=True, help="folder to write report.html and the CSV files into")
    r.add_argument("--wave", dest="waves", action="append", help="only these waves (repeat; default: all)")
    r.add_argument("--by", action="append", help="breakdowns (repeat; default: district and every weighting variable)")
    r.add_argument("--title", default="Community trust survey: results by wave")
    r.add_argument("--min-n", type=int, default=10, help="fewer responses than this in a cell: not compared")
    r.add_argument("--level", type=float, default=0.95)
    r.add_argument("--quiet", action="store_true", help="no progress on standard error")
    r.add_argument("--max-iter", type=int, default=100, help="raking sweeps per wave before giving up (default 100)")
    return p


def _clean(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _emit(records: list[dict[str, Any]], fmt: str, keys: list[str]) -> None:
    if fmt == "json":
        json.dump([{k: _clean(r.get(k)) for k in keys if k in r} for r in records], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        pd.DataFrame(records, columns=keys).to_csv(sys.stdout, index=False, lineterminator="\n")


def _estimate(args: argparse.Namespace) -> int:
    data = read_strings(args.data)
    for col in [args.weights, args.strata, args.cluster, args.fpc, args.by, args.mean, args.total, args.proportion]:
        if col is not None and col not in data.columns:
            raise ValueError(f"column {col!r} is not in {args.data}; columns are {list(data.columns)}")
    codebook = _find_codebook(args)
    data = _missing_as_none(data, [args.mean, args.total, args.proportion, args.by], codebook,
                            args.negative_values_are_answers)
    w = to_numeric(data[args.weights], args.weights)
    if np.isnan(w).any():
        raise ValueError(f"weight column {args.weights!r} has empty or NA cells: every row needs a weight")
    fpc = None if args.fpc is None else to_numeric(data[args.fpc], args.fpc)
    design = Design.from_data(data, weights=w, strata=args.strata, clusters=args.cluster, fpc=fpc, lonely_psu=args.lonely_psu)
    if args.rake:
        design = design.rake(read_targets(args.rake))
    elif args.poststratify:
        targets = read_targets(args.poststratify)
        if len(targets) != 1:
            raise ValueError("--poststratify takes targets for exactly one variable; use --rake for several")
        (var, pop), = targets.items()
        design = design.poststratify(var, pop)
    by = args.by
    if args.proportion:
        frame = proportion(design, args.proportion, by=by, level=args.level, method=args.ci)
        keys = ESTIMATE_KEYS
    else:
        col = args.mean or args.total
        y = to_numeric(data[col], col)
        fn = mean if args.mean else total
        frame = fn(design, y, by=by, level=args.level, name=col)
        keys = [k for k in ESTIMATE_KEYS if k != "category"]
    if by is None:
        keys = [k for k in keys if k != "domain"]
    _emit(frame.to_dict(orient="records"), args.format, keys)
    return 0


def _weight(args: argparse.Namespace) -> int:
    original = read_strings(args.data)
    codebook = _find_codebook(args)
    targets_file = args.rake or args.poststratify
    variables = list(read_targets(targets_file))
    for col in variables:
        if col not in original.columns:
            raise ValueError(f"target variable {col!r} is not a column of {args.data}")
    data = _missing_as_none(original, variables, codebook, args.negative_values_are_answers)
    if args.weights:
        base = to_numeric(data[args.weights], args.weights)
        base = np.where(np.isnan(base), 1.0, base)
    else:
        base = np.ones(len(data))
    if args.rake:
        targets = read_targets(args.rake)
        if args.max_ratio:
            w = trim_and_rake(data, targets, base, max_ratio=args.max_ratio, tol=args.tol, max_iter=args.max_iter)
        else:
            w = rake(data, targets, base, tol=args.tol, max_iter=args.max_iter)
    else:
        targets = read_targets(args.poststratify)
        w = poststratify(data, targets, base)
    out = original.copy()
    out[args.name] = w
    diag = weight_diagnostics(w, data, targets)
    diag["base_kish_deff"] = float(len(base) * np.sum(base**2) / base.sum() ** 2)
    if args.output:
        out.to_csv(args.output, index=False, lineterminator="\n")
    else:
        out.to_csv(sys.stdout, index=False, lineterminator="\n")
    text = json.dumps({k: _clean(v) if not isinstance(v, list) else v for k, v in diag.items()}, indent=2, default=_clean)
    if args.diagnostics:
        with open(args.diagnostics, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        print(text, file=sys.stderr)
    return 0


COMPARE_KEYS = [
    "measure", "kind", "label", "category", "by", "domain", "comparison", "wave_from", "wave_to",
    "estimate_from", "estimate_to", "difference", "se", "df", "ci_low", "ci_high", "p_value", "p_holm",
    "ci_low_holm", "ci_high_holm", "level_holm", "p_bh", "ci_low_bh", "ci_high_bh", "level_bh", "family",
    "n_from", "n_to", "comparable", "too_few", "detectable", "note", "verdict",
]


def _compare(args: argparse.Namespace) -> int:
    frame, codebook = read_export(args.export, args.codebook)
    table = compare_waves(frame, codebook, by=args.by, rake=args.rake, level=args.level,
                          min_n=args.min_n, progress=not args.quiet, max_iter=args.max_iter)
    if args.format == "text":
        for v in table["verdict"]:
            print(v)
        rel = index_reliability(frame, codebook.indexes, by=["wave"])
        if not rel.empty:
            print()
            print("Reliability (Cronbach's alpha of each index's items, by wave):")
            for r in rel.to_dict(orient="records"):
                wave = r["wave"] if isinstance(r["wave"], str) else "all waves"
                value = f"{r['alpha']:.2f}" if r["alpha"] is not None and r["alpha"] == r["alpha"] else "not computed"
                note = f" ({r['note']})" if r["note"] else ""
                print(f"  {codebook.label(r['index'])}, {wave}: alpha {value}, n = {r['n']}{note}")
    else:
        _emit(table.to_dict(orient="records"), args.format, COMPARE_KEYS)
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report
    from .tables import GROUP_VARIABLES

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    say(f"reading {args.export}")
    frame, codebook = read_export(args.export, args.codebook)
    write_report(frame, codebook, args.out, waves=args.waves, breakdowns=args.by or GROUP_VARIABLES, title=args.title,
                 min_n=args.min_n, level=args.level, progress=say, max_iter=args.max_iter)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 with a message for bad input)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "estimate":
            return _estimate(args)
        if args.command == "weight":
            return _weight(args)
        if args.command == "report":
            return _report(args)
        return _compare(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
