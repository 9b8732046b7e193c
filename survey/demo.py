"""A deterministic demo: one agency, the core instrument, four past quarterly waves, an open wave.

The simulated residents' trust depends on their district and group and drifts from wave to wave
(the East district improves, the South district slips), so that the comparison pages have a real
signal to show. Response propensity differs by age and tenure, so that weighting matters.
Each district has eight neighborhoods (small areas, set by the invitation) whose residents differ
a little, partly with the census share of owner-occupied homes, so that the model-based
neighborhood estimates have something to find.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from flask import current_app
from sqlalchemy import insert, select

from . import audit, crypto
from .auth import hash_password
from .db import db
from .instrument_store import instrument_for_wave, sync_instruments
from .instruments import PREFER_NOT_TO_SAY, InstrumentDef
from .models import (
    CAMPAIGN_ROLE,
    Agency,
    Answer,
    AreaKind,
    AreaSource,
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    Disposition,
    Instrument,
    InstrumentVersion,
    Invitation,
    InvitationStatus,
    PopulationTarget,
    Response,
    Role,
    StaffUser,
    Wave,
    WaveArea,
    WaveMode,
    WaveStratum,
    random_id,
    today,
    week_of,
)
from .security import generate_code, keyed_hash, normalize_code

CAMPAIGN_EMAIL = "campaign@riverton.example"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo; never used outside it
INVITATION_BITS = 72

DISTRICTS = {"Central": 18000, "East": 26000, "North": 31000, "South": 24000, "West": 21000}
# How each district's residents feel (points on the 0-10 latent scale) and how that drifts per wave.
DISTRICT_LEVEL = {"Central": 0.3, "East": -0.6, "North": 0.6, "South": -0.2, "West": 0.1}
DISTRICT_DRIFT = {"Central": 0.15, "East": 0.45, "North": 0.10, "South": -0.20, "West": 0.20}

AGE_SHARE = [0.13, 0.20, 0.18, 0.17, 0.16, 0.16]  # codes 1..6
AGE_RESPONSE = [0.45, 0.6, 0.8, 1.0, 1.2, 1.4]  # relative response propensity
SEX_SHARE = [0.51, 0.49]
RACE_GROUPS = ["hispanic", "white", "black", "asian", "other"]
RACE_SHARE = [0.28, 0.38, 0.20, 0.09, 0.05]
RACE_LEVEL = [-0.2, 0.5, -1.1, 0.2, -0.3]
RACE_OPTION = {"hispanic": [4], "white": [7], "black": [3], "asian": [2], "other": [1, 5, 6, 8]}
TENURE_SHARE = [0.55, 0.42, 0.03]
TENURE_RESPONSE = [1.3, 0.7, 0.8]
EDU_SHARE = [0.11, 0.25, 0.29, 0.22, 0.13]
HOME_LANG_SHARE = [0.70, 0.24, 0.06]
NEIGHBORHOOD_NAMES = ["Park", "Heights", "Hill", "Market", "Riverside", "Gardens", "Station", "Village"]


@dataclass(frozen=True)
class Neighborhood:
    name: str
    district: str
    population: int
    owner_share: float
    effect: float  # points on the 0-10 latent scale, centred within the district


def neighborhoods(seed: int, districts: dict[str, int] = DISTRICTS) -> list[Neighborhood]:
    """Eight neighborhoods per district with populations, a census covariate and a fixed effect.

    Drawn from their own generator so the rest of the demo's random draws stay as they were.
    """
    rng = np.random.default_rng(seed + 19)
    out = []
    for district, pop in districts.items():
        shares = rng.lognormal(0.0, 0.6, len(NEIGHBORHOOD_NAMES))
        shares /= shares.sum()
        owner = rng.uniform(0.2, 0.8, len(NEIGHBORHOOD_NAMES))
        effect = 2.0 * (owner - 0.5) + rng.normal(0.0, 0.35, len(NEIGHBORHOOD_NAMES))
        effect -= float(np.dot(shares, effect))
        for k, suffix in enumerate(NEIGHBORHOOD_NAMES):
            out.append(Neighborhood(f"{district} {suffix}", district, int(round(pop * shares[k])),
                                     round(float(owner[k]), 3), float(effect[k])))
    return out

COMPLAINT_STORIES = [
    "The officer shouted at me and would not tell me why I was stopped.",
    "My car was searched and nobody explained why. Things were left broken.",
    "I called for help about a break-in and nobody came for three hours.",
    "The officer used a slur when talking to my son.",
    "They grabbed my arm hard while I was walking away. I was not arrested.",
    "I was stopped three times this month on the same street.",
]


#: The demo agency's slug (its address in a campaign: /a/riverton/).
DEMO_SLUG = "riverton"


@dataclass
class DemoResult:
    agency: Agency
    open_wave: Wave
    codes: list[str]


#: The demo agency's name (and, where the script spells it differently, its city) per language.
DEMO_AGENCY_TEXTS = {
    "es": {"name": "Departamento de Policía de Riverton"},
    "zh_Hans": {"name": "里弗顿警察局", "city": "里弗顿"},
    "zh_Hant": {"name": "里弗頓警察局", "city": "里弗頓"},
    "tl": {"name": "Departamento ng Pulisya ng Riverton"},
    "vi": {"name": "Sở Cảnh sát Riverton"},
    "ar": {"name": "إدارة شرطة ريفرتون", "city": "ريفرتون"},
    "fr": {"name": "Service de police de Riverton"},
    "ko": {"name": "리버턴 경찰서", "city": "리버턴"},
    "ru": {"name": "Полиция Ривертона"},
    "ht": {"name": "Depatman Lapolis Riverton"},
    "pt": {"name": "Departamento de Polícia de Riverton"},
}


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _shift_quarter(start: dt.date, quarters: int) -> dt.date:
    month = start.month - 1 + 3 * quarters
    return dt.date(start.year + month // 12, month % 12 + 1, 1)


def _wave_slug(start: dt.date) -> str:
    return f"{start.year}-q{(start.month - 1) // 3 + 1}"


def load_demo(seed: int = 20261125, per_wave: int = 2500, echo: Callable[[str], None] = print, *,
              past_waves: int = 4, districts: dict[str, int] | None = None, open_responses: int | None = None) -> DemoResult:
    """Load the demo agency. ``past_waves``, ``districts`` (name: population) and
    ``open_responses`` (default: a twentieth of ``per_wave``) make bigger data for benchmarks."""
    districts = districts or DISTRICTS
    session = db.session
    rng = np.random.default_rng(seed)
    agency = Agency(
        slug=DEMO_SLUG,
        name="Riverton Police Department",
        city="Riverton",
        default_language="en",
        phone="555-0100",
        address="100 Main Street, Riverton",
        texts=DEMO_AGENCY_TEXTS,
        districts=sorted(districts),
        listed=True,
    )
    session.add(agency)
    session.flush()
    for line in sync_instruments(agency, current_app.config["INSTRUMENTS_DIR"]):
        echo(line)
    version = session.scalars(
        select(InstrumentVersion)
        .join(Instrument)
        .where(Instrument.agency_id == agency.id, Instrument.key == "core-trust")
        .order_by(InstrumentVersion.version.desc())
    ).first()
    if version is None:
        raise RuntimeError("The core-trust instrument was not found in instruments/.")

    staff = {}
    for email, name, roles in (
        ("admin@riverton.example", "Alex Admin", [Role.ADMIN]),
        ("manager@riverton.example", "Sam Survey", [Role.SURVEY_MANAGER]),
        ("analyst@riverton.example", "Ana Analyst", [Role.ANALYST]),
        ("investigator@riverton.example", "Ivy Investigator", [Role.INVESTIGATOR]),
    ):
        user = StaffUser(
            agency_id=agency.id,
            email=email,
            name=name,
            password_hash=hash_password(DEMO_PASSWORD),
            roles=[str(r) for r in roles],
        )
        session.add(user)
        staff[roles[0]] = user
    # The campaign's own administrator (no agency): the campaign console at /campaign/console.
    session.add(StaffUser(agency_id=None, email=CAMPAIGN_EMAIL, name="Casey Campaign",
                          password_hash=hash_password(DEMO_PASSWORD), roles=[CAMPAIGN_ROLE]))
    session.flush()

    _population_targets(agency, districts)

    # Every interface language the questionnaire has text for; the drafts are accepted explicitly,
    # as a survey manager would have to (the demo says so: none has had a fluent reviewer).
    instrument_languages = version.definition["languages"]
    wave_languages = [code for code in current_app.config["LANGUAGES"] if code in instrument_languages]
    current_start = _quarter_start(today())
    waves: list[Wave] = []
    areas = neighborhoods(seed, districts)
    for back in range(past_waves, -1, -1):
        start = _shift_quarter(current_start, -back)
        opens = start + dt.timedelta(days=7)
        closes = _shift_quarter(start, 1) - dt.timedelta(days=14)
        if back == 0:
            opens = min(opens, today() - dt.timedelta(days=3))
            closes = max(closes, today() + dt.timedelta(days=21))
        wave = Wave(
            agency_id=agency.id,
            instrument_version_id=version.id,
            slug=_wave_slug(start),
            title=f"Community survey {start.year} Q{(start.month - 1) // 3 + 1}",
            opens_on=opens,
            closes_on=closes,
            mode=WaveMode.INVITATION,
            languages=wave_languages,
            accepted_draft_languages=[code for code in wave_languages if code != "en"],
            published=back > 0,
            strata=[WaveStratum(name=name, population=pop) for name, pop in districts.items()],
            area_kind=AreaKind.NEIGHBORHOOD,
            area_source=AreaSource.INVITATION,
            publish_areas=back > 0,
            areas=[WaveArea(name=a.name, stratum=a.district, population=a.population,
                            covariates={"owner_share": a.owner_share}) for a in areas],
        )
        session.add(wave)
        waves.append(wave)
    session.flush()

    inst = instrument_for_wave(waves[0])
    for order, wave in enumerate(waves):
        closed = order < past_waves
        n = per_wave if closed else (open_responses if open_responses is not None else max(per_wave // 20, 20))
        _simulate_wave(rng, wave, inst, order, n, closed=closed, areas=areas,
                       area_rng=np.random.default_rng(seed + 100 + order), populations=districts)
        echo(f"{wave.slug}: {n} simulated responses")

    codes = _open_wave_codes(waves[-1], 5)
    _complaints(rng, agency, staff[Role.INVESTIGATOR])
    session.commit()

    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    echo("")
    echo(f"Demo agency loaded: {agency.name}.")
    echo(f"Staff sign-in: {base}/staff/sign-in  (password for every demo account: {DEMO_PASSWORD})")
    for role, user in staff.items():
        echo(f"  {user.email:32} {role}")
    echo(f"Campaign console: {base}/campaign/console  as {CAMPAIGN_EMAIL} (same password)")
    echo("")
    echo(f"Access codes for the open wave {waves[-1].slug} (each works once, at {base}/survey/):")
    for code in codes:
        echo(code)
    return DemoResult(agency, waves[-1], codes)


def _population_targets(agency: Agency, districts: dict[str, int]) -> None:
    total = sum(districts.values())
    rows: list[tuple[str, str, float]] = []
    rows += [("district", name, float(pop)) for name, pop in districts.items()]
    rows += [("age_band", str(code), total * share) for code, share in enumerate(AGE_SHARE, start=1)]
    rows += [("sex", str(code), total * share) for code, share in enumerate(SEX_SHARE, start=1)]
    rows += [("race_eth", group, total * share) for group, share in zip(RACE_GROUPS, RACE_SHARE, strict=True)]
    rows += [("tenure", str(code), total * share) for code, share in enumerate(TENURE_SHARE, start=1)]
    rows += [("education", str(code), total * share) for code, share in enumerate(EDU_SHARE, start=1)]
    rows += [("home_language", str(code), total * share) for code, share in enumerate(HOME_LANG_SHARE, start=1)]
    for variable, category, population in rows:
        db.session.add(
            PopulationTarget(
                agency_id=agency.id,
                variable=variable,
                category=category,
                stratum=None,
                population=round(population),
                source="Demo figures shaped like ACS 5-year tables",
            )
        )
    db.session.flush()


def _to_scale(latent: np.ndarray, rng: np.random.Generator, noise: float = 1.2) -> np.ndarray:
    return np.clip(np.rint(latent + rng.normal(0, noise, latent.shape)), 0, 10).astype(int)


def _to_choice(latent: np.ndarray, k: int, rng: np.random.Generator, favorable_first: bool) -> np.ndarray:
    """Map a 0-10 latent to k ordered codes; code 1 is the most favorable when favorable_first."""
    cut = np.clip((latent + rng.normal(0, 1.0, latent.shape)) / 10.0, 0, 0.9999)
    level = (cut * k).astype(int) + 1  # 1 = least favorable
    return k + 1 - level if favorable_first else level


def place_in_neighborhoods(rng: np.random.Generator, resp_district: np.ndarray,
                           areas: list[Neighborhood]) -> tuple[np.ndarray, np.ndarray]:
    """Each respondent's neighborhood, within their district in proportion to population, and
    that neighborhood's effect on their trust."""
    n = len(resp_district)
    resp_area = np.empty(n, dtype=object)
    effect = np.zeros(n)
    for district in dict.fromkeys(a.district for a in areas):
        local = [a for a in areas if a.district == district]
        where = np.nonzero(resp_district == district)[0]
        pops = np.array([a.population for a in local], dtype=float)
        pick = rng.choice(len(local), size=where.size, p=pops / pops.sum())
        resp_area[where] = [local[k].name for k in pick]
        effect[where] = [local[k].effect for k in pick]
    return resp_area, effect


@dataclass(frozen=True)
class Residents:
    """Simulated residents' answer codes per item (``codes[key][i]``), which items each skipped,
    whether each had contact with the police (and what kind), and each one's race group index."""

    codes: dict[str, np.ndarray]
    skip: dict[str, np.ndarray]
    contact: np.ndarray
    contact_kind: np.ndarray
    race: np.ndarray


def simulate_residents(rng: np.random.Generator, inst: InstrumentDef, order: int, resp_district: np.ndarray,
                       effect: np.ndarray, shift: float = 0.0) -> Residents:
    """Answers of ``len(resp_district)`` residents of the given districts (and neighborhood effects)
    in wave number ``order``, ``shift`` points above the demo's levels: the demo's simulation,
    shared with the campaign benchmark's loader."""
    n = len(resp_district)
    age = rng.choice(6, size=n, p=np.array(AGE_SHARE) * AGE_RESPONSE / np.dot(AGE_SHARE, AGE_RESPONSE)) + 1
    sex = rng.choice(2, size=n, p=SEX_SHARE) + 1
    race = rng.choice(len(RACE_GROUPS), size=n, p=RACE_SHARE)
    tenure = rng.choice(3, size=n, p=np.array(TENURE_SHARE) * TENURE_RESPONSE / np.dot(TENURE_SHARE, TENURE_RESPONSE)) + 1
    edu = rng.choice(5, size=n, p=EDU_SHARE) + 1
    home = rng.choice(3, size=n, p=HOME_LANG_SHARE) + 1

    level = (
        5.4
        + np.array([DISTRICT_LEVEL.get(d, 0.0) + DISTRICT_DRIFT.get(d, 0.1) * order for d in resp_district])
        + np.array(RACE_LEVEL)[race]
        + 0.25 * (age - 3.5)
        + 0.3 * (tenure == 1)
        + effect
        + shift
        + rng.normal(0, 1.5, n)
    )
    contact = rng.random(n) < 0.32
    contact_kind = rng.choice(8, size=n) + 1

    codes: dict[str, np.ndarray] = {
        "safety_feel": _to_scale(level + 0.8, rng),
        "safety_community": _to_choice(level + 0.5, 4, rng, favorable_first=True),
        "trust_agency": _to_scale(level, rng),
        "job_rating": _to_choice(level, 5, rng, favorable_first=True),
        "pj_respect": _to_scale(level + 0.4, rng),
        "pj_listen": _to_scale(level - 0.3, rng),
        "pj_fair": _to_choice(level, 4, rng, favorable_first=False),
        "pj_explain": _to_choice(level - 0.5, 4, rng, favorable_first=False),
        "equal_treatment": _to_choice(level - 0.4, 4, rng, favorable_first=True),
        "right_force": _to_choice(level, 4, rng, favorable_first=True),
        "accountable": _to_choice(level - 0.8, 4, rng, favorable_first=True),
        "eff_prevent": _to_scale(level - 0.2, rng),
        "eff_response": _to_scale(level + 0.2, rng),
        "duty_back": _to_scale(level * 0.6 + 2.5, rng, noise=2.0),
        "moral_align": _to_choice(level, 5, rng, favorable_first=True),
        "complaint_aware": np.where(rng.random(n) < 0.45, 1, np.where(rng.random(n) < 0.7, 2, 8)),
        "age_band": age,
        "sex": sex,
        "tenure": tenure,
        "education": edu,
        "home_language": home,
        "contact_respect": np.where(level + rng.normal(0, 2, n) > 4.5, 1, 2),
        "contact_proper": np.where(level + rng.normal(0, 2, n) > 4.0, 1, 2),
        "contact_satisfied": _to_choice(level, 4, rng, favorable_first=True),
    }
    # "No one ever asks them" for some pj_explain answers; item nonresponse everywhere.
    codes["pj_explain"] = np.where(rng.random(n) < 0.06, -8, codes["pj_explain"])
    skip = {key: rng.random(n) < (0.09 if inst.items[key].weighting else 0.03) for key in codes}
    return Residents(codes, skip, contact, contact_kind, race)


def _simulate_wave(rng: np.random.Generator, wave: Wave, inst: InstrumentDef, order: int, n: int, closed: bool,
                   areas: list[Neighborhood], area_rng: np.random.Generator,
                   populations: dict[str, int] = DISTRICTS, shift: float = 0.0) -> None:
    session = db.session
    districts = list(populations)
    # Stratified sample: invitations proportional to population; response rate about 30%.
    total_pop = sum(populations.values())
    invited_per = {d: int(round(n / 0.3 * populations[d] / total_pop)) for d in districts}
    # Respondents per district follow the invitations, varied a little.
    resp_district = rng.choice(districts, size=n, p=[invited_per[d] / sum(invited_per.values()) for d in districts])

    resp_area, effect = place_in_neighborhoods(area_rng, resp_district, areas)

    sim = simulate_residents(rng, inst, order, resp_district, effect, shift)
    codes, skip, contact, contact_kind, race = sim.codes, sim.skip, sim.contact, sim.contact_kind, sim.race

    first_day, last_day = wave.opens_on, min(wave.closes_on, today())
    span = max((last_day - first_day).days, 0)
    day_offsets = np.minimum(rng.exponential(span / 3 + 1, n).astype(int), span)
    languages = np.where(rng.random(n) < 0.18, "es", "en")
    channel_draw = rng.random(n)
    channels = np.where(channel_draw < 0.86, Channel.WEB.value, np.where(channel_draw < 0.97, Channel.PAPER.value, Channel.PHONE.value))

    response_rows = []
    answer_rows = []
    for i in range(n):
        rid = random_id()
        district = str(resp_district[i])
        response_rows.append(
            {
                "id": rid,
                "wave_id": wave.id,
                "stratum": district,
                "area": str(resp_area[i]),
                "language": str(languages[i]),
                "channel": str(channels[i]),
                "selection_probability": invited_per[district] / populations[district],
                "submitted_on": week_of(first_day + dt.timedelta(days=int(day_offsets[i]))),
            }
        )
        for key, values in codes.items():
            item = inst.items[key]
            if item.show_if and not contact[i]:
                continue
            if skip[key][i]:
                continue
            code = int(values[i])
            if rng.random() < 0.015:
                code = PREFER_NOT_TO_SAY
            answer_rows.append({"response_id": rid, "item_key": key, "ordinal": 0, "code": code, "text": None})
        if contact[i]:
            answer_rows.append({"response_id": rid, "item_key": "contact_any", "ordinal": 0, "code": int(contact_kind[i]), "text": None})
        else:
            answer_rows.append({"response_id": rid, "item_key": "contact_any", "ordinal": 0, "code": 9, "text": None})
        if not skip["age_band"][i]:  # the same residents tend to skip every "about you" question
            options = RACE_OPTION[RACE_GROUPS[race[i]]]
            option = options[int(rng.integers(0, len(options)))]
            answer_rows.append({"response_id": rid, "item_key": "race_eth", "ordinal": 0, "code": option, "text": None})
        if rng.random() < 0.15:
            issue = rng.choice(["Speeding cars", "Break-ins", "Drug dealing near the park", "Noise at night", "Response times"])
            answer_rows.append({"response_id": rid, "item_key": "top_issue", "ordinal": 0, "code": None, "text": str(issue)})
    session.execute(insert(Response), response_rows)
    session.execute(insert(Answer), answer_rows)

    # Invitations: the used ones carry the date only; some letters came back undeliverable.
    invitation_rows = []
    for district in districts:
        used = int((resp_district == district).sum())
        local = [a.name for a in areas if a.district == district]
        for j in range(invited_per[district]):
            status = InvitationStatus.UNDELIVERABLE.value if j >= invited_per[district] - max(1, invited_per[district] // 40) else InvitationStatus.SENT.value
            was_used = j < used
            invitation_rows.append(
                {
                    "wave_id": wave.id,
                    "code_hash": keyed_hash("invitation", random_id()),
                    "stratum": district,
                    # A used code keeps no area (the response has it); an unused one keeps its own.
                    "area": None if was_used else local[j % len(local)],
                    "selection_probability": invited_per[district] / populations[district],
                    "status": status if not was_used else InvitationStatus.SENT.value,
                    "batch": f"{wave.slug}-mailing",
                    "created_on": wave.opens_on - dt.timedelta(days=5),
                    "started": was_used or j % 25 == 0,
                    "used": was_used,
                }
            )
    session.execute(insert(Invitation), invitation_rows)
    session.flush()


def demo_codes(count: int, echo: Callable[[str], None] = print) -> list[str]:
    """New access codes for the demo's open wave (codes are kept only as hashes, so the ones
    printed when the demo was loaded cannot be shown again); the caller commits."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    # The demo agency's own open wave, even when the deployment hosts other agencies too.
    demo = select(Agency.id).where(Agency.slug == DEMO_SLUG).scalar_subquery()
    wave = db.session.scalars(select(Wave).where(Wave.agency_id == demo, Wave.opens_on <= today(), Wave.closes_on >= today(),
                                                 Wave.mode == WaveMode.INVITATION).order_by(Wave.opens_on.desc())).first()
    if wave is None or count <= 0:
        echo("No invitation wave is open: make one in the staff console, then codes with "
             "`flask --app wsgi invitations create --wave SLUG --stratum NAME --count 5`.")
        return []
    codes = _open_wave_codes(wave, count)
    echo(f"New access codes for the open wave {wave.slug} (each works once, at {base}/survey/; "
         f"more with `make run` again or `flask --app wsgi demo --if-empty --codes 5`):")
    for code in codes:
        echo(code)
    return codes


def _open_wave_codes(wave: Wave, count: int) -> list[str]:
    codes = []
    for _ in range(count):
        code = generate_code(INVITATION_BITS)
        db.session.add(
            Invitation(
                wave_id=wave.id,
                code_hash=keyed_hash("invitation", normalize_code(code)),
                stratum="North",
                area="North Park",
                selection_probability=0.01,
                batch="demo-printed",
            )
        )
        codes.append(code)
    db.session.flush()
    return codes


def _complaints(rng: np.random.Generator, agency: Agency, investigator: StaffUser) -> None:
    categories = ["force", "discourtesy", "bias", "wrongful_stop", "search", "failure_to_act", "property", "other"]
    channels = [Channel.WEB, Channel.WEB, Channel.WEB, Channel.PHONE, Channel.IN_PERSON, Channel.MAIL, Channel.THIRD_PARTY]
    dispositions = list(Disposition)
    start = today() - dt.timedelta(days=400)
    timeline: Timeline = []
    for n in range(60):
        received = start + dt.timedelta(days=int(rng.integers(0, 395)))
        if n >= 56:  # a few new ones still waiting for acknowledgement
            received = today() - dt.timedelta(days=n - 56)
        age = (today() - received).days
        status = ComplaintStatus.RECEIVED
        acknowledged = review = closed = None
        disposition = None
        if age > 3:
            status, acknowledged = ComplaintStatus.ACKNOWLEDGED, received + dt.timedelta(days=int(rng.integers(0, 10)))
        if age > 20 and rng.random() < 0.9:
            status, review = ComplaintStatus.UNDER_REVIEW, (acknowledged or received) + dt.timedelta(days=int(rng.integers(1, 10)))
        if age > 60 and rng.random() < 0.85:
            status = ComplaintStatus.CLOSED
            closed = (review or received) + dt.timedelta(days=int(rng.integers(20, 110)))
            closed = min(closed, today())
            disposition = dispositions[int(rng.integers(0, len(dispositions)))]
        receipt = generate_code(90)
        complaint = Complaint(
            agency_id=agency.id,
            reference=f"C-{received.year}-{n + 1:04d}",
            receipt_hash=keyed_hash("receipt", normalize_code(receipt)),
            channel=channels[int(rng.integers(0, len(channels)))],
            categories=sorted({categories[int(rng.integers(0, len(categories)))] for _ in range(int(rng.integers(1, 3)))}),
            status=status,
            disposition=disposition,
            language_enc=crypto.encrypt("es" if rng.random() < 0.2 else "en", Complaint.language_enc),
            narrative_enc=crypto.encrypt(COMPLAINT_STORIES[n % len(COMPLAINT_STORIES)], Complaint.narrative_enc),
            received_on=received,
            acknowledged_on=acknowledged,
            review_started_on=review,
            closed_on=closed,
            assigned_to_id=investigator.id if status != ComplaintStatus.RECEIVED else None,
        )
        if acknowledged:
            complaint.messages.append(
                ComplaintMessage(
                    seq=1,
                    author="staff",
                    staff_user_id=investigator.id,
                    body_enc=crypto.encrypt(
                        "Thank you. We have received your complaint and an investigator is assigned.",
                        ComplaintMessage.body_enc,
                    ),
                    created_on=acknowledged,
                )
            )
        db.session.add(complaint)
        timeline.append((complaint, received, acknowledged, review, closed))
    db.session.flush()
    _complaint_history(rng, agency, investigator, timeline)


#: A demo complaint with the days it was received, acknowledged, put under review and closed.
Timeline = list[tuple[Complaint, dt.date, dt.date | None, dt.date | None, dt.date | None]]


def _complaint_history(rng: np.random.Generator, agency: Agency, investigator: StaffUser, timeline: Timeline) -> None:
    """Audit events for the demo's past complaints, in time order, as the console would have written them."""

    def at(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, int(rng.integers(0, 60))), tzinfo=dt.UTC)

    events = []
    for complaint, received, acknowledged, review, closed in timeline:
        steps = [] if complaint.channel == Channel.WEB else [(at(received, 14), "complaint.create", {"channel": complaint.channel.value})]
        if acknowledged:
            steps += [
                (at(acknowledged, 15), "complaint.view", {}),
                (at(acknowledged, 15), "complaint.assign", {"assigned_to": investigator.id}),
                (at(acknowledged, 15), "complaint.status", {"old": "received", "new": "acknowledged", "disposition": None}),
                (at(acknowledged, 16), "complaint.message", {"seq": 1}),
            ]
        if review:
            steps += [(at(review, 17), "complaint.view", {}),
                      (at(review, 17), "complaint.status", {"old": "acknowledged" if acknowledged else "received",
                                                            "new": "under_review", "disposition": None})]
        if closed:
            steps += [(at(closed, 18), "complaint.view", {}),
                      (at(closed, 18), "complaint.status", {"old": "under_review" if review else "acknowledged",
                                                            "new": "closed", "disposition": complaint.disposition.value})]
        events += [(when, n, complaint.id, action, detail) for n, (when, action, detail) in enumerate(steps)]
    for when, _n, complaint_id, action, detail in sorted(events, key=lambda e: (e[0], e[1])):
        audit.record(db.session, action, "complaint", complaint_id, staff_user_id=investigator.id,
                     agency_id=agency.id, detail=detail, at=when)


#: Other agencies of the demo campaign, for the Compare page's "Beside other agencies": (slug, name,
#: listed, peer group, districts and populations, how their residents feel on the 0-10 latent scale
#: relative to Riverton's). Riverton joins the "mid-size city" group: five peers besides it, and five
#: agencies outside the group, so no figure is withheld at the default thresholds.
PEER_AGENCIES = (
    ("ashford", "Ashford Police Department", True, "mid-size city", {"Downtown": 30000, "Hills": 28000, "Bay": 40000}, -0.3),
    ("brookvale", "Brookvale Police Department", False, "mid-size city", {"North": 45000, "South": 50000}, 0.4),
    ("cedar-falls", "Cedar Falls Police Department", True, "mid-size city", {"East": 35000, "West": 42000, "Mill": 20000}, -0.8),
    ("dunmore", "Dunmore Police Department", False, "mid-size city", {"Central": 60000, "Outer": 55000}, 0.1),
    ("elmwood", "Elmwood Police Department", False, "mid-size city", {"One": 38000, "Two": 41000, "Three": 33000}, -0.5),
    ("fairport", "Fairport Police Department", True, "large city", {"A": 210000, "B": 180000, "C": 240000}, -1.0),
    ("glenhaven", "Glenhaven Police Department", False, "large city", {"Harbor": 300000, "Uptown": 260000}, -0.4),
    ("hartwell", "Hartwell Police Department", False, "large city", {"N": 190000, "S": 220000, "E": 170000}, -0.7),
    ("ironbridge", "Ironbridge Police Department", True, "large city", {"Old Town": 250000, "New Town": 280000}, 0.2),
    ("juniper", "Juniper Police Department", False, "large city", {"Ridge": 230000, "Valley": 210000}, -1.2),
)


def load_peer_agencies(seed: int = 20261125, per_wave: int = 250, echo: Callable[[str], None] = print,
                       home: str = "riverton") -> list[Agency]:
    """Load the other agencies of the demo campaign: each with the core instrument (the same
    version as the demo agency's) and one closed wave of ``per_wave`` simulated responses in the
    quarter before the current one. The demo agency ``home`` is put in the "mid-size city" group."""
    session = db.session
    rng = np.random.default_rng(seed + 7)
    start = _shift_quarter(_quarter_start(today()), -1)
    opens, closes = start + dt.timedelta(days=7), _shift_quarter(start, 1) - dt.timedelta(days=14)
    made = []
    for k, (slug, name, listed, group, districts, shift) in enumerate(PEER_AGENCIES):
        agency = Agency(slug=slug, name=name, city=name.replace(" Police Department", ""), default_language="en",
                        districts=sorted(districts), listed=listed, peer_group=group)
        session.add(agency)
        session.flush()
        for _line in sync_instruments(agency, current_app.config["INSTRUMENTS_DIR"]):
            pass
        version = session.scalars(
            select(InstrumentVersion).join(Instrument)
            .where(Instrument.agency_id == agency.id, Instrument.key == "core-trust")
            .order_by(InstrumentVersion.version.desc())).first()
        if version is None:
            raise RuntimeError("The core-trust instrument was not found in instruments/.")
        _population_targets(agency, districts)
        wave = Wave(agency_id=agency.id, instrument_version_id=version.id, slug=_wave_slug(start),
                    title=f"Community survey {start.year} Q{(start.month - 1) // 3 + 1}", opens_on=opens,
                    closes_on=closes, mode=WaveMode.INVITATION, languages=["en"], published=True,
                    strata=[WaveStratum(name=d, population=p) for d, p in districts.items()])
        session.add(wave)
        session.flush()
        areas = neighborhoods(seed + k, districts)
        _simulate_wave(rng, wave, instrument_for_wave(wave), 3, per_wave, closed=True, areas=areas,
                       area_rng=np.random.default_rng(seed + 200 + k), populations=districts, shift=shift)
        made.append(agency)
    mine = session.scalars(select(Agency).where(Agency.slug == home)).first()
    if mine is not None and not mine.peer_group:
        mine.peer_group = "mid-size city"
    session.commit()
    echo(f"Peer agencies loaded: {len(made)} agencies with {per_wave} simulated responses each "
         f"({sum(a.listed for a in made)} listed by name).")
    return made
