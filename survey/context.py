"""What every page needs: the current agency, the language and direction, and the switcher."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .i18n import KNOWN, current_code, direction, html_lang, language_name, offered
from .models import Agency


class NoAgency(RuntimeError):
    """The database has no agency yet: run `flask --app wsgi demo` or `flask --app wsgi agency set`."""


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    """A read-only copy of the agency's settings, safe to share between requests and threads."""

    id: int
    slug: str
    name: str
    city: str
    default_language: str
    phone: str | None
    address: str | None
    acknowledge_days: int
    close_days: int
    texts: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, agency: Agency) -> AgencyInfo:
        return cls(**{field.name: getattr(agency, field.name) for field in fields(cls)} | {"texts": agency.texts or {}})

    def in_language(self, code: str | None) -> AgencyInfo:
        """The agency as shown in language ``code``: its translated name, city and address."""
        given = {key: value for key, value in (self.texts.get(code or "") or {}).items()
                 if key in TRANSLATABLE and value}
        return replace(self, **given) if given else self


#: The agency texts a language may have its own version of (``flask agency set --lang``).
TRANSLATABLE = ("name", "city", "address")

#: How long a worker reuses the agency's settings before reading them again. Every page needs
#: them and they change perhaps once a year; a change shows on every server within this time.
AGENCY_CACHE_SECONDS = 30.0


def current_agency() -> AgencyInfo:
    """The agency this deployment serves (SURVEY_AGENCY names it when there are several)."""
    if "agency" not in g:
        cache = current_app.extensions.setdefault("survey.agency", {})
        found = cache.get("info")
        if found is None or found[0] < time.monotonic():
            slug = current_app.config.get("AGENCY")
            query = select(Agency).order_by(Agency.id).limit(1)
            if slug:
                query = select(Agency).where(Agency.slug == slug)
            agency = db.session.scalars(query).first()
            if agency is None:
                raise NoAgency("No agency is set up yet: run `flask --app wsgi demo` or `flask --app wsgi agency set --slug ... --name ... --city ...`.")
            found = (time.monotonic() + AGENCY_CACHE_SECONDS, AgencyInfo.of(agency))
            cache["info"] = found
        # The language is chosen here if nothing asked for it yet (a view may need the agency first).
        g.agency = found[1].in_language(locale_code() if request else current_code())
    return g.agency


def fill(text: str) -> str:
    """Fill the instrument placeholders {agency} and {city} from the agency's settings."""
    agency = current_agency()
    return text.replace("{agency}", agency.name).replace("{city}", agency.city)


def locale_code() -> str:
    locale = get_locale()
    chosen = current_code()
    if chosen is not None:
        return chosen
    if locale is None:
        return current_app.config["DEFAULT_LANGUAGE"]
    tag = str(locale)
    return tag if tag in KNOWN else tag.split("_")[0]


def _template_context() -> dict[str, Any]:
    code = locale_code()
    try:
        agency = current_agency()
    except NoAgency:
        agency = None
    except SQLAlchemyError:
        # Error pages must render even when the database is down (or went away mid-request);
        # any other page needs the agency, so the error goes on to the "try again" handler.
        db.discard()
        if not g.get("rendering_error"):
            raise
        agency = None
    return {
        "lang": code,
        "lang_tag": html_lang(code),
        "text_dir": direction(code),
        "languages": offered(),
        "agency": agency,
        "current_path": request.full_path.rstrip("?") if request else "/",
        "language_name": lambda other: language_name(other, code),
    }


def init_app(app: Flask) -> None:
    app.context_processor(_template_context)
