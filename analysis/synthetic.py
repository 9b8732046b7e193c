"""Synthetic exports shaped like the core trust instrument, for benchmarks, tests and trying things out.

:func:`synthetic_export` returns the typed frame and :class:`Codebook` that :func:`read_export`
would give for a real export: a stratified sample per wave (districts as strata, base weights
from invitations proportional to population), weighting variables with some nonresponse and
population targets, 0-10 and choice items driven by one latent trust level that drifts by
district (the first district rises, the second falls), and the instrument's indexes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .io import EXPORT_FORMAT, Codebook, codebook_from_dict

__all__ = ["synthetic_export"]

SCALES = {"safety_feel": 0.8, "trust_agency": 0.0, "pj_respect": 0.4, "pj_listen": -0.3, "eff_prevent": -0.2,
          "eff_response": 0.2, "duty_back": 0.0}
# key: (number of options, favorable first, latent shift, missing codes beyond -9)
CHOICES = {"safety_community": (4, True, 0.5), "job_rating": (5, True, 0.0), "pj_fair": (4, False, 0.0),
           "pj_explain": (4, False, -0.5), "equal_treatment": (4, True, -0.4), "right_force": (4, True, 0.0),
           "accountable": (4, True, -0.8), "moral_align": (5, True, 0.0), "contact_respect": (2, True, 0.0),
           "contact_proper": (2, True, 0.5), "contact_satisfied": (4, True, 0.0), "complaint_aware": (2, True, 0.0)}
WEIGHTING = {"age_band": [0.13, 0.2, 0.18, 0.16, 0.16, 0.17], "sex": [0.49, 0.51], "tenure": [0.55, 0.4, 0.05],
             "education": [0.1, 0.27, 0.3, 0.2, 0.13], "home_language": [0.7, 0.2, 0.1]}
RACE = {"hispanic": 0.2, "white": 0.55, "black": 0.13, "asian": 0.07, "other": 0.05}
INDEXES = [
    ("trust", "Trust score", [("pj_respect", 0, 10, False), ("pj_listen", 0, 10, False)]),
    ("safety", "Safety score", [("safety_feel", 0, 10, False)]),
    ("procedural_justice", "Procedural justice",
     [("pj_respect", 0, 10, False), ("pj_listen", 0, 10, False), ("pj_fair", 1, 4, False), ("pj_explain", 1, 4, False)]),
    ("effectiveness", "Effectiveness", [("eff_prevent", 0, 10, False), ("eff_response", 0, 10, False)]),
    ("obligation", "Felt obligation to obey", [("duty_back", 0, 10, False)]),
    ("moral_alignment", "Moral alignment", [("moral_align", 1, 5, True)]),
    ("contact_quality", "Quality of contact",
     [("contact_respect", 1, 2, True), ("contact_proper", 1, 2, True), ("contact_satisfied", 1, 4, True)]),
]


def _lab(text: str) -> dict[str, str]:
    return {"en": text, "es": text, "ar": text}


def _codebook(waves: list[str], districts: list[str], pops: dict[str, int]) -> dict[str, Any]:
    variables: list[dict[str, Any]] = [
        {"name": "response_id", "kind": "meta", "type": "string", "label": _lab("Response")},
        {"name": "wave", "kind": "meta", "type": "string", "label": _lab("Wave")},
        {"name": "stratum", "kind": "meta", "type": "string", "label": _lab("Stratum")},
        {"name": "language", "kind": "meta", "type": "string", "label": _lab("Language")},
        {"name": "base_weight", "kind": "meta", "type": "number", "label": _lab("Base weight")},
    ]
    for name, shares in WEIGHTING.items():
        variables.append({"name": name, "kind": "weighting", "type": "choice", "label": _lab(name),
                          "values": [{"code": c + 1, "label": _lab(f"{name} {c + 1}")} for c in range(len(shares))],
                          "missing_codes": [-9]})
    variables.append({"name": "race_eth", "kind": "weighting", "type": "string", "label": _lab("Race and ethnicity"),
                      "values": [{"code": g, "label": _lab(g)} for g in RACE], "missing_codes": []})
    variables.append({"name": "district", "kind": "weighting", "type": "string", "label": _lab("District"),
                      "values": [{"code": d, "label": _lab(d)} for d in districts], "missing_codes": []})
    for key in SCALES:
        variables.append({"name": key, "kind": "item", "type": "scale", "label": _lab(key.replace("_", " ").capitalize()),
                          "min": 0, "max": 10, "missing_codes": [-9],
                          "values": [{"code": 0, "label": _lab("Lowest")}, {"code": 10, "label": _lab("Highest")}]})
    for key, (k, _fav, _shift) in CHOICES.items():
        variables.append({"name": key, "kind": "item", "type": "choice", "label": _lab(key.replace("_", " ").capitalize()),
                          "values": [{"code": c, "label": _lab(f"Option {c}")} for c in range(1, k + 1)],
                          "missing_codes": [-9]})
    for opt in range(1, 10):
        variables.append({"name": f"contact_any__{opt}", "kind": "multi_option", "type": "multi",
                          "label": _lab(f"Contact – kind {opt}"), "item": "contact_any", "option": opt,
                          "values": [{"code": 0, "label": _lab("Not selected")}, {"code": 1, "label": _lab("Selected")}],
                          "missing_codes": [-9]})
    total = sum(pops.values())
    targets = [{"variable": "district", "category": d, "stratum": None, "population": float(pops[d])} for d in districts]
    for name, shares in WEIGHTING.items():
        targets += [{"variable": name, "category": str(c + 1), "stratum": None, "population": total * s}
                    for c, s in enumerate(shares)]
    targets += [{"variable": "race_eth", "category": g, "stratum": None, "population": total * s} for g, s in RACE.items()]
    indexes = [{"key": key, "label": _lab(label),
                "items": [{"key": k, "min": lo, "max": hi, "reverse": rev} for k, lo, hi, rev in items]}
               for key, label, items in INDEXES]
    return {"format": EXPORT_FORMAT, "instrument": {"key": "core-trust", "version": 1}, "languages": ["en", "es", "ar"],
            "waves": [{"slug": w, "title": f"Wave {w}", "order": i + 1, "instrument_version": 1} for i, w in enumerate(waves)],
            "variables": variables, "indexes": indexes, "targets": targets}


def synthetic_export(waves: int = 12, per_wave: int = 5000, districts: int = 10, seed: int = 1) -> tuple[pd.DataFrame, Codebook]:
    """A typed export frame and its codebook: ``waves`` waves of ``per_wave`` responses each."""
    rng = np.random.default_rng(seed)
    slugs = [f"{2020 + i // 4}-q{i % 4 + 1}" for i in range(waves)]
    names = [f"D{d + 1:02d}" for d in range(districts)]
    pops = {d: int(rng.integers(20_000, 60_000)) for d in names}
    level_d = rng.normal(0, 0.6, districts)
    drift = np.zeros(districts)
    drift[0] = 0.35
    if districts > 1:
        drift[1] = -0.25
    total = sum(pops.values())
    frames = []
    for wi, slug in enumerate(slugs):
        n = per_wave
        p_d = np.array([pops[d] for d in names], dtype=float) / total
        dist = rng.choice(districts, size=n, p=p_d)
        counts = np.bincount(dist, minlength=districts)
        invited = np.maximum(np.rint(counts / 0.3), 1)
        base = np.array([pops[d] for d in names]) / invited
        cols: dict[str, Any] = {"response_id": [f"{wi:02d}{i:06d}" for i in range(n)], "wave": slug,
                                "stratum": np.array(names, dtype=object)[dist], "language": "en",
                                "base_weight": base[dist]}
        latent = 5.4 + level_d[dist] + drift[dist] * wi + 0.05 * wi + rng.normal(0, 1.5, n)
        for name, shares in WEIGHTING.items():
            v = (rng.choice(len(shares), size=n, p=shares) + 1).astype(object)
            v[rng.random(n) < 0.05] = None
            cols[name] = np.array([None if x is None else str(x) for x in v], dtype=object)
        latent += 0.25 * (np.array([float(a) if a else 3.5 for a in cols["age_band"]]) - 3.5)
        race = rng.choice(list(RACE), size=n, p=list(RACE.values())).astype(object)
        race[rng.random(n) < 0.05] = None
        cols["race_eth"] = race
        cols["district"] = cols["stratum"]
        for key, shift in SCALES.items():
            y = np.clip(np.rint(latent + shift + rng.normal(0, 1.2, n)), 0, 10)
            y[rng.random(n) < 0.03] = np.nan
            cols[key] = y
        contact = rng.random(n) < 0.32
        for key, (k, fav, shift) in CHOICES.items():
            cut = np.clip((latent + shift + rng.normal(0, 1.0, n)) / 10.0, 0, 0.9999)
            lev = (cut * k).astype(int) + 1
            y = (k + 1 - lev if fav else lev).astype(float)
            y[rng.random(n) < 0.03] = np.nan
            if key.startswith("contact_"):
                y[~contact] = np.nan
            cols[key] = y
        kind = rng.integers(1, 9, n)
        for opt in range(1, 10):
            cols[f"contact_any__{opt}"] = np.where(contact, (kind == opt).astype(float), float(opt == 9))
        frames.append(pd.DataFrame(cols))
    frame = pd.concat(frames, ignore_index=True)
    return frame, codebook_from_dict(_codebook(slugs, names, pops), "synthetic")
