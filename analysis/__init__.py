"""Survey statistics for the community trust platform: weights, design-based estimates, scales, trends.

Pure functions on a respondent-level table; no web framework, no plotting imports.
"""

from .design import Calibration, Design, Replicates
from .estimate import (
    Estimates,
    ci_korn_graubard,
    ci_logit,
    ci_wald,
    difference,
    domain_estimates,
    mean,
    proportion,
    total,
)
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
    "Design",
    "Estimates",
    "Replicates",
    "base_weights",
    "ci_korn_graubard",
    "ci_logit",
    "ci_wald",
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
    "total",
    "trim",
    "trim_and_rake",
    "weight_diagnostics",
]
