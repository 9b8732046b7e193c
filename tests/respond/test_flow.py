"""Answering: pages in order, progress, skip logic, Back, language change, prefer-not-to-say, exclusive options."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.instrument_store import instrument_for_wave
from survey.instruments import PREFER_NOT_TO_SAY
from survey.models import Response, Wave
from tests.pagetext import checked
from tests.respond.conftest import LAST, PAGES, enter, errors_of, open_draft, page_path


def progress(html: str) -> str:
    return re.search(r'<p class="progress">([^<]*)</p>', html).group(1)


@pytest.fixture
def started(client, code):
    assert page_path(enter(client, code)) == "/survey/q/safety"
    return client


def test_pages_follow_the_instrument_with_progress(started):
    client = started
    path, seen = "/survey/q/safety", []
    answers = {"contact-any": {"contact_any": ["4"]}}
    while path != "/survey/done":
        html = client.get(path).get_data(as_text=True)
        seen.append((path.rsplit("/", 1)[1], progress(html)))
        path = page_path(client.post(path, data=answers.get(path.rsplit("/", 1)[1], {})))
    assert [key for key, _ in seen] == PAGES
    # The contact follow-ups count from the first page, before the screener is answered.
    total = len(PAGES)
    assert [text for _, text in seen] == [f"Page {n} of {total}" for n in range(1, total + 1)]


def test_the_page_count_falls_when_an_answer_skips_pages(started):
    client = started
    assert progress(client.get("/survey/q/safety").get_data(as_text=True)) == f"Page 1 of {len(PAGES)}"
    client.post("/survey/q/contact-any", data={"contact_any": ["9"]})
    skipped = sum(key.startswith("contact-") or key == "contact" for key in PAGES) - 1  # contact-any stays
    assert progress(client.get("/survey/q/voice").get_data(as_text=True)).endswith(f"of {len(PAGES) - skipped}")
    assert progress(client.get("/survey/q/safety").get_data(as_text=True)) == f"Page 1 of {len(PAGES) - skipped}"


def test_the_contact_screener_is_its_own_page_with_the_question_as_h1(started):
    html = started.get("/survey/q/contact-any").get_data(as_text=True)
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert "in-person contact with an officer from Testville Police Department" in h1
    assert re.search(r"<legend[^>]*><h1>", html)
    assert "<title>" + h1[:30] in html.replace("\n", "")


def test_no_contact_skips_the_contact_questions_and_drops_stale_answers(started, app):
    client = started
    assert page_path(client.post("/survey/q/contact-any", data={"contact_any": ["1"]})) == "/survey/q/contact"
    client.post("/survey/q/contact", data={"contact_respect": "1", "contact_proper": "2"})
    # The resident goes back and says there was no contact after all.
    assert page_path(client.post("/survey/q/contact-any", data={"contact_any": ["9"]})) == "/survey/q/voice"
    # The hidden page redirects onward if reached directly.
    assert page_path(client.get("/survey/q/contact")) == "/survey/q/voice"
    assert page_path(client.post(f"/survey/q/{LAST}", data={})) == "/survey/done"
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        keys = {a.item_key: a.code for a in stored.answers}
    assert keys == {"contact_any": 9}


def test_back_link_and_revisiting_keep_answers(started):
    client = started
    client.post("/survey/q/safety", data={"safety_feel": "7", "safety_community": "2"})
    html = client.get("/survey/q/trust").get_data(as_text=True)
    assert 'href="/survey/q/safety"' in html  # the Back link
    back = client.get("/survey/q/safety").get_data(as_text=True)
    assert checked(back, "safety_feel") == ["7"]
    assert checked(back, "safety_community") == ["2"]
    first = client.get("/survey/q/safety").get_data(as_text=True)
    assert 'class="back" href="/survey/"' in first


def test_changing_language_midway_keeps_every_answer(started, app):
    client = started
    client.post("/survey/q/safety", data={"safety_feel": "3"})
    client.post("/survey/q/contact-any", data={"contact_any": ["2", "3"]})
    for lang, question in (("es", "seguro"), ("ar", "")):
        response = client.post("/language", data={"lang": lang, "next": "/survey/q/safety"})
        assert page_path(response) == "/survey/q/safety"
        html = client.get("/survey/q/safety").get_data(as_text=True)
        assert f'lang="{lang}"' in html
        assert question in html
        assert checked(html, "safety_feel") == ["3"]
        assert checked(client.get("/survey/q/contact-any").get_data(as_text=True), "contact_any") == ["2", "3"]
    page_path(client.post(f"/survey/q/{LAST}", data={"education": "1"}))
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.language == "ar"
        assert {(a.item_key, a.code) for a in stored.answers} >= {("safety_feel", 3), ("contact_any", 2), ("contact_any", 3)}


def test_questionnaire_falls_back_to_english_when_the_wave_lacks_the_language(client, make_wave, make_invitation):
    wave = make_wave(languages=("en",))
    enter(client, make_invitation(wave))
    client.post("/language", data={"lang": "es", "next": "/survey/q/safety"})
    html = client.get("/survey/q/safety").get_data(as_text=True)
    assert 'lang="es"' in html  # the interface
    assert '<form method="post" action="/survey/q/safety" novalidate lang="en" dir="ltr">' in html
    assert "how safe do you feel in your neighborhood" in html


def test_prefer_not_to_say_is_on_every_closed_question_and_nothing_is_required(started, app, wave):
    client = started
    with app.app_context():
        inst = instrument_for_wave(db.session.get(Wave, wave.id))
    path = "/survey/q/safety"
    closed_seen = set()
    while path != "/survey/done":
        html = client.get(path).get_data(as_text=True)
        names = set(re.findall(r'type="(?:radio|checkbox)"[^>]*name="([a-z_]+)"', html))
        data = {}
        for name in names:
            assert re.search(rf'name="{name}" value="{PREFER_NOT_TO_SAY}"', html), name
            data[name] = str(PREFER_NOT_TO_SAY)
            closed_seen.add(name)
        if path.endswith("contact-any"):
            data = {"contact_any": "1"}  # to reach the follow-ups too
        response = client.post(path, data=data)
        assert response.status_code == 303, errors_of(response.get_data(as_text=True))
        path = page_path(response)
    assert closed_seen == {key for key, item in inst.items.items() if item.closed}
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        codes = {a.item_key: a.code for a in stored.answers}
    assert codes.pop("contact_any") == 1
    assert set(codes.values()) == {PREFER_NOT_TO_SAY}


def test_an_empty_page_is_fine_and_stores_nothing(started, app):
    for page in ["safety", "trust"]:
        assert started.post(f"/survey/q/{page}", data={}).status_code == 303
    with app.app_context():
        draft = open_draft(started)
        assert {k for k in draft.answers if not k.startswith("_")} == set()


@pytest.mark.parametrize("combo", [["9", "1"], ["1", "9"], ["-9", "2"], ["9", "-9"]])
def test_an_exclusive_option_cannot_be_combined(started, combo):
    response = started.post("/survey/q/contact-any", data={"contact_any": combo})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    errors = errors_of(html)
    assert len(errors) == 1 and "cannot be chosen together with other answers" in errors[0]
    assert sorted(checked(html, "contact_any")) == sorted(combo)
    assert 'href="#contact_any-0"' in html  # the error summary links to the question
    assert "<title>Error:" in html


def test_pages_that_do_not_exist_are_not_found(started):
    assert started.get("/survey/q/nope").status_code == 404


def test_without_a_draft_the_pages_send_the_resident_to_the_start(client, code):
    response = client.get("/survey/q/trust")
    assert page_path(response) == "/survey/"
    assert "could not find a survey in progress" in client.get("/survey/").get_data(as_text=True)


def test_the_start_page_offers_to_continue(started):
    started.post("/survey/q/safety", data={"safety_feel": "1"})
    html = started.get("/survey/").get_data(as_text=True)
    assert 'href="/survey/q/trust"' in html and "Continue the survey" in html


def test_the_draft_survives_a_new_browser_session_on_the_same_phone(started, app):
    started.post("/survey/q/safety", data={"safety_feel": "1"})
    # The session cookie is gone (the browser was closed); the persistent draft cookie is not.
    started.delete_cookie("s")
    html = started.get("/survey/q/safety").get_data(as_text=True)
    assert checked(html, "safety_feel") == ["1"]


def page_without_token(client) -> str:
    """The safety page with its CSRF tokens blanked (a token carries the second it was signed)."""
    html = client.get("/survey/q/safety").get_data(as_text=True)
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)


def test_kept_radio_groups_render_exactly_as_fresh_ones(started, app):
    """Radio groups are rendered once per answer and reused (FieldHtml): the page must not change."""
    from survey.respond.forms import FieldHtml

    client = started
    for lang in ("en", "ar"):
        client.post("/language", data={"lang": lang, "next": "/survey/q/safety"})
        for value in ("7", "0", "10", str(PREFER_NOT_TO_SAY), ""):
            client.post("/survey/q/safety", data={"safety_feel": value, "safety_community": "3"})
            kept = page_without_token(client)
            kept_again = page_without_token(client)
            FieldHtml._kept.clear()
            fresh = page_without_token(client)
            assert kept == kept_again == fresh
            assert checked(fresh, "safety_feel") == ([value] if value else [])
            assert checked(fresh, "safety_community") == ["3"]
    # Once every group of a page is kept, a GET builds no WTForms form at all (KeptPage).
    import survey.respond.routes as routes

    def no_form(*args, **kwargs):
        raise AssertionError("a form was built for a page whose groups are all kept")

    client.post("/survey/q/safety", data={"safety_feel": "7", "safety_community": ""})
    before = page_without_token(client)
    original, routes.page_form = routes.page_form, no_form
    try:
        assert page_without_token(client) == before
    finally:
        routes.page_form = original
    # A group with an error is never kept: its message shows, and the next clean page has none.
    bad = client.post("/survey/q/safety", data={"safety_feel": "99", "safety_community": "3"}).get_data(as_text=True)
    assert errors_of(bad) and checked(bad, "safety_community") == ["3"]
    assert not errors_of(client.get("/survey/q/safety").get_data(as_text=True))
