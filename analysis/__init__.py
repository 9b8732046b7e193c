"""Survey statistics for the community trust platform: weights, design-based estimates, scales, trends.

Pure functions on a respondent-level table; no web framework, no plotting imports.
"""

from .campaign import agency_index_estimates, campaign_benchmarks, describe_benchmark
from .changes import adjusted_level, holm_bh, linear_trend, satterthwaite_df, wave_change
from .compare import adjust_pvalues, compare_waves
from .design import Calibration, Design, Replicates
from .estimate import (
    Estimates,
    ci_korn_graubard,
    ci_logit,
    ci_wald,
    ci_wilson,
    difference,
    domain_estimates,
    mean,
    proportion,
    regression,
    total,
)
from .io import Codebook, read_codebook, read_export
from .sae import (
    AreaEstimates,
    FayHerriot,
    FHDiagnostics,
    area_estimates,
    benchmark,
    fay_herriot,
    fh_diagnostics,
    smooth_variances,
)
from .scales import cronbach_alpha, index_reliability, score_index, score_indexes
from .weights import (
    base_weights,
    effective_sample_size,
    kish_deff,
    margin_fit,
    nonresponse_adjust,
    poststratify,
    rake,
    trim,
    trim_and_rake,
    weight_diagnostics,
)

__all__ = [
    "Calibration",
    "Codebook",
    "adjust_pvalues",
    "compare_waves",
    "cronbach_alpha",
    "index_reliability",
    "read_codebook",
    "read_export",
    "score_index",
    "score_indexes",
    "wave_change",
    "agency_index_estimates",
    "campaign_benchmarks",
    "describe_benchmark",
    "linear_trend",
    "satterthwaite_df",
    "holm_bh",
    "adjusted_level",
    "Design",
    "Estimates",
    "Replicates",
    "base_weights",
    "ci_korn_graubard",
    "ci_logit",
    "ci_wald",
    "ci_wilson",
    "difference",
    "domain_estimates",
    "effective_sample_size",
    "kish_deff",
    "margin_fit",
    "mean",
    "nonresponse_adjust",
    "poststratify",
    "proportion",
    "rake",
    "regression",
    "total",
    "trim",
    "trim_and_rake",
    "weight_diagnostics",
    "AreaEstimates",
    "FayHerriot",
    "FHDiagnostics",
    "area_estimates",
    "benchmark",
    "fay_herriot",
    "fh_diagnostics",
    "smooth_variances",
]
