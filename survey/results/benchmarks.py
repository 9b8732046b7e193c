"""An agency's indexes beside the other agencies of its campaign: the database side (issue 18, item 4).

Waves of different agencies on the same questionnaire version (the same ``content_hash``) compare.
For the wave an analyst looks at, each other agency's latest such wave that opened by that wave's
last day is taken; every wave's own tables come from the per-wave cache of
:mod:`survey.results.service` (keyed by the wave, its responses and its own agency's targets, so
caches never mix agencies), and :func:`analysis.campaign.campaign_benchmarks` pools them. Nothing
here computes a statistic.

Privacy: other agencies are named only when they chose to be listed (``Agency.listed``); the
others are counted. Peers are the agencies with the same ``peer_group`` label. Withholding (too
few agencies or respondents) is the analysis package's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from analysis.campaign import agency_index_estimates, campaign_benchmarks
from analysis.io import Codebook, codebook_from_dict

from ..db import db
from ..formats import Filled, ltr
from ..models import Agency, InstrumentVersion, Response, Wave
from . import present, service


@dataclass
class Group:
    """Who is in the pool or the peer group besides the viewer's agency."""

    named: list[str] = field(default_factory=list)  # listed agencies, by name
    unnamed: int = 0  # agencies that chose not to be named
    label: str | None = None  # the peer group's label


@dataclass
class Benchmarks:
    """What the "Beside other agencies" section shows: ``rows`` from
    :func:`analysis.campaign.campaign_benchmarks` (one per index and comparison)."""

    wave: Wave
    rows: pd.DataFrame
    codebook: Codebook
    pool: Group
    peers: Group
    min_agencies: int
    min_n: int
    level: float = 0.95


def comparable_waves(wave: Wave) -> list[Wave]:
    """Each other agency's latest wave on the same questionnaire version (the same content) that
    opened by ``wave``'s last day and has responses."""
    answered = select(Response.id).where(Response.wave_id == Wave.id).exists()
    candidates = db.session.scalars(
        select(Wave).join(InstrumentVersion, Wave.instrument_version_id == InstrumentVersion.id)
        .where(InstrumentVersion.content_hash == wave.instrument_version.content_hash,
               Wave.agency_id != wave.agency_id, Wave.opens_on <= wave.last_day(), answered)
        .order_by(Wave.agency_id, Wave.opens_on.desc(), Wave.slug.desc())).all()
    latest: dict[int, Wave] = {}
    for w in candidates:
        latest.setdefault(w.agency_id, w)
    return list(latest.values())


def has_other_agencies() -> bool:
    """Whether the deployment hosts more than one agency (a campaign): only then does the Compare
    page offer "Beside other agencies"."""
    return len(db.session.scalars(select(Agency.id).limit(2)).all()) > 1


def _describe(agencies: Sequence[Agency]) -> Group:
    named = sorted(a.name for a in agencies if a.listed)
    return Group(named=named, unnamed=len(agencies) - len(named))


def benchmarks(waves: Sequence[Wave], *, min_agencies: int, min_n: int) -> Benchmarks | None:
    """The newest of ``waves`` (one agency's) beside the other agencies; None when no other
    agency has a comparable wave."""
    if not waves:
        return None
    wave = max(waves, key=lambda w: (w.opens_on, w.slug))
    others = comparable_waves(wave)
    if not others:
        return None
    parts = service.wave_parts([wave])
    for w in others:
        try:
            parts.update(service.wave_parts([w]))
        except service.CompareError:
            continue  # that agency's wave cannot be weighted (its own page says why): left out
    own_part = parts.get(wave.id)
    if own_part is None:
        return None
    key = str(wave.agency_id)
    frames = [agency_index_estimates(own_part, key)]
    used: list[Wave] = []
    for w in others:
        part = parts.get(w.id)
        if part is not None:
            frames.append(agency_index_estimates(part, str(w.agency_id)))
            used.append(w)
    estimates = pd.concat(frames, ignore_index=True)
    own_agency = db.session.get(Agency, wave.agency_id)
    label = (own_agency.peer_group or None) if own_agency is not None else None
    peer_waves = [w for w in used if label and w.agency.peer_group == label]
    rows = campaign_benchmarks(estimates, key, [str(w.agency_id) for w in peer_waves] if label else None,
                               min_agencies=min_agencies, min_n=min_n)

    def members(comparison: str) -> list[Agency]:
        # Any index's members: an agency with too few answers to one index counts in the others.
        ids = {m for members in rows.loc[rows["comparison"] == comparison, "members"] for m in members}
        return [w.agency for w in used if str(w.agency_id) in ids]

    pool = _describe(members("pool"))
    peers = _describe(members("peers"))
    peers.label = label
    raw = service.codebook_of([wave])
    return Benchmarks(wave, rows, codebook_from_dict(raw, "export"), pool, peers, min_agencies, min_n)


def _sentence(row: dict[str, Any], label: str, min_agencies: int, min_n: int, pct: int) -> Filled:
    """The plain sentence about one index and one group, in the visitor's language (numbers kept
    left to right inside right-to-left text)."""
    reason = row["reason"]
    if reason == "few_agencies":
        return Filled(_("%(label)s: withheld, fewer than %(n)s other agencies."), label=label, n=ltr(min_agencies))
    if reason == "complement":
        return Filled(_("%(label)s: withheld, too few agencies outside your peer group: showing both figures would "
                        "reveal theirs."), label=label)
    if reason in ("own_few", "no_answers"):
        return Filled(_("%(label)s: fewer than %(n)s of your respondents answered, so it is not compared."),
                      label=label, n=ltr(min_n))
    values = {"label": label, "own": ltr(_score(row["own_estimate"])), "group": ltr(_score(row["group_estimate"])),
              "diff": ltr(_points(row["difference"])), "low": ltr(_points(row["ci_low"], signed=False)),
              "high": ltr(_points(row["ci_high"], signed=False)), "pct": ltr(pct)}
    if row["verdict"] == "higher":
        text = _("%(label)s: yours is %(own)s, higher than this group's %(group)s (difference %(diff)s points, "
                 "%(pct)s%% CI %(low)s to %(high)s).")
    elif row["verdict"] == "lower":
        text = _("%(label)s: yours is %(own)s, lower than this group's %(group)s (difference %(diff)s points, "
                 "%(pct)s%% CI %(low)s to %(high)s).")
    else:
        text = _("%(label)s: yours is %(own)s, no clear difference from this group's %(group)s (difference %(diff)s "
                 "points, %(pct)s%% CI %(low)s to %(high)s).")
    return Filled(text, **values)


def _score(value: float) -> str:
    return present.fixed(round(value, 1) + 0.0)


def _points(value: float, signed: bool = True) -> str:
    return present.change(value, {"scale": "score"}, signed=signed)


def _interval(estimate: float, low: float, high: float) -> dict[str, str] | None:
    if estimate != estimate:  # NaN: withheld
        return None
    return {"estimate": _score(estimate), "low": _score(low), "high": _score(high)}


def view(bench: Benchmarks) -> dict[str, list[dict[str, Any]]]:
    """Per comparison ("pool", "peers"), one row per index: the label, the agency's own figure,
    the group's and the difference (each with its interval, None when withheld) and the sentence."""
    out: dict[str, list[dict[str, Any]]] = {"pool": [], "peers": []}
    order = [ix["key"] for ix in bench.codebook.indexes]
    rows = bench.rows.assign(order=bench.rows["measure"].map({k: i for i, k in enumerate(order)}))
    for row in rows.sort_values("order", kind="stable").to_dict("records"):
        label = present.measure_label(bench.codebook, row["measure"])
        diff = None
        if row["difference"] == row["difference"]:
            diff = {"estimate": _points(row["difference"]), "low": _points(row["ci_low"], signed=False),
                    "high": _points(row["ci_high"], signed=False)}
        out[row["comparison"]].append({
            "label": label, "own": _interval(row["own_estimate"], row["own_ci_low"], row["own_ci_high"]),
            "group": _interval(row["group_estimate"], row["group_ci_low"], row["group_ci_high"]), "difference": diff,
            "verdict": row["verdict"], "sentence": _sentence(row, label, bench.min_agencies, bench.min_n, int(round(bench.level * 100)))})
    return out
