"""Write the small synthetic campaign used by the benchmark tests (tests/analysis/test_campaign.py).

Run from the repository root:  python tests/analysis/data/make_campaign.py
Writes campaign.csv beside this file (deterministic: fixed seed). Seven agencies of different
sizes, each a stratified sample of its own districts (base weight = stratum population / sample
size), with two 0-100 index scores: ``trust`` (about 4% unanswered) and ``trust_full`` (all
answered). Agency a1 is about five points above the rest; a1-a4 form the "small-city" peer group.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
# agency: (peer group, {district: (population, sample size)}, mean score)
AGENCIES = {
    "a1": ("small-city", {"north": (9000, 60), "south": (14000, 70)}, 62.0),
    "a2": ("small-city", {"d1": (12000, 50), "d2": (6000, 45), "d3": (7000, 40)}, 56.0),
    "a3": ("small-city", {"east": (20000, 80), "west": (11000, 55)}, 55.0),
    "a4": ("small-city", {"only": (15000, 90)}, 58.0),
    "a5": ("large-city", {"c1": (90000, 70), "c2": (60000, 60), "c3": (75000, 65)}, 53.0),
    "a6": ("large-city", {"x": (120000, 85), "y": (80000, 75)}, 57.0),
    "a7": ("", {"p": (30000, 50), "q": (25000, 45)}, 54.0),
}


def main() -> None:
    rng = np.random.default_rng(20261202)
    rows = []
    for agency, (peer, districts, mu) in AGENCIES.items():
        for k, (district, (pop, n)) in enumerate(districts.items()):
            score = np.clip(rng.normal(mu + 2.0 * k, 18.0, n), 0, 100).round(2)
            missing = rng.random(n) < 0.04
            for s, miss in zip(score, missing, strict=True):
                rows.append({"agency": agency, "peer": peer, "stratum": district, "wave": agency,
                             "base_weight": f"{pop / n:.10g}", "trust": "" if miss else f"{s:.2f}",
                             "trust_full": f"{s:.2f}"})
    with (HERE / "campaign.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
