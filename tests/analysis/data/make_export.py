"""Write the small synthetic export used by the io, scales and compare tests.

Run from the repository root:  python tests/analysis/data/make_export.py
Writes export.csv and codebook.json beside this file (deterministic: fixed seed).
Three waves of a stratified sample (three districts) plus some open-link responses; the
trust items rise by about one point (of 10) in the third wave, nothing else changes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
WAVES = [("2025-q1", "2025-01-06", "2025-02-02"), ("2025-q2", "2025-04-07", "2025-05-04"), ("2025-q3", "2025-07-07", "2025-08-03")]
DISTRICTS = {"north": (12000, 180), "south": (20000, 200), "east": (8000, 160)}
AGES = ["18-34", "35-54", "55+"]
SEXES = ["female", "male"]
TENURE = ["own", "rent"]
AGREE = [{"code": c, "label": {"en": f"{c}", "es": f"{c}"}} for c in range(11)]


def main() -> None:
    rng = np.random.default_rng(20250106)
    rows = []
    rid = 0
    for wave_no, (slug, _, _) in enumerate(WAVES):
        for district, (pop, n) in DISTRICTS.items():
            for sample in ("probability", "open_link"):
                m = n if sample == "probability" else 15
                for _ in range(m):
                    rid += 1
                    age = rng.choice(AGES, p=[0.45, 0.35, 0.20])
                    sex = rng.choice(SEXES)
                    tenure = rng.choice(TENURE, p=[0.4, 0.6])
                    latent = rng.normal(0, 1) + (0.5 if age == "55+" else 0) + (0.45 if wave_no == 2 else 0)
                    def item(shift: float = 0.0, lo: int = 0, hi: int = 10) -> int:
                        v = 5 + 2 * (latent + shift) + rng.normal(0, 1.2)
                        return int(np.clip(round(lo + (v / 10) * (hi - lo)), lo, hi))
                    row = {
                        "response_id": f"r{rid:05d}", "wave": slug,
                        "stratum": district if sample == "probability" else "",
                        "language": rng.choice(["en", "es"], p=[0.7, 0.3]),
                        "channel": rng.choice(["web", "paper", "phone"], p=[0.6, 0.3, 0.1]),
                        "sample": sample,
                        "base_weight": f"{pop / n:.6f}" if sample == "probability" else "",
                        "age_band": age if rng.random() > 0.03 else "",
                        "sex": sex, "tenure": tenure, "district": district,
                        "trust_agency": item(), "pj_respect": item(), "pj_listen": item(0.1),
                        "pj_fair": item(lo=1, hi=4), "pj_explain": item(lo=1, hi=4),
                        "moral_align": 5 - item(lo=1, hi=4),
                        "job_rating": int(np.clip(round(3 - latent + rng.normal(0, 0.8)), 1, 5)),
                        "contact_any__none": int(rng.random() < 0.7),
                    }
                    # Missing answers and "prefer not to say" / "no one ever asks" codes.
                    for key in ("trust_agency", "pj_respect", "pj_listen"):
                        if rng.random() < 0.05:
                            row[key] = -9
                        elif rng.random() < 0.03:
                            row[key] = ""
                    if rng.random() < 0.1:
                        row["pj_explain"] = -8
                    rows.append(row)
    with open(HERE / "export.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    four = [{"code": c, "label": {"en": t}} for c, t in enumerate(["Not at all often", "Not very often", "Often", "Very often"], 1)]
    codebook = {
        "format": "community-trust-export/1",
        "instrument": {"key": "core-trust", "version": 1},
        "waves": [{"slug": s, "title": s, "opens": o, "closes": c, "mode": "invitation", "order": i + 1} for i, (s, o, c) in enumerate(WAVES)],
        "variables": [
            {"name": "age_band", "kind": "weighting", "type": "choice", "label": {"en": "Age"}, "values": [{"code": a, "label": {"en": a}} for a in AGES]},
            {"name": "sex", "kind": "weighting", "type": "choice", "label": {"en": "Sex"}},
            {"name": "tenure", "kind": "weighting", "type": "choice", "label": {"en": "Housing tenure"}},
            {"name": "district", "kind": "weighting", "type": "choice", "label": {"en": "District"}},
            {"name": "trust_agency", "kind": "item", "type": "scale", "label": {"en": "Trust in the agency", "es": "Confianza"}, "values": AGREE, "missing_codes": [-9]},
            {"name": "pj_respect", "kind": "item", "type": "scale", "label": {"en": "Police treat residents with respect"}, "values": AGREE, "missing_codes": [-9]},
            {"name": "pj_listen", "kind": "item", "type": "scale", "label": {"en": "Police listen to residents"}, "values": AGREE, "missing_codes": [-9]},
            {"name": "pj_fair", "kind": "item", "type": "scale", "label": {"en": "Police make fair decisions"}, "values": four, "missing_codes": [-9]},
            {"name": "pj_explain", "kind": "item", "type": "scale", "label": {"en": "Police explain decisions"}, "values": four + [{"code": -8, "label": {"en": "No one ever asks them"}}], "missing_codes": [-9, -8]},
            {"name": "moral_align", "kind": "item", "type": "scale", "label": {"en": "Same sense of right and wrong"}, "values": [{"code": c, "label": {"en": t}} for c, t in enumerate(["Agree strongly", "Agree", "Disagree", "Disagree strongly"], 1)], "missing_codes": [-9]},
            {"name": "job_rating", "kind": "item", "type": "choice", "label": {"en": "Job rating"}, "values": [{"code": c, "label": {"en": t}} for c, t in enumerate(["Excellent", "Good", "Fair", "Poor", "Very poor"], 1)], "missing_codes": [-9]},
            {"name": "contact_any__none", "kind": "multi_option", "type": "multi", "label": {"en": "No contact with an officer"}},
        ],
        "indexes": [
            {"key": "trust", "label": {"en": "Trust score"}, "items": [{"key": "pj_respect", "min": 0, "max": 10, "reverse": False}, {"key": "pj_listen", "min": 0, "max": 10, "reverse": False}], "subsample": None},
            {"key": "procedural_justice", "label": {"en": "Procedural justice"}, "items": [{"key": "pj_respect", "min": 0, "max": 10}, {"key": "pj_listen", "min": 0, "max": 10}, {"key": "pj_fair", "min": 1, "max": 4}, {"key": "pj_explain", "min": 1, "max": 4}], "subsample": None},
            {"key": "moral_alignment", "label": {"en": "Moral alignment"}, "items": [{"key": "moral_align", "min": 1, "max": 4, "reverse": True}], "subsample": None},
        ],
        "targets": (
            [{"variable": "age_band", "category": a, "stratum": None, "population": p} for a, p in zip(AGES, [14000, 16000, 10000], strict=True)]
            + [{"variable": "sex", "category": s, "stratum": None, "population": p} for s, p in zip(SEXES, [20500, 19500], strict=True)]
            + [{"variable": "tenure", "category": t, "stratum": None, "population": p} for t, p in zip(TENURE, [18000, 22000], strict=True)]
        ),
    }
    (HERE / "codebook.json").write_text(json.dumps(codebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
