"""The staff console at a desk (1280x800) on the demo agency: no element overflows its container
on any staff page, the complaint reply and internal note are told apart, letters survive a reload.

Set CONSOLE_SCREENSHOTS=/some/folder to keep a screenshot of every page (for looking at them).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from survey import create_app, migrate
from survey.db import db
from survey.demo import DEMO_PASSWORD

DESK = {"width": 1280, "height": 800}
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")

#: A script that lists every element sticking out of its parent, and every scroll box that scrolls sideways.
OVERFLOW_JS = """() => {
  const bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth + 1) bad.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.position === 'absolute' || style.position === 'fixed') continue;
    if (el.closest('.visually-hidden, svg, details:not([open]) > :not(summary)')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (['auto', 'scroll', 'hidden'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      bad.push(`${name(el)} scrolls: ${el.scrollWidth} > ${el.clientWidth}`);
    const parent = el.parentElement;
    if (!parent || parent === document.documentElement) continue;
    const p = parent.getBoundingClientRect();
    if (r.right > p.right + 1 || r.left < p.left - 1)
      bad.push(`${name(el)} [${Math.round(r.left)}, ${Math.round(r.right)}] outside ${name(parent)} [${Math.round(p.left)}, ${Math.round(p.right)}]`);
  }
  return bad.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def console_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The demo agency (small waves), with its own results cache."""
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'console.sqlite3'}"
    migrate.upgrade(url)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "CODE_HASH_KEY": secrets.token_urlsafe(32), "COMPLAINT_KEY_FILE": str(folder / "complaint_keys"),
                      "RESULTS_CACHE_DIR": str(folder / "cache"), "LETTERS_DIR": str(folder / "letters"),
                      "LANGUAGES": ["en", "es", "ar"]})
    with app.app_context():
        from survey.auth import hash_password
        from survey.demo import load_demo
        from survey.models import Agency, Role, StaffUser

        load_demo(per_wave=600, open_responses=300, echo=lambda _line: None)
        # One desk clerk with every role, so that one session can visit every staff page.
        agency = db.session.scalars(select(Agency)).one()
        db.session.add(StaffUser(agency_id=agency.id, email="desk@riverton.example", name="Dee Desk",
                                 password_hash=hash_password(DEMO_PASSWORD), roles=[str(r) for r in Role]))
        db.session.commit()
    return app


@pytest.fixture(scope="module")
def console_url(console_app: Flask) -> Iterator[str]:
    from tests.browser.conftest import serving

    with serving(console_app) as url:
        yield url


def _desk(browser, console_url: str, email: str):
    context = browser.new_context(viewport=DESK, screen=DESK, base_url=console_url)
    page = context.new_page()
    page.goto("/staff/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state("load")
    assert "/staff/sign-in" not in page.url, page.url
    return context, page


@pytest.fixture
def admin_page(browser, console_url):
    context, page = _desk(browser, console_url, "desk@riverton.example")
    yield page
    context.close()


def _staff_paths(app: Flask) -> list[str]:
    from survey.models import Complaint, StaffUser, Wave

    with app.app_context():
        waves = list(db.session.scalars(select(Wave).order_by(Wave.opens_on)))
        complaint = db.session.scalars(select(Complaint).order_by(Complaint.received_on)).first()
        user = db.session.scalars(select(StaffUser).order_by(StaffUser.id)).first()
        slugs = [w.slug for w in waves]
        open_slug, closed_slug = slugs[-1], slugs[0]
        compare = "/staff/compare/?" + "&".join(f"waves={s}" for s in slugs)
        paths = ["/staff/", "/staff/account", "/staff/account/second-factor", "/staff/users", "/staff/users/new",
                 f"/staff/users/{user.id}", "/staff/export", "/staff/instruments", "/staff/waves", "/staff/waves/new",
                 f"/staff/waves/{open_slug}", f"/staff/waves/{closed_slug}", f"/staff/waves/{open_slug}/edit",
                 f"/staff/waves/{open_slug}/invitations", f"/staff/waves/{open_slug}/undeliverable", "/staff/rates",
                 f"/staff/waves/{closed_slug}/rates", "/staff/targets", "/staff/complaints/", "/staff/complaints/new",
                 f"/staff/complaints/{complaint.id}", "/staff/survey-entry/", f"/staff/survey-entry/{open_slug}",
                 "/staff/compare/"]
        paths += [f"{compare}&section={s}" for s in ("findings", "indexes", "questions", "groups", "question-groups",
                                                       "agencies", "rates", "method")]
    return paths


def test_no_staff_page_overflows_at_a_desk(admin_page, console_app, tmp_path):
    page = admin_page
    problems = {}
    for n, path in enumerate(_staff_paths(console_app)):
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("load")
        bad = page.evaluate(OVERFLOW_JS)
        if bad:
            problems[path] = bad
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].lower()).strip("-") or "root"
            section = re.search(r"section=([a-z-]+)", path)
            page.screenshot(path=str(Path(SHOTS) / f"{n:02d}-{name}{'-' + section.group(1) if section else ''}.png"),
                            full_page=False)
    assert not problems, problems


def test_the_header_fits_on_one_line_with_sign_out(admin_page):
    page = admin_page
    page.goto("/staff/")
    brand = page.locator("header.site .brand").bounding_box()
    sign_out = page.locator("header.site button", has_text="Sign out").bounding_box()
    assert abs((sign_out["y"] + sign_out["height"] / 2) - (brand["y"] + brand["height"] / 2)) < 8, (brand, sign_out)
    menu = page.locator("header.site .staff-nav li")
    assert len({round(menu.nth(i).bounding_box()["y"]) for i in range(menu.count())}) == 1  # one line
    assert page.locator("footer").get_by_text("Staff sign-in").count() == 0
    assert page.locator("footer button", has_text="Sign out").count() == 1


def test_the_compare_page_opens_on_its_findings(admin_page, console_app):
    page = admin_page
    compare = next(p for p in _staff_paths(console_app) if p.endswith("section=findings"))
    page.goto(compare)
    first_heading = page.locator("main h2").first.inner_text()
    assert first_heading.startswith("Main findings")
    # The findings are on the first screen, above the fold.
    assert page.locator(".findings li").first.bounding_box()["y"] < DESK["height"]
    assert page.locator(".tag-provisional").count() >= 1
    page.get_by_role("link", name="Questions", exact=True).click()
    assert "section=questions" in page.url
    table = page.locator("table.compare").first
    assert table.bounding_box()["width"] <= page.locator("main").bounding_box()["width"] + 1


def test_a_complaint_tells_the_reply_from_the_internal_note(admin_page, console_app):
    page = admin_page
    path = next(p for p in _staff_paths(console_app) if p.startswith("/staff/complaints/") and p.count("/") == 3
                and not p.endswith(("/", "/new")))
    page.goto(path)
    note = page.locator("section.note-box")
    reply = page.locator("section.reply-box")
    assert "Internal note (staff only)" in note.locator("h2").inner_text()
    assert "The resident will see this." in reply.inner_text()
    assert note.get_by_role("button").inner_text() == "Save the internal note"
    assert reply.get_by_role("button").inner_text() == "Send to the resident"
    # Different places: side by side at a desk, the note first (in reading order).
    n, r = note.bounding_box(), reply.bounding_box()
    assert n["x"] + n["width"] <= r["x"] and abs(n["y"] - r["y"]) < 2
    # The labels are the fields' own.
    assert page.get_by_label("Internal note", exact=True).count() == 1
    assert page.get_by_label("Message to the resident", exact=True).count() == 1
    page.get_by_label("Internal note", exact=True).fill("Checked the camera list.")
    note.get_by_role("button").click()
    assert "Internal note saved. Only staff can see it." in page.locator(".notice").inner_text()
    assert "Language English" in page.locator("dl.summary").inner_text().replace("\n", " ")


def test_letters_survive_a_reload_and_the_back_button(admin_page, console_app):
    from survey.models import Invitation, Wave

    def invitations() -> int:
        with console_app.app_context():
            wave = db.session.scalars(select(Wave).order_by(Wave.opens_on.desc())).first()
            return db.session.query(Invitation).filter_by(wave_id=wave.id).count()

    page = admin_page
    path = next(p for p in _staff_paths(console_app) if p.endswith("/invitations"))
    before = invitations()
    page.goto(path)
    page.locator("input[name=count_0]").fill("3")
    page.get_by_role("button", name="Make the codes and show the letters").click()
    page.wait_for_load_state("load")
    assert "/letters/" in page.url
    codes = page.locator("article.letter p.code").all_inner_texts()
    assert len(codes) == 3 and invitations() == before + 3
    assert "3 letters were made." in page.locator(".letters-count").inner_text()
    assert page.locator("article.letter", has_text="Please answer by").count() == 3
    assert page.locator("article.letter", has_text="555-0100").count() == 3
    page.reload()
    page.wait_for_load_state("load")
    assert page.locator("article.letter p.code").all_inner_texts() == codes  # the same batch, no new codes
    assert invitations() == before + 3
    page.go_back()
    page.wait_for_load_state("load")
    assert "/invitations" in page.url and invitations() == before + 3
    page.go_forward()
    page.wait_for_load_state("load")
    assert page.locator("article.letter").count() == 3 and invitations() == before + 3
    page.get_by_role("button", name="The letters are printed: forget the codes").click()
    page.wait_for_load_state("load")
    page.go_back()
    page.wait_for_load_state("load")
    assert page.locator("article.letter").count() == 0 and "no longer here" in page.locator("h1").inner_text()
    assert invitations() == before + 3
