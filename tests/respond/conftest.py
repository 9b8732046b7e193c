"""Fixtures for the resident survey: invitations with known codes and a walk through the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from survey.db import db
from survey.models import Invitation, SurveyDraft, Wave
from survey.respond.flow import CODE_BITS, DraftRow
from survey.security import generate_code, keyed_hash, normalize_code


def _pages() -> list[str]:
    from types import SimpleNamespace

    from survey.instruments import load_file
    from survey.models import WaveMode
    from survey.respond.flow import build_pages

    instrument = load_file(Path(__file__).resolve().parents[2] / "instruments" / "core-trust.v1.toml")
    return [page.key for page in build_pages(instrument, SimpleNamespace(mode=WaveMode.INVITATION, strata=[], area_source=None, areas=[]))]


#: Every page of the core instrument in order, for a resident who reports contact (long sections
#: take several pages: "about", "about-2", ...), and the last page, whose Continue submits.
PAGES = _pages()
LAST = PAGES[-1]


def page_of(item_key: str) -> str:
    """The key of the page that asks ``item_key``."""
    from types import SimpleNamespace

    from survey.instruments import load_file
    from survey.models import WaveMode
    from survey.respond.flow import build_pages

    instrument = load_file(Path(__file__).resolve().parents[2] / "instruments" / "core-trust.v1.toml")
    pages = build_pages(instrument, SimpleNamespace(mode=WaveMode.INVITATION, strata=[], area_source=None, areas=[]))
    return next(page.key for page in pages if any(item.key == item_key for item in page.items))


@pytest.fixture
def make_invitation(app: Flask) -> Callable[..., str]:
    """``make_invitation(wave, stratum="North")`` stores an invitation and returns its printed code."""

    def factory(wave: Wave, stratum: str = "North", probability: float | None = 0.02, **fields) -> str:
        code = generate_code(CODE_BITS)
        with app.app_context():
            db.session.add(
                Invitation(
                    wave_id=wave.id,
                    code_hash=keyed_hash("invitation", normalize_code(code)),
                    stratum=stratum,
                    selection_probability=probability,
                    **fields,
                )
            )
            db.session.commit()
        return code

    return factory


@pytest.fixture
def wave(make_wave) -> Wave:
    return make_wave(languages=("en", "es", "ar"))


@pytest.fixture
def code(wave, make_invitation) -> str:
    return make_invitation(wave)


def enter(client: FlaskClient, code: str, **kwargs):
    return client.post("/survey/", data={"code": code}, **kwargs)


def page_path(response) -> str:
    location = response.headers["Location"]
    return re.sub(r"^https?://[^/]+", "", location)


def errors_of(html: str) -> list[str]:
    return re.findall(r'class="error-message"[^>]*><span[^>]*>[^<]*</span>([^<]*)</p>', html)


def open_draft(client: FlaskClient) -> DraftRow:
    """The one stored draft, opened with the key this client's cookie holds (call in an app context)."""
    from sqlalchemy import select

    row = db.session.scalars(select(SurveyDraft)).one()
    draft = DraftRow.opened(client.get_cookie("survey_draft", path="/survey/").value, row.id, row.wave_id, row.sealed)
    assert draft is not None, "the cookie does not open the draft"
    return draft
