"""Every page a resident or the public sees, rendered in one language: the tour the language,
direction and date tests walk. The demo agency (published waves, complaint statistics, an open
wave with access codes) is loaded once per session by the ``tours`` fixtures that use this."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from survey import migrate
from survey.db import db
from survey.i18n import KNOWN
from survey.models import Invitation, Wave
from survey.security import generate_code, keyed_hash, normalize_code
from tests.conftest import make_test_app
from tests.pagetext import receipt_code

#: Responses per published demo wave: enough for every published number, small enough to load fast.
PER_WAVE = 400


def demo_app(folder: Path) -> Flask:
    """An app in every known language on a fresh demo database under ``folder``."""
    path = folder / "demo.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    app = make_test_app(f"sqlite:///{path}", folder, LANGUAGES=list(KNOWN), SMALL_COUNT_THRESHOLD=10,
                        RESULTS_MIN_N=50)
    with app.app_context():
        from survey.demo import load_demo

        load_demo(per_wave=PER_WAVE, echo=lambda _line: None)
        db.session.commit()
    return app


def new_access_code(app: Flask) -> str:
    """A fresh access code for the demo's open wave."""
    code = generate_code(72)
    with app.app_context():
        wave = db.session.scalars(select(Wave).where(Wave.published.is_(False))).first()
        db.session.add(Invitation(wave_id=wave.id, code_hash=keyed_hash("invitation", normalize_code(code)),
                                  stratum="North", selection_probability=0.01))
        db.session.commit()
    return code


def tour(app: Flask, lang: str, *, survey_pages: int = 99) -> dict[str, str]:
    """The HTML of each resident and public page, by name, in ``lang``: home, privacy, survey start
    (also with a wrong code), every survey page in order with no answer given, the complaint
    policy, form, receipt, follow-up and status pages, the public results and complaint data."""
    client = app.test_client()
    # Each language's visitor comes from its own address, so one wrong code each stays far
    # below the access-code limit.
    client.environ_base["REMOTE_ADDR"] = f"127.0.1.{list(KNOWN).index(lang) + 1}"
    pages: dict[str, str] = {}

    def get(name: str, url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, f"{name} in {lang}: {response.status_code}"
        pages[name] = response.get_data(as_text=True)
        return pages[name]

    assert client.post("/language", data={"lang": lang, "next": "/"}).status_code == 303
    get("home", "/")
    get("privacy", "/privacy")
    get("survey-start", "/survey/")
    pages["survey-wrong-code"] = client.post("/survey/", data={"code": "ABCD-EFGH-JKMN"}).get_data(as_text=True)
    response = client.post("/survey/", data={"code": new_access_code(app)})
    assert response.status_code == 303, f"the access code was refused in {lang}"
    url = response.headers["Location"]
    for number in range(1, survey_pages + 1):
        get(f"survey-page-{number}", url)
        response = client.post(url, data={})
        assert response.status_code == 303, f"survey page {number} in {lang} did not move on"
        url = response.headers["Location"]
        if "/survey/q/" not in url:
            break
    get("survey-done", "/survey/done")
    get("survey-code-used", "/survey/code-used")
    get("complaint-policy", "/complaints/")
    get("complaint-form", "/complaints/new")
    response = client.post("/complaints/new", data={
        "categories": ["conduct"], "narrative": "He shouted at me on Main Street.", "contact_method": "none"})
    assert response.status_code == 303, f"the complaint was refused in {lang}: {response.get_data(as_text=True)[:300]}"
    code = receipt_code(get("complaint-receipt", "/complaints/receipt"))
    get("complaint-follow-up", "/complaints/follow-up")
    assert client.post("/complaints/follow-up", data={"code": code}).status_code == 303
    get("complaint-status", "/complaints/status")
    get("results", "/results/")
    get("complaint-data", "/complaints/data")

    return pages


def text_runs(html: str) -> list[str]:
    """The page's visible text split at tags, whitespace collapsed (attribute text not included)."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    import html as html_lib

    return [run for run in (" ".join(html_lib.unescape(part).split()) for part in re.split(r"<[^>]+>", body)) if run]


