"""Factories for the staff console's tests: responses with answers, invitations with known codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from survey.db import db
from survey.models import Answer, Channel, Response, Wave
from survey.models import today as app_today


@pytest.fixture
def add_response(app) -> Callable[..., str]:
    """``add_response(wave, {"trust_agency": 7, "contact_any": [1, 3], "top_issue": "x"})``."""

    def factory(wave: Wave, answers: dict[str, Any], stratum: str | None = "North", probability: float | None = 0.01,
                language: str = "en", channel: Channel = Channel.WEB, submitted_on: dt.date | None = None) -> str:
        with app.app_context():
            response = Response(wave_id=wave.id, stratum=stratum, language=language, channel=channel,
                                selection_probability=probability, submitted_on=submitted_on or app_today())
            for key, value in answers.items():
                if isinstance(value, list):
                    for n, code in enumerate(value):
                        response.answers.append(Answer(item_key=key, ordinal=n, code=code))
                elif isinstance(value, str):
                    response.answers.append(Answer(item_key=key, ordinal=0, text=value))
                else:
                    response.answers.append(Answer(item_key=key, ordinal=0, code=value))
            db.session.add(response)
            db.session.commit()
            return response.id

    return factory
