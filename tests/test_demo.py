"""The demo: deterministic, four past waves and an open one, and five working access codes."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from survey.db import db
from survey.models import (
    CAMPAIGN_ROLE,
    Agency,
    Answer,
    Complaint,
    ComplaintStatus,
    Invitation,
    PopulationTarget,
    Response,
    Role,
    StaffUser,
    Wave,
)
from survey.security import is_well_formed, keyed_hash, normalize_code

CODE_LINE = re.compile(r"^[2-9A-Z]{5}-[2-9A-Z]{5}-[2-9A-Z]{5}$")


def _load(runner, per_wave=60):
    result = runner.invoke(args=["demo", "--per-wave", str(per_wave), "--seed", "7"])
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_loads_waves_staff_targets_and_complaints(app, runner):
    output = _load(runner)
    with app.app_context():
        waves = db.session.scalars(select(Wave).order_by(Wave.opens_on)).all()
        assert len(waves) == 5
        assert [w.status() for w in waves] == ["closed"] * 4 + ["open"]
        assert all(w.published for w in waves[:4]) and not waves[4].published
        counts = [db.session.scalar(select(func.count()).where(Response.wave_id == w.id)) for w in waves[:4]]
        assert counts == [60] * 4
        assert db.session.scalar(select(func.count()).select_from(Answer)) > 60 * 4 * 15
        roles = {r for u in db.session.scalars(select(StaffUser)) for r in u.roles}
        assert roles == {str(r) for r in Role} | {CAMPAIGN_ROLE}  # the campaign's account too
        assert db.session.scalar(select(func.count()).select_from(PopulationTarget)) > 20
        statuses = {c.status for c in db.session.scalars(select(Complaint))}
        assert {ComplaintStatus.RECEIVED, ComplaintStatus.UNDER_REVIEW, ComplaintStatus.CLOSED} <= statuses
    assert "Staff sign-in" in output and "demo-password-2026" in output


def test_demo_prints_five_unused_codes_for_the_open_wave(app, runner):
    output = _load(runner)
    heading, _, rest = output.partition("Access codes for the open wave")
    codes = [line for line in rest.splitlines()[1:] if line.strip()]
    assert len(codes) == 5
    with app.app_context():
        open_wave = db.session.scalars(select(Wave).order_by(Wave.opens_on.desc())).first()
        for code in codes:
            assert CODE_LINE.match(code), code
            assert is_well_formed(normalize_code(code), 72)
            invitation = db.session.scalars(
                select(Invitation).where(Invitation.code_hash == keyed_hash("invitation", normalize_code(code)))
            ).one()
            assert invitation.wave_id == open_wave.id and not invitation.used


def test_demo_trust_drifts_by_district(app, runner):
    """East improves and South slips from the first to the last past wave (the simulated drift)."""
    _load(runner, per_wave=1500)
    with app.app_context():
        waves = db.session.scalars(select(Wave).order_by(Wave.opens_on)).all()

        def mean_trust(wave, district):
            return db.session.scalar(
                select(func.avg(Answer.code))
                .join(Response)
                .where(Response.wave_id == wave.id, Response.stratum == district, Answer.item_key == "pj_respect", Answer.code >= 0)
            )

        assert mean_trust(waves[3], "East") - mean_trust(waves[0], "East") > 0.4
        assert mean_trust(waves[3], "South") - mean_trust(waves[0], "South") < -0.2


def test_demo_if_empty_does_nothing_the_second_time(app, runner):
    _load(runner)
    result = runner.invoke(args=["demo", "--if-empty"])
    assert "already loaded" in result.output


def test_demo_complaints_have_a_history_and_the_audit_chain_holds(app, client, runner):
    _load(runner)
    with app.app_context():
        closed = db.session.scalars(
            select(Complaint).where(Complaint.status == ComplaintStatus.CLOSED, Complaint.review_started_on.is_not(None))
        ).first()
        received_only = db.session.scalars(select(Complaint).where(Complaint.status == ComplaintStatus.RECEIVED)).first()
    assert runner.invoke(args=["audit", "verify"]).output.startswith("Audit chain intact")
    response = client.post("/staff/sign-in", data={"email": "investigator@riverton.example", "password": "demo-password-2026"})
    assert response.status_code == 303
    page = client.get(f"/staff/complaints/{closed.id}").get_data(as_text=True)
    history = page[page.index("<h2>History"):]
    for step in ("Assigned to", "Status changed from Received to Acknowledged",
                 "Status changed from Acknowledged to Under review", "Status changed from Under review to Closed (",
                 "Sent a message to the resident"):
        assert step in history, step
    # Events are written in time order, so the closing is listed above the acknowledgement.
    assert history.index("to Closed") < history.index("to Acknowledged")
    fresh = client.get(f"/staff/complaints/{received_only.id}").get_data(as_text=True)
    assert "Status changed" not in fresh[fresh.index("<h2>History"):]


def test_a_second_run_prints_fresh_usable_codes(app, runner):
    """`make run` on a loaded demo: nothing is loaded again, and new working codes are printed."""
    _load(runner)
    result = runner.invoke(args=["demo", "--if-empty", "--codes", "3"])
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output and "New access codes for the open wave" in result.output
    codes = [line for line in result.output.splitlines() if CODE_LINE.match(line)]
    assert len(codes) == 3
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency)) == 1
        for code in codes:
            invitation = db.session.scalars(
                select(Invitation).where(Invitation.code_hash == keyed_hash("invitation", normalize_code(code)))).one()
            assert not invitation.used and db.session.get(Wave, invitation.wave_id).status() == "open"


def _make_run_commands() -> list[list[str]]:
    """The `flask` commands of the Makefile's `run` target, as `make run` gives them."""
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    return [line.split("$(FLASK)", 1)[1].split() for line in recipe.splitlines() if "$(FLASK)" in line]


def test_make_run_commands_load_the_campaign_demo_and_warm_it_twice(app, runner):
    """`make run`, first on an empty database and then again: the demo with its peer agencies
    (eleven agencies at single addresses) and every following command succeed."""
    commands = [c for c in _make_run_commands() if c[:2] != ["db", "upgrade"]]
    assert [c[0] for c in commands] == ["demo", "results-warm"]
    for attempt in range(2):
        for args in commands:
            if args[0] == "demo":
                args = [*args, "--per-wave", "400"]
            result = runner.invoke(args=args)
            assert result.exit_code == 0, f"run {attempt + 1}, flask {' '.join(args)}:\n{result.output}"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Agency)) == 11
