"""Model-based estimates for a wave's small areas (neighborhoods or beats), as the pages show them.

The numbers come from :func:`analysis.area_estimates` on the wave's export (cached like the
comparison tables); this module only picks the rows a page shows and words them. Areas with
fewer than the small-count threshold of respondents get the model's synthetic estimate and no
direct estimate, on staff and public pages alike; the public page also withholds an area whose
root mean squared error is above ``AREA_MAX_RMSE``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from analysis.sae import AreaEstimates, area_estimates

from ..formats import period_text
from ..models import AreaKind, Wave
from . import present, service

#: Bump when the cached objects change shape or meaning.
CACHE_VERSION = "areas-1"


@dataclass
class AreaView:
    """What ``results/_areas.html`` needs."""

    public: bool
    wave: Wave
    #: The survey's name in its heading: its months in the visitor's language on the public page,
    #: the title staff gave it on theirs.
    wave_name: str
    kind: str
    measure: str
    measure_label: str
    measures: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    min_n: int
    pct: int
    withheld: int = 0
    model: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _definition(wave: Wave) -> list[Any]:
    return [[a.name, a.stratum, a.population, sorted((a.covariates or {}).items())] for a in wave.areas]


def estimates(wave: Wave, min_n: int) -> tuple[AreaEstimates, Any]:
    """The wave's area estimates and its codebook, from the results cache when it has them."""
    # The wave's key changes with every new response; the areas' definition joins it here.
    key = service.wave_key(wave, {"v": CACHE_VERSION, "areas": _definition(wave), "min_n": min_n})

    def compute() -> tuple[AreaEstimates, dict[str, Any]]:
        frame, codebook = service.export_table([wave])
        return area_estimates(frame, codebook, min_n=min_n), codebook.raw

    result, raw = service.cached(f"{key}-areas.pickle", compute)
    from analysis.io import codebook_from_dict

    return result, codebook_from_dict(raw, "export")


def _fmt(value: float, public: bool) -> str:
    return format_decimal(round(value) if public else round(value, 1), "#,##0" if public else "#,##0.0")


WARNINGS = {
    "not_converged": lambda: _("The model's variance estimate did not converge; treat these estimates with caution."),
    "zero_variance": lambda: _("The model finds no differences between areas beyond what its covariates explain; estimates for areas without respondents may look more certain than they are."),
    "outlier": lambda: _("Some areas are far from what the model predicts; check them before relying on the model."),
    "non_normal": lambda: _("The model's residuals are not normally distributed; its intervals may be too narrow or too wide."),
    "large_area_bias": lambda: _("For the areas with the most respondents the model differs systematically from their direct estimates: a covariate may be missing."),
}


def warm(waves: list[Wave]) -> int:
    """Fit and cache the small-area model of every wave that has areas (as ``flask results-warm``
    does for the comparisons); how many were fitted."""
    done = 0
    for wave in waves:
        if wave.areas:
            try:
                estimates(wave, current_app.config["SMALL_COUNT_THRESHOLD"])
            except ValueError:  # too small to model yet: the page says so when asked
                continue
            done += 1
    return done


def view(wave: Wave | None, *, public: bool, measure: str | None = None) -> AreaView | None:
    """The area table of one wave and one index (``measure``, default trust), or None when the
    wave has no areas or too few areas had enough respondents for the model."""
    if wave is None or not wave.areas:
        return None
    min_n = current_app.config["SMALL_COUNT_THRESHOLD"]
    try:
        result, codebook = estimates(wave, min_n)
    except ValueError:  # e.g. a wave too small to rake to the population targets yet
        return None
    est = result.estimates
    if est.empty:
        return None
    keys = list(dict.fromkeys(est["measure"]))
    measure = measure if measure in keys else ("trust" if "trust" in keys else keys[0])
    max_rmse = current_app.config["AREA_MAX_RMSE"]
    districts = {a.name: a.stratum for a in wave.areas}
    rows, withheld = [], 0
    for r in est[est["measure"] == measure].itertuples(index=False):
        hidden = public and not r.rmse <= max_rmse
        withheld += hidden
        has_direct = not math.isnan(r.direct)
        rows.append({
            "name": r.area, "district": districts.get(r.area) or "", "n": format_decimal(int(r.n), "#,##0"),
            "synthetic": r.kind == "synthetic", "withheld": hidden,
            "estimate": None if hidden else _fmt(r.estimate, public),
            "low": None if hidden else _fmt(max(r.ci_low, 0.0), public),
            "high": None if hidden else _fmt(min(r.ci_high, 100.0), public),
            "rmse": _fmt(r.rmse, public),
            "direct": _fmt(r.direct, public) if has_direct else None,
            "direct_low": _fmt(max(r.direct - 1.96 * r.direct_se, 0.0), public) if has_direct else None,
            "direct_high": _fmt(min(r.direct + 1.96 * r.direct_se, 100.0), public) if has_direct else None,
            "shrinkage": format_decimal(round(r.shrinkage, 2), "0.00"),
        })
    model = result.models
    info = model[(model["measure"] == measure)].iloc[0].to_dict()
    return AreaView(
        public=public, wave=wave, wave_name=period_text(wave.opens_on, wave.last_day()) if public else wave.title,
        kind=str(wave.area_kind or AreaKind.NEIGHBORHOOD), measure=measure,
        measure_label=present.measure_label(codebook, measure),
        measures=[(k, present.measure_label(codebook, k)) for k in keys], rows=rows, min_n=min_n, pct=95,
        withheld=withheld,
        model={"sigma2": format_decimal(round(info["sigma2"], 1), "#,##0.0"),
               "covariates": ", ".join(c for c in info["covariates"] if c != "intercept"),
               "benchmarked": bool(info["benchmarked"]), "sampled": int(info["sampled"]), "areas": int(info["areas"])},
        warnings=[WARNINGS[code]() for code in info["warnings"] if code in WARNINGS],
    )
