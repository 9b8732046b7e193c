"""Complaints in a real browser at a 360x640 phone: filing with only a category or only a
sentence in English, Spanish and Arabic with zero axe violations on every page, then the
receipt code shows status and a staff message, and the resident's reply reaches the investigator.

Selectors use ids, names and addresses only, so the tests pass before new strings are translated.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import assert_accessible, set_language

SUBMIT = "main form[method=post] button[type=submit] >> nth=0"


def _file(page, lang: str, *, category: bool, check_everything: bool) -> str:
    page.goto("/complaints/")
    set_language(page, lang)
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == lang
    if check_everything:
        assert_accessible(page, f"policy ({lang})")
    page.locator('main a[href="/complaints/new"]').click()
    page.wait_for_load_state()
    assert_accessible(page, f"form ({lang})")
    if check_everything:
        page.locator(SUBMIT).click()
        page.wait_for_load_state()
        assert page.locator(".error-summary").count() == 1
        assert_accessible(page, f"form with errors ({lang})")
    if category:
        page.locator("#categories-0").check()
    else:
        page.locator("#narrative").fill("Una frase." if lang == "es" else "حدث شيء." if lang == "ar" else "He shouted at me.")
    page.locator(SUBMIT).click()
    page.wait_for_url("**/complaints/receipt")
    code = page.locator(".receipt .code").inner_text().strip()
    assert len(code.replace("-", "")) == 19
    assert code not in page.url
    assert_accessible(page, f"receipt ({lang})")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    return code


def _follow(page, code: str, lang: str, check: bool = True) -> None:
    page.goto("/complaints/follow-up")
    if check:
        assert_accessible(page, f"follow-up ({lang})")
    page.locator("#code").fill(code.lower())
    page.locator(SUBMIT).click()
    page.wait_for_url("**/complaints/status")
    assert code not in page.url


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_complaint_with_only_a_category(page, lang):
    code = _file(page, lang, category=True, check_everything=True)
    _follow(page, code, lang)
    assert_accessible(page, f"status ({lang})")
    page.goto("/complaints/data")
    assert_accessible(page, f"public data ({lang})")


@pytest.mark.parametrize("lang", ["en", "es", "ar"])
def test_complaint_with_only_a_sentence(page, lang):
    code = _file(page, lang, category=False, check_everything=False)
    _follow(page, code, lang, check=lang == "ar")
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")


@pytest.fixture
def investigator(live_app):
    import uuid

    from survey.auth import hash_password
    from survey.db import db
    from survey.models import Agency, StaffUser

    password = "investigator-password-2026"
    email = f"inv-{uuid.uuid4().hex[:6]}@example.org"
    with live_app.app_context():
        agency = db.session.query(Agency).first()
        db.session.add(StaffUser(agency_id=agency.id, email=email, name="Ines Investigator",
                                 password_hash=hash_password(password), roles=["investigator"]))
        db.session.commit()
    return email, password


def _complaint_id(live_app, code: str) -> str:
    """Which complaint the code opens (other tests share the live database)."""
    from survey.complaints.service import find_by_receipt
    from survey.context import current_agency
    from survey.db import db

    with live_app.app_context():
        return find_by_receipt(db.session, code, current_agency().id).id


def test_receipt_code_shows_status_and_staff_message_and_reply_reaches_investigator(page, browser, base_url, live_app, investigator):
    code = _file(page, "en", category=True, check_everything=False)

    desk = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    staff = desk.new_page()
    staff.goto("/staff/sign-in")
    staff.locator("#email").fill(investigator[0])
    staff.locator("#password").fill(investigator[1])
    staff.locator(SUBMIT).click()
    staff.goto("/staff/complaints/")
    assert_accessible(staff, "staff queue")
    complaint_url = f"/staff/complaints/{_complaint_id(live_app, code)}"
    staff.goto(complaint_url)
    assert_accessible(staff, "staff complaint page")
    staff.locator("#status-status-1").check()  # acknowledged
    staff.locator('form[action$="/status"] button[type=submit]').click()
    staff.wait_for_load_state()
    staff.locator("#message-body").fill("Thank you. Where did this happen?")
    staff.locator('form[action$="/message"] button[type=submit]').click()
    staff.wait_for_load_state()

    _follow(page, code, "en", check=False)
    assert page.locator(".summary dd").first.inner_text() == "Acknowledged"
    assert "Where did this happen?" in page.locator(".message-staff .message-body").inner_text()
    page.locator("#body").fill("On Elm Street, near the school.")
    page.locator('main form[method=post]:not([action]) button[type=submit]').click()
    page.wait_for_url("**/complaints/status")
    assert "Elm Street" in page.locator(".message-resident .message-body").inner_text()

    staff.goto(complaint_url)
    assert "On Elm Street, near the school." in staff.locator(".message-resident .message-body").inner_text()
    desk.close()
