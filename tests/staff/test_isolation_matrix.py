"""Strictly apart (issue 18, item 2): no one of agency A can read or change anything of agency B.

Every staff route (enumerated from the URL map, so a new route cannot escape), with every method,
for every role (admin, survey manager, analyst, investigator, a campaign account), both ways
(Alpha at Bravo and Bravo at Alpha), and two ways of aiming:

- at the other agency's objects from one's own address (``/a/alpha/staff/waves/<Bravo's slug>``,
  Bravo's complaint ids and references, staff ids, letters batch, waves by numeric id...);
- at the other agency's own addresses (``/a/bravo/staff/...``) with one's session cookie carried
  over by hand.

Each answer must be below 500 and show nothing of the other agency (pages, and files inside a
downloaded zip, are searched for its marker word); an address naming the other agency's object
must not answer 200; after every POST (and every complaint page, which writes the audit log) the
other agency's rows are exactly as before, and so is its held batch of letters on disk. The
world is built once per module and backend (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).
Set ISOLATION_MATRIX_SIZE=1 (with -s) to print how many requests each role and direction made.

The tests after the matrix are the codes of item 2: access and receipt codes, survey drafts,
open-link waves, the results cache, downloads, the audit log and the commands.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey.models import Role
from tests.conftest import fresh_database, make_test_app
from tests.databases import backends
from tests.staff.isolation_world import (
    CAMPAIGN,
    MARK,
    ROLES,
    AgencyData,
    build_agency,
    campaign_account,
    forge_session,
    sign_in,
    snapshot,
)
from tests.staff.test_access_matrix import PUBLIC

#: Alpha's texts carry "Alpha"; Bravo's carry the marker, so that slugs and URLs stay marker-free.
NAMES = {"alpha": "Alpha", "bravo": f"{MARK} Bravo"}
OTHER = {"alpha": "bravo", "bravo": "alpha"}
STRATA = {"alpha": ["North", "South"], "bravo": [f"{MARK} Hills", f"{MARK} Flats"]}


@dataclass
class World:
    app: Flask
    agencies: dict[str, AgencyData]
    campaign_id: int


@pytest.fixture(scope="module", params=backends())
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("isolation")
    app = make_test_app(fresh_database(request, request.param, tmp), tmp, AGENCY_ADDRESSES="path", RESULTS_MIN_N=5)
    agencies = {
        slug: build_agency(app, slug, NAMES[slug], STRATA[slug], responses=responses)
        for slug, responses in (("alpha", 12), ("bravo", 16))
    }
    # A held batch of letters of each agency (its token is in its manager's session only).
    for slug, data in agencies.items():
        client = app.test_client()
        sign_in(client, slug, data.emails[str(Role.SURVEY_MANAGER)])
        fields = {"count_0": "2", "probability_0": "0.01"}
        page = client.get(f"/a/{slug}/staff/waves/shared-open/invitations").get_data(as_text=True)
        assert STRATA[slug][0] in page
        response = client.post(f"/a/{slug}/staff/waves/shared-open/invitations", data=fields)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        data.letters_token = response.headers["Location"].rstrip("/").split("/")[-1]
    yield World(app, agencies, campaign_account(app))
    app.extensions["survey.db"]["engine"].dispose()


def staff_rules(app: Flask):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/staff/") and r.endpoint not in PUBLIC]


def _targets(world: World, slug: str) -> dict[str, list[str]]:
    """The other agency's objects, as each URL argument names them."""
    data = world.agencies[slug]
    unique = [data.waves[kind][1] for kind in ("closed", "openlink")]
    return {
        # Waves by slug (their own) and by numeric id (a number in place of a slug must not find one).
        "slug": unique + [str(data.waves["published"][0])],
        # Complaints by id and by reference.
        "complaint_id": [data.complaints[0][0], data.complaints[1][1]],
        "user_id": [str(data.staff[str(Role.ADMIN)]), str(data.staff[str(Role.INVESTIGATOR)])],
        "token": [data.letters_token],
        "lang": ["es"],
    }


#: URL arguments that name no agency's object (a language): a 200 there is one's own page.
NOT_OBJECTS = {"lang"}


def _names_an_object(rule: str) -> bool:
    return any(arg.split(":")[-1] not in NOT_OBJECTS for arg in re.findall(r"<([^>]+)>", rule))


def _queries(world: World, slug: str) -> list[str]:
    """Query strings naming the other agency's waves and people, for the routes that read them."""
    data = world.agencies[slug]
    waves = "&".join(f"waves={data.waves[k][1]}" for k in ("closed", "openlink"))
    return [f"?{waves}", f"?waves={data.waves['closed'][1]}&chart=trend&measure=trust",
            f"?assigned=u{data.staff[str(Role.INVESTIGATOR)]}&status=open"]


def _payloads(world: World, slug: str) -> list[dict[str, str | list[str]]]:
    """Form data that would change something if it reached the other agency's objects."""
    data = world.agencies[slug]
    return [
        {},
        {"published": "y", "publish_areas": "y", "status-status": "acknowledged", "note-body": "leak",
         "message-body": "leak", "assign-assignee": str(data.staff[str(Role.INVESTIGATOR)]),
         "name": "Changed", "email": "changed@example.org", "roles": ["admin"], "active": "y",
         "codes": "", "waves": [data.waves["closed"][1], data.waves["published"][1]]},
    ]


def _requests(world: World, target: str, full: bool = True) -> Iterator[tuple[str, str, str, list]]:
    """(endpoint, method, path, payloads) for every staff route aimed at ``target``'s objects;
    not ``full``: one address per route and an empty form (enough where no one is signed in)."""
    import itertools

    from flask import url_for

    values = _targets(world, target)
    for rule in staff_rules(world.app):
        args = sorted(rule.arguments)
        combos = [dict(zip(args, combo, strict=True)) for combo in itertools.product(*(values[a] for a in args))]
        if "slug" in args and len(args) > 1:
            # One's own wave of the same slug, with the other agency's batch of letters.
            combos.append({**combos[0], "slug": "shared-open"})
        if not full:
            combos = combos[:1]
        for combo in combos:
            with world.app.test_request_context():
                path = url_for(rule.endpoint, **combo)
            suffixes = [""] if args or not full else ["", *_queries(world, target)]
            for method in sorted(rule.methods & {"GET", "POST"}):
                for suffix in suffixes if method == "GET" else [""]:
                    yield rule.endpoint, method, path + suffix, (_payloads(world, target)[: None if full else 1] if method == "POST" else [None])


def _start(world: World, client: FlaskClient, home: str, role: str, carry_to: str | None = None) -> FlaskClient:
    """Sign ``client`` in as ``role`` of ``home`` (and carry its cookie to ``carry_to``'s addresses)."""
    if role == CAMPAIGN:
        forge_session(world.app, client, home, world.campaign_id)
    else:
        sign_in(client, home, world.agencies[home].emails[role])
    if carry_to and carry_to != home:
        _carry_cookie(world, client, home, carry_to)
    return client


def _carry_cookie(world: World, client: FlaskClient, home: str, there: str) -> None:
    """Copy the session cookie kept to ``/a/<home>/`` to ``/a/<there>/`` (a browser never would)."""
    name = world.app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name, path=f"/a/{home}/")
    if cookie is not None:
        client.set_cookie(name, cookie.value, path=f"/a/{there}/")


def _shown(response) -> str:
    """What a response shows: its text, or the text of every file in a zip."""
    body = response.get_data()
    if response.mimetype == "application/zip":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return body.decode("utf-8", "replace") + "\n" + str(response.headers)


def _marker(slug: str) -> str:
    return MARK if slug == "bravo" else NAMES["alpha"]


CHECKS: dict[str, int] = {}


@pytest.mark.parametrize("direction", ["alpha-to-bravo", "bravo-to-alpha"])
@pytest.mark.parametrize("role", ROLES)
def test_no_one_of_one_agency_reaches_the_other(world: World, role: str, direction: str) -> None:
    home, there = direction.split("-to-")
    marker = _marker(there)
    before = snapshot(world.app, world.agencies[there].id)
    client = _start(world, world.app.test_client(), home, role)
    problems: list[str] = []
    checked = 0
    letters = Path(world.app.config["LETTERS_DIR"]) / f"{world.agencies[there].letters_token}.bin"
    assert letters.exists()

    def check(endpoint: str, method: str, url: str, data, aimed_at_object: bool, signed_in: bool) -> None:
        nonlocal checked
        try:
            response = client.open(url, method=method, data=data or {})
        except Exception as exc:  # TESTING lets a view's exception through: a 500 in production
            problems.append(f"{role} of {home}: {method} {url}: {type(exc).__name__}: {exc}"[:300])
            checked += 1
            return
        where = f"{role} of {home}: {method} {url} {sorted(data) if data else ''}-> {response.status_code}"
        if response.status_code >= 500:
            problems.append(f"{where}: server error")
        elif marker in _shown(response):
            problems.append(f"{where}: shows {there}'s data")
        elif aimed_at_object and response.status_code == 200:
            problems.append(f"{where}: 200 for {there}'s object")
        elif signed_in and endpoint != "staff.sign_out_all" and "/staff/sign-in" in response.headers.get("Location", ""):
            problems.append(f"{where}: the test's session ended (it checks nothing signed out)")
        if method == "POST" and not letters.exists():
            problems.append(f"{where}: deleted {there}'s batch of letters")
            letters.touch()
        if method == "POST" or "/complaints/" in url:
            after = snapshot(world.app, world.agencies[there].id)
            changed = [table for table in before if before[table] != after[table]]
            if changed:
                problems.append(f"{where}: changed {there}'s {', '.join(changed)}")
                before.update(after)
        if endpoint == "staff.sign_out_all" and response.status_code == 303:
            # That one ends one's own session by design: start another for the rest.
            _start(world, client, home, role, carry_to=url.split("/")[2])
        checked += 1

    # 1. From one's own address, at the other agency's objects.
    for endpoint, method, url, payloads in _requests(world, there):
        for data in payloads:
            check(endpoint, method, f"/a/{home}{url}", data, aimed_at_object=_names_an_object(_rule_of(world, endpoint)),
                  signed_in=role != CAMPAIGN)
    # 2. At the other agency's own addresses, with one's cookie carried there by hand.
    _carry_cookie(world, client, home, there)
    for endpoint, method, url, payloads in _requests(world, there, full=False):
        for data in payloads:
            check(endpoint, method, f"/a/{there}{url}", data, aimed_at_object=True, signed_in=False)
    CHECKS[f"{role} {direction}"] = checked
    assert not problems, f"{len(problems)} of {checked} requests reached the other agency:\n" + "\n".join(problems[:60])
    assert snapshot(world.app, world.agencies[there].id) == before


def _rule_of(world: World, endpoint: str) -> str:
    return next(r.rule for r in world.app.url_map.iter_rules() if r.endpoint == endpoint)


def test_the_matrix_covers_every_staff_route(world: World) -> None:
    """Every staff route is requested with every method by the matrix (a new route is in it at once)."""
    seen = {(endpoint, method) for endpoint, method, _u, _p in _requests(world, "bravo")}
    wanted = {(r.endpoint, m) for r in staff_rules(world.app) for m in r.methods & {"GET", "POST"}}
    assert wanted == seen
    if os.environ.get("ISOLATION_MATRIX_SIZE"):
        print(f"\nstaff routes x methods: {len(wanted)}; requests per role and direction: {CHECKS}")


# ------------------------------------------------------------------ the codes of issue 18, item 2


def _resident(world: World) -> FlaskClient:
    return world.app.test_client()


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_access_codes_do_nothing_at_another_agency(world: World, home: str) -> None:
    there = OTHER[home]
    code = world.agencies[home].codes.pop()
    before = {slug: snapshot(world.app, data.id) for slug, data in world.agencies.items()}
    client = _resident(world)
    for start in (f"/a/{there}/survey/", f"/a/{there}/survey/start"):
        response = client.post(start, data={"code": code})
        assert response.status_code == 400, start
        assert "We could not accept this access code" in response.get_data(as_text=True)
    # The printed link's ?code= at the other agency: the same refusal, nothing started.
    assert client.get(f"/a/{there}/survey/start?code={code}").status_code == 303
    response = client.post(f"/a/{there}/survey/start", data={"code": code})
    assert response.status_code == 400 and "We could not accept this access code" in response.get_data(as_text=True)
    assert {slug: snapshot(world.app, data.id) for slug, data in world.agencies.items()} == before
    # At its own agency the same code starts the survey (so the refusal above was about the agency).
    response = _resident(world).post(f"/a/{home}/survey/", data={"code": code})
    assert response.status_code == 303 and f"/a/{home}/survey/q/" in response.headers["Location"]


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_a_survey_started_at_one_agency_goes_on_only_there(world: World, home: str) -> None:
    """A resident's draft cookie, carried to the other agency's address, finds no survey there
    and stores nothing there (the other agency's questionnaire would otherwise be filled with its name)."""
    there = OTHER[home]
    client = _resident(world)
    response = client.post(f"/a/{home}/survey/", data={"code": world.agencies[home].codes.pop()})
    first = response.headers["Location"]
    page = first.split("/survey/", 1)[1]
    assert client.get(first).status_code == 200
    for cookie in list(client._cookies.values()):  # noqa: SLF001 - carry every cookie by hand
        if cookie.path.startswith(f"/a/{home}/"):
            client.set_cookie(cookie.key, cookie.value, path=cookie.path.replace(f"/a/{home}/", f"/a/{there}/", 1))
    before = snapshot(world.app, world.agencies[there].id)
    response = client.get(f"/a/{there}/survey/{page}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/a/{there}/survey/")
    response = client.post(f"/a/{there}/survey/{page}", data={"safety_feel": "5"})
    assert response.status_code == 303
    assert snapshot(world.app, world.agencies[there].id) == before


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_receipt_codes_do_nothing_at_another_agency(world: World, home: str) -> None:
    there = OTHER[home]
    code = world.agencies[home].receipts[0]
    client = _resident(world)
    response = client.post(f"/a/{there}/complaints/follow-up", data={"code": code})
    assert response.status_code == 200
    assert "We could not find a complaint with that code" in response.get_data(as_text=True)
    assert client.get(f"/a/{there}/complaints/status").status_code == 303
    # At its own agency it opens the complaint; that follow-up, carried to the other agency, shows nothing.
    response = client.post(f"/a/{home}/complaints/follow-up", data={"code": code})
    assert response.status_code == 303
    mine = client.get(f"/a/{home}/complaints/status").get_data(as_text=True)
    assert f"{NAMES[home]} complaint story 0" in mine
    before = snapshot(world.app, world.agencies[home].id)
    _carry_cookie(world, client, home, there)
    response = client.get(f"/a/{there}/complaints/status")
    assert response.status_code == 303 and "/complaints/follow-up" in response.headers["Location"]
    response = client.post(f"/a/{there}/complaints/status", data={"body": "A message sent from the wrong address"})
    assert response.status_code == 303
    client.post(f"/a/{there}/complaints/follow-up/end")
    assert snapshot(world.app, world.agencies[home].id) == before


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_open_link_waves_open_only_at_their_agency(world: World, home: str) -> None:
    there = OTHER[home]
    wave = world.agencies[home].waves["openlink"][1]
    client = _resident(world)
    assert f"{NAMES[home]} openlink survey" not in client.get(f"/a/{there}/survey/").get_data(as_text=True)
    assert client.post(f"/a/{there}/survey/open/{wave}", data={}).status_code == 404
    response = client.post(f"/a/{home}/survey/open/{wave}", data={})
    assert response.status_code == 303 and f"/a/{home}/survey/q/" in response.headers["Location"]


def test_public_results_never_mix_agencies(world: World) -> None:
    """Both agencies publish a wave of the same slug: each results page (and chart) shows its own,
    whichever was computed (and cached) first."""
    client = _resident(world)
    bravo = client.get("/a/bravo/results/").get_data(as_text=True)
    alpha = client.get("/a/alpha/results/").get_data(as_text=True)
    assert f"{MARK} Hills" in bravo and "North" not in bravo
    assert "North" in alpha and MARK not in alpha
    charts = {slug: client.get(f"/a/{slug}/results/chart/trust.svg") for slug in ("bravo", "alpha")}
    assert all(r.status_code == 200 for r in charts.values())
    assert charts["alpha"].get_data() != charts["bravo"].get_data()
    with world.app.app_context():
        from survey.db import db
        from survey.models import Wave
        from survey.results import service

        waves = {w.agency_id: w for w in db.session.query(Wave).filter(Wave.slug == "shared-published")}
        keys = {agency_id: service.wave_key(w, "public") for agency_id, w in waves.items()}
    assert len(set(keys.values())) == 2, "one cache key for two agencies' waves"


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_staff_downloads_and_comparisons_hold_only_their_agencys_rows(world: World, home: str) -> None:
    there = OTHER[home]
    data = world.agencies[home]
    client = _start(world, world.app.test_client(), home, str(Role.ANALYST))
    response = client.post(f"/a/{home}/staff/export", data={"waves": ["shared-published", "shared-open"]})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        rows = archive.read("responses.csv").decode("utf-8-sig").strip().splitlines()
        everything = _shown(response)
    assert len(rows) - 1 == data.responses["published"] + data.responses["open"]
    assert _marker(there) not in everything and _marker(home) in everything
    shared = "waves=shared-published&waves=shared-open"
    for url in (f"/staff/compare/report.zip?{shared}", f"/staff/compare/?{shared}",
                f"/staff/compare/?{shared}&section=groups", f"/staff/compare/chart.svg?{shared}&chart=domains&measure=trust"):
        response = client.get(f"/a/{home}{url}")
        assert response.status_code == 200, url
        assert _marker(there) not in _shown(response), url
    assert STRATA[home][0] in client.get(f"/a/{home}/staff/compare/?{shared}&section=groups").get_data(as_text=True)


def test_every_audit_record_names_its_agency() -> None:
    """Every call of audit.record in the application passes agency_id (None only by saying so)."""
    import ast
    from pathlib import Path

    missing = []
    for path in sorted(Path("survey").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                owner = getattr(node.func, "value", None)
                is_audit = name == "record" and isinstance(owner, ast.Name) and owner.id == "audit"
                if is_audit and not any(k.arg == "agency_id" for k in node.keywords):
                    missing.append(f"{path}:{node.lineno}")
    assert not missing, f"audit.record without agency_id at {missing}"


def test_audit_events_carry_their_agency_and_each_chain_verifies(world: World) -> None:
    from sqlalchemy import select

    from survey.db import db
    from survey.models import AuditEvent, Complaint, StaffUser

    with world.app.app_context():
        complaints = dict(db.session.execute(select(Complaint.id, Complaint.agency_id)).all())
        staff = {str(k): v for k, v in db.session.execute(select(StaffUser.id, StaffUser.agency_id)).all()}
        events = db.session.execute(select(AuditEvent.agency_id, AuditEvent.object_type, AuditEvent.object_id,
                                           AuditEvent.action)).all()
        assert events
        for agency_id, kind, object_id, action in events:
            owner = {"complaint": complaints, "staff_user": staff}.get(kind, {}).get(object_id, agency_id)
            assert agency_id is not None and agency_id == owner, (action, kind, object_id, agency_id)
    result = world.app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    for slug in world.agencies:
        assert slug in result.output
        assert world.app.test_cli_runner().invoke(args=["audit", "verify", "--agency", slug]).exit_code == 0


def test_commands_act_on_the_agency_they_name(world: World) -> None:
    runner = world.app.test_cli_runner()
    # Several agencies and none named: the command refuses rather than pick one.
    result = runner.invoke(args=["invitations", "create", "--wave", "shared-open", "--stratum", "North", "--count", "1"])
    assert result.exit_code != 0 and "--agency" in result.output
    result = runner.invoke(args=["invitations", "create", "--agency", "bravo", "--wave", "shared-open",
                                 "--stratum", f"{MARK} Hills", "--count", "1", "--probability", "0.01"])
    assert result.exit_code == 0, result.output
    code, stratum, url = result.stdout.strip().splitlines()[1].split(",")
    assert url.startswith("http://127.0.0.1:5000/a/bravo/survey/start?code=")
    client = _resident(world)
    assert client.post("/a/alpha/survey/", data={"code": code}).status_code == 400
    assert client.post("/a/bravo/survey/", data={"code": code}).status_code == 303
    # Alpha has no such stratum in its wave of the same slug: the command looks at Alpha's wave.
    result = runner.invoke(args=["invitations", "create", "--agency", "alpha", "--wave", "shared-open",
                                 "--stratum", f"{MARK} Hills", "--count", "1", "--probability", "0.01"])
    assert result.exit_code != 0 and "no stratum" in result.output
    assert runner.invoke(args=["invitations", "create", "--agency", "nowhere", "--wave", "x", "--count", "1"]).exit_code != 0
    # results-warm warms every agency's published waves.
    result = runner.invoke(args=["results-warm"])
    assert result.exit_code == 0, result.output
    assert "Results of 2 wave(s) of 2 agencies" in result.output


def test_failed_sign_ins_at_one_agency_never_lock_the_other(world: World) -> None:
    """One email at two agencies is two accounts: wrong passwords at Alpha lock Alpha's account
    (from that client) and neither lock, nor show as locked, nor let anyone unlock Bravo's."""
    from survey.auth import hash_password
    from survey.db import db
    from survey.models import StaffUser
    from tests.conftest import PASSWORD

    with world.app.app_context():
        for data in world.agencies.values():
            db.session.add(StaffUser(agency_id=data.id, email="same@example.org", name="Same Person",
                                     password_hash=hash_password(PASSWORD), roles=["analyst"]))
        db.session.commit()
    client = _resident(world)
    for _ in range(6):
        client.post("/a/alpha/staff/sign-in", data={"email": "same@example.org", "password": "wrong password!"})
    assert client.post("/a/alpha/staff/sign-in", data={"email": "same@example.org", "password": PASSWORD}).status_code == 200
    assert client.post("/a/bravo/staff/sign-in", data={"email": "same@example.org", "password": PASSWORD}).status_code == 303
    locked = "Locked after failed sign-ins"
    alpha = _start(world, world.app.test_client(), "alpha", str(Role.ADMIN))
    bravo = _start(world, world.app.test_client(), "bravo", str(Role.ADMIN))
    assert locked in alpha.get("/a/alpha/staff/users").get_data(as_text=True)
    assert locked not in bravo.get("/a/bravo/staff/users").get_data(as_text=True)


def test_survey_pages_kept_for_speed_show_each_agency_its_own_name(world: World) -> None:
    """Survey pages' fields are kept per instrument page (survey/respond/forms.py): both agencies
    use the same questionnaire ("Trust in {agency}"), and each resident reads their own agency's name."""
    for home in ("alpha", "bravo", "alpha", "bravo"):
        client = _resident(world)
        first = client.post(f"/a/{home}/survey/", data={"code": world.agencies[home].codes.pop()}).headers["Location"]
        trust = first.rsplit("/", 1)[0] + "/trust"
        pages = [client.get(trust), client.post(trust, data={"trust_agency": "99"})]
        assert [p.status_code for p in pages] in ([200, 200], [200, 400])
        for page in pages:
            text = page.get_data(as_text=True)
            assert f"Trust in {NAMES[home]} Police Department" in text
            assert NAMES[OTHER[home]] not in text


@pytest.mark.parametrize("home", ["alpha", "bravo"])
def test_staff_cannot_use_or_mark_the_other_agencys_codes_under_their_own_wave(world: World, home: str) -> None:
    """A's survey manager types B's access codes into A's wave of the same slug: keying in a paper
    questionnaire refuses the code, marking letters undeliverable does not know it, B's rows stay."""
    there = OTHER[home]
    code = world.agencies[there].codes[-1]
    client = _start(world, world.app.test_client(), home, str(Role.SURVEY_MANAGER))
    before = snapshot(world.app, world.agencies[there].id)
    response = client.post(f"/a/{home}/staff/survey-entry/shared-open",
                           data={"channel": "paper", "language": "en", "stratum": STRATA[home][0], "code": code,
                                 "trust_agency": "5"})
    assert response.status_code in (200, 400)
    assert "This code is not one of this wave" in response.get_data(as_text=True)
    response = client.post(f"/a/{home}/staff/waves/shared-open/undeliverable", data={"codes": code})
    assert response.status_code == 303
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "These codes are not invitations of this wave" in flashed
    assert snapshot(world.app, world.agencies[there].id) == before
