"""Bad input on any field gets a message on that field and keeps the other answers; no malformed
post ever gets a 500."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from survey.db import db
from survey.instrument_store import instrument_for_wave
from survey.models import Response, Wave
from survey.respond.flow import build_pages
from tests.pagetext import checked
from tests.respond.conftest import enter, errors_of


def _good(item) -> str | list[str]:
    if item.type == "scale":
        return "6"
    if item.type == "multi":
        return [str(item.options[0].code)]
    if item.type == "text":
        return "Speeding"
    return str(item.options[-1].code)


def _bad(item) -> list:
    if item.type == "text":
        return ["x" * (item.max_length + 1)]
    bad = ["99", "abc", "6.0", " 5", "-1", "1e3"]
    if item.type == "multi":
        bad.append(["1", "9"])  # an exclusive option with another
    return bad


def _item_keys() -> list[str]:
    from survey.instruments import load_file
    from tests.conftest import ROOT

    return list(load_file(ROOT / "instruments" / "core-trust.v1.toml").items)


@pytest.mark.parametrize("item_key", _item_keys())
def test_bad_input_on_a_field_gets_a_message_there_and_keeps_the_rest(client, app, code, item_key):
    enter(client, code)
    client.post("/survey/q/contact-any", data={"contact_any": "1"})  # show the contact follow-ups
    with app.app_context():
        wave = db.session.scalars(select(Wave)).one()
        pages = build_pages(instrument_for_wave(wave), wave)
    page = next(p for p in pages if any(i.key == item_key for i in p.items))
    for bad in _bad(next(i for i in page.items if i.key == item_key)):
        _post_bad(client, page, item_key, bad)


def _post_bad(client, page, item_key, bad) -> None:
    data = MultiDict()
    for item in page.items:
        value = bad if item.key == item_key else _good(item)
        for v in value if isinstance(value, list) else [value]:
            data.add(item.key, v)
    response = client.post(f"/survey/q/{page.key}", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(errors_of(html)) == 1
    assert re.search(rf'id="{item_key}-error"', html)
    for item in page.items:
        if item.key == item_key:
            continue
        if item.type == "text":
            assert ">Speeding</textarea>" in html
        else:
            good = _good(item)
            assert checked(html, item.key) == (good if isinstance(good, list) else [good]), item.key
    if item_key == "top_issue":
        assert "x" * 50 in html  # the over-long text is kept so it can be shortened


MALFORMED = [
    {},
    {"safety_feel": ""},
    {"safety_feel": ["3", "4", "5"]},  # duplicates: the first counts
    {"safety_feel": "x" * 200_000},
    {"safety_feel": "\x00"},
    {"safety_feel": "３"},  # a full-width digit
    {"safety_feel": "-9", "safety_community": "-9", "unexpected": "yes"},
    {"safety_feel": "10", "csrf_token": "forged"},
    {"safety_community": "0"},
    {"safety_community": "-0"},
    {"top_issue": "\x00\x00 text with NUL"},
    {"top_issue": "ok", "top_issue ": "spaces in the name"},
    {"contact_any": ["1"] * 300},
    {"contact_any": ["1", "2", "3", "4", "5", "6", "7", "8"]},
    {"contact_any": "", "safety_feel": ""},
    {"contact_any[]": "1"},
]


@pytest.mark.parametrize("page", ["safety", "contact-any", "voice", "nope"])
def test_malformed_posts_never_fail_with_a_500(client, code, page):
    enter(client, code)
    for body in MALFORMED:
        response = client.post(f"/survey/q/{page}", data=body)
        assert response.status_code in (200, 303, 404), (body, response.status_code)


STRANGE = [
    {"json": {"safety_feel": 3}},
    {"data": b"\xff\xfe\x00garbage", "content_type": "application/x-www-form-urlencoded"},
    {"data": "safety_feel=%ZZ&&==&", "content_type": "application/x-www-form-urlencoded"},
    {"data": {"safety_feel": "3"}, "content_type": "multipart/form-data"},
    {"data": "x" * 400_000, "content_type": "text/plain"},
    {"data": {"safety_feel": "y" * 300_000}},  # over the request size limit
]


def test_strange_bodies_never_fail_with_a_500(client, code):
    enter(client, code)
    for kwargs in STRANGE:
        response = client.post("/survey/q/safety", **kwargs)
        assert response.status_code in (200, 303, 400, 413), (kwargs, response.status_code)


def test_a_malformed_code_post_is_handled(client, code):
    for data in ({}, {"code": ["a", "b"]}, {"code": "x" * 100_000}, {"code": "\x00"}):
        assert client.post("/survey/", data=data).status_code == 400


FIELDS = ["safety_feel", "safety_community", "contact_any", "top_issue", "age_band", "race_eth", "junk"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["-9", "9", "1", "10", "", " ", "\x00", "１"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    page=st.sampled_from(["safety", "contact-any", "voice", "about"]),
    body=st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), max_size=12),
)
def test_any_post_gets_a_page_or_a_redirect(client, code, app, page, body):
    if client.get_cookie("survey_draft", path="/survey/") is None:
        enter(client, code)
    response = client.post(f"/survey/q/{page}", data=MultiDict(body))
    assert response.status_code in (200, 303)
    if response.status_code == 200:
        assert errors_of(response.get_data(as_text=True))
    with app.app_context():
        assert len(db.session.scalars(select(Response)).all()) <= 1
