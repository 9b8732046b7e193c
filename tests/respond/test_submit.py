"""Submitting: one response per code under concurrent submits, replays land safely, and a response
cannot be joined back to the code that opened it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Date, func, inspect, select

from survey.db import Base, db
from survey.models import Answer, Invitation, Response, Sample, SurveyDraft, week_of
from survey.models import today as app_today
from tests.respond.conftest import LAST, enter, page_of, page_path

THREADS = 6


def _responses(app) -> list[Response]:
    with app.app_context():
        return list(db.session.scalars(select(Response)))


def _run_together(calls):
    """Run the callables in threads released at the same moment; return their results."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n, call):
        barrier.wait()
        try:
            results[n] = call()
        except Exception as exc:  # noqa: BLE001 - reported below
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_a_complete_submit_stores_the_response_and_uses_the_code(client, app, code):
    enter(client, code)
    client.post("/survey/q/safety", data={"safety_feel": "8", "safety_community": "1"})
    client.post("/survey/q/voice", data={"top_issue": "  Speeding on Main Street  "})
    client.post(f"/survey/q/{page_of('age_band')}", data={"age_band": "3"})
    client.post(f"/survey/q/{page_of('race_eth')}", data={"race_eth": ["2", "7"]})
    response = client.post(f"/survey/q/{LAST}", data={})
    assert page_path(response) == "/survey/done"
    assert "survey_draft=;" in response.headers["Set-Cookie"]  # the draft cookie is dropped
    done = client.get("/survey/done").get_data(as_text=True)
    assert 'href="/"' in done and 'href="/complaints/"' in done
    (stored,) = _responses(app)
    with app.app_context():
        stored = db.session.get(Response, stored.id)
        assert stored.channel == "web" and stored.stratum == "North" and stored.language == "en"
        assert stored.selection_probability == pytest.approx(0.02)
        assert stored.sample == Sample.PROBABILITY
        assert stored.submitted_on == week_of(app_today())
        answers = {(a.item_key, a.ordinal): (a.code, a.text) for a in stored.answers}
        assert answers == {
            ("safety_feel", 0): (8, None),
            ("safety_community", 0): (1, None),
            ("top_issue", 0): (None, "Speeding on Main Street"),
            ("age_band", 0): (3, None),
            ("race_eth", 0): (2, None),
            ("race_eth", 1): (7, None),
        }
        invitation = db.session.scalars(select(Invitation)).one()
        assert invitation.used
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_a_reload_or_replayed_last_page_never_makes_two_responses(client, app, code):
    enter(client, code)
    cookie = client.get_cookie("survey_draft", path="/survey/").value
    assert page_path(client.post(f"/survey/q/{LAST}", data={"education": "1"})) == "/survey/done"
    # The browser resends the form with the old cookie (a reload after a lost response).
    client.set_cookie("survey_draft", cookie, path="/survey/")
    assert page_path(client.post(f"/survey/q/{LAST}", data={"education": "1"})) == "/survey/done"
    # Going back afterwards finds nothing in progress and says so; the code cannot start again.
    assert page_path(client.get(f"/survey/q/{LAST}")) == "/survey/"
    assert enter(client, code).status_code == 400
    assert len(_responses(app)) == 1


def test_concurrent_submits_of_the_same_draft_store_exactly_one_response(app, code):
    first = app.test_client()
    enter(first, code)
    cookie = first.get_cookie("survey_draft", path="/survey/").value
    clients = []
    for _ in range(THREADS):
        c = app.test_client()
        c.set_cookie("survey_draft", cookie, path="/survey/")
        clients.append(c)
    results = _run_together([lambda c=c: c.post(f"/survey/q/{LAST}", data={"education": "2"}) for c in clients])
    assert all(not isinstance(r, Exception) for r in results), results
    assert {r.status_code for r in results} == {303}
    assert {page_path(r) for r in results} == {"/survey/done"}
    assert len(_responses(app)) == 1


def test_concurrent_submits_of_the_same_code_from_many_phones_store_exactly_one(app, code):
    clients = [app.test_client() for _ in range(THREADS)]
    for c in clients:
        assert enter(c, code).status_code == 303
    results = _run_together([lambda c=c: c.post(f"/survey/q/{LAST}", data={"education": "4"}) for c in clients])
    assert all(not isinstance(r, Exception) for r in results), results
    outcomes = sorted(page_path(r) for r in results)
    assert outcomes.count("/survey/done") == 1
    assert outcomes.count("/survey/code-used") == THREADS - 1
    assert len(_responses(app)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_a_response_has_no_column_that_could_join_it_to_its_code(app):
    columns = {c.name: c for c in Base.metadata.tables["response"].columns}
    # "area" is the small area, an attribute like the stratum (tests/respond/test_areas.py).
    assert set(columns) == {"id", "wave_id", "stratum", "area", "language", "channel", "selection_probability", "sample", "submitted_on"}
    assert isinstance(columns["submitted_on"].type, Date)  # a date, never a time
    foreign = {fk.column.table.name for c in columns.values() for fk in c.foreign_keys}
    assert foreign == {"wave"}
    answer_columns = set(Base.metadata.tables["answer"].columns.keys())
    assert answer_columns == {"response_id", "item_key", "ordinal", "code", "text"}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            for fk in column.foreign_keys:
                assert fk.column.table.name != "response" or table.name == "answer", (table.name, column.name)
    # The live schema agrees with the models.
    with app.app_context():
        live = {c["name"] for c in inspect(db.engine).get_columns("response")}
    assert live == set(columns)


def test_stored_responses_hold_nothing_that_matches_their_invitation(client, app, wave, make_invitation):
    codes = [make_invitation(wave, stratum=s) for s in ("North", "South", "North")]
    for code in codes:
        c = app.test_client()
        enter(c, code)
        assert page_path(c.post(f"/survey/q/{LAST}", data={"education": "1"})) == "/survey/done"
    with app.app_context():
        invitations = db.session.scalars(select(Invitation)).all()
        # (No column can hold an invitation id: the schema test above checks that.)
        secrets_ = {i.code_hash for i in invitations} | set(codes) | {c.replace("-", "") for c in codes}
        rows = db.session.execute(select(Response.__table__)).mappings().all()
        answers = db.session.execute(select(Answer.__table__)).mappings().all()
    assert len(rows) == 3
    for row in [*rows, *answers]:
        for value in row.values():
            assert str(value) not in secrets_
            assert not isinstance(value, dt.datetime)
    ids = [row["id"] for row in rows]
    # Random 128-bit ids: distinct, not numbers, so they reveal nothing about the order of submission.
    assert len(set(ids)) == 3 and all(len(i) >= 22 and not i.isdigit() for i in ids)
