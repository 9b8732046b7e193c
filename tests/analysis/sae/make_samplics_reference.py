"""Write samplics_reference.json: Fay-Herriot fits by samplics 0.6.x on fixed inputs, for test_sae_samplics.py.

samplics pins its own numpy and polars, so it never enters the project's environment.
Run it from a throwaway venv (the same inputs and outputs are stored in the JSON, so the
test needs neither samplics nor this script):

    python3 -m venv bench/out/venv-samplics
    bench/out/venv-samplics/bin/pip install 'samplics==0.6.*'
    bench/out/venv-samplics/bin/python tests/analysis/sae/make_samplics_reference.py

Datasets: ``milk`` (Arora and Lahiri 1997: expenditure on milk in 43 small areas, the
example of Rao and Molina 2015, sec. 6.3, shipped with samplics; covariates the major-area
dummies), ``city`` (30 synthetic neighborhoods, two covariates) and ``flat`` (15 areas
whose REML variance estimate is at the boundary 0).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
from samplics.datasets import load_expenditure_milk
from samplics.sae import EblupAreaModel
from samplics.utils.types import FitMethod

OUT = Path(__file__).with_name("samplics_reference.json")


def datasets() -> dict[str, dict]:
    milk = load_expenditure_milk()["data"]
    major = milk["major_area"].to_numpy()
    x_milk = np.column_stack([(major == k).astype(float) for k in (2, 3, 4)])
    rng = np.random.default_rng(20261202)
    m = 30
    x_city = np.column_stack([rng.uniform(0.2, 0.8, m), rng.normal(60, 8, m)])
    n = rng.integers(8, 150, m)
    psi_city = 320.0 / n
    theta = 20 + 25 * x_city[:, 0] + 0.4 * x_city[:, 1] + rng.normal(0, 3.0, m)
    y_city = theta + rng.normal(0, np.sqrt(psi_city))
    x_flat = rng.normal(0, 1, (15, 1))
    psi_flat = rng.uniform(4, 12, 15)
    y_flat = 50 + 2 * x_flat[:, 0] + rng.normal(0, np.sqrt(psi_flat)) * 0.6
    return {
        "milk": {"y": milk["direct_est"].to_numpy(), "psi": milk["std_error"].to_numpy() ** 2, "x": x_milk},
        "city": {"y": y_city, "psi": psi_city, "x": x_city},
        "flat": {"y": y_flat, "psi": psi_flat, "x": x_flat},
    }


def _fit_once(d: dict, method: str, start: float) -> EblupAreaModel:
    model = EblupAreaModel(method=FitMethod.reml if method == "REML" else FitMethod.ml)
    area = np.arange(d["y"].size)
    model.fit(yhat=d["y"], X=d["x"], area=area, error_std=np.sqrt(d["psi"]), re_std_start=start, tol=1e-13, maxiter=500)
    model.predict(X=d["x"], area=area)
    return model


def _values(model: EblupAreaModel, restarts: int) -> dict:
    area = np.arange(len(model.area_est))
    return {
        "sigma2": np.asarray(model.re_std**2).item(),
        "sigma2_var": np.asarray(model.re_std_cov).item(),
        "beta": [float(b) for b in model.fixed_effects],
        "beta_se": [float(s) for s in model.fe_std],
        "estimate": [float(model.area_est[a]) for a in area],
        "mse": [float(model.area_mse[a]) for a in area],
        "loglike": float(model.goodness["loglike"]),
        "iterations": int(np.asarray(model.convergence["iterations"]).item()),
        "restarts": restarts,
    }


def fit(d: dict, method: str) -> dict:
    """One call with samplics' defaults (start 0.001), and for ML also restarted until it converges.

    samplics 0.6.1's ML scoring stops after two steps: the score becomes a numpy array, so
    ``sigma2_v += step`` updates in place the object ``sigma2_v_previous`` points to and
    the relative change it tests is 0. Calling fit again from the last value
    (``re_std_start``) continues the same Fisher steps; ``restarted`` is where that settles.
    """
    model = _fit_once(d, method, 0.001)
    out = {"single_call": _values(model, 0)}
    s2 = out["single_call"]["sigma2"]
    restarts = 0
    while method == "ML" and restarts < 100:
        restarts += 1
        model = _fit_once(d, method, max(np.sqrt(s2), 0.001))
        new = np.asarray(model.re_std**2).item()
        if abs(new - s2) <= 1e-12 * max(1.0, s2):
            break
        s2 = new
    out["restarted"] = _values(model, restarts)
    return out


def main() -> None:
    out = {
        "samplics": version("samplics"),
        "call": "EblupAreaModel(method).fit(yhat=y, X=x, area=range(m), error_std=sqrt(psi), tol=1e-13, "
        "maxiter=500); .predict(X=x, area=range(m))",
        "datasets": {},
    }
    for name, d in datasets().items():
        out["datasets"][name] = {
            "inputs": {"y": d["y"].tolist(), "psi": d["psi"].tolist(), "x": d["x"].tolist()},
            "REML": fit(d, "REML"),
            "ML": fit(d, "ML"),
        }
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
