"""What every page needs: the current agency, the language and direction, and the switcher."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import Any

from flask import Flask, current_app, g, request
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import NotFound

from . import tenancy
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
    host: str | None = None
    languages: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    listed: bool = False
    peer_group: str | None = None

    @classmethod
    def of(cls, agency: Agency) -> AgencyInfo:
        values = {field.name: getattr(agency, field.name) for field in fields(cls)}
        return cls(**values | {"texts": agency.texts or {}, "languages": tuple(agency.languages or ()),
                               "districts": tuple(agency.districts or ())})

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
#: Agencies whose settings a worker keeps at once (a campaign may host a thousand).
AGENCY_CACHE_SIZE = 2000


def current_agency() -> AgencyInfo:
    """The agency of this request: named by its address (survey/tenancy.py), else the only one.

    An address that names no agency, or an unknown one, is answered 404 (NotFound).
    """
    if "agency" not in g:
        agency = _agency_settings()
        # The language is chosen here if nothing asked for it yet (a view may need the agency first).
        g.agency = agency.in_language(locale_code() if request else current_code())
    return g.agency


def find_agency(how: str, name: str) -> Agency | None:
    """The agency an address names (see :func:`survey.tenancy.agency_key`): ("host", h) by its
    host name, ("slug", s) or ("single", s) by its slug, and ("single", "") the first agency,
    the one single addresses serve when SURVEY_AGENCY names none."""
    query = select(Agency).order_by(Agency.id).limit(1)
    if how == "host":
        query = select(Agency).where(Agency.host == name)
    elif name:
        query = select(Agency).where(Agency.slug == name)
    return db.session.scalars(query).first()


def _agency_settings() -> AgencyInfo:
    """The request's agency's settings as stored (in no language), from this worker's cache."""
    key = tenancy.agency_key() if request else ("single", current_app.config.get("AGENCY") or "")
    if key is None:
        raise NotFound()
    cache = current_app.extensions.setdefault("survey.agency", {})
    found = cache.get(key)
    if found is None or found[0] < time.monotonic():
        how, name = key
        agency = find_agency(how, name)
        if agency is None:
            if how != "single":
                raise NotFound()
            raise NoAgency("No agency is set up yet: run `flask --app wsgi demo` or `flask --app wsgi agency set --slug ... --name ... --city ...`.")
        found = (time.monotonic() + AGENCY_CACHE_SECONDS, AgencyInfo.of(agency))
        if len(cache) > AGENCY_CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found[1]


@contextmanager
def as_agency(agency: Agency) -> Iterator[AgencyInfo]:
    """Within this block ``current_agency()`` is ``agency``: for the campaign's pages, which read
    each listed agency's published results (questionnaire texts fill in its name and city)."""
    before = g.pop("agency", None)
    g.agency = AgencyInfo.of(agency).in_language(locale_code())
    try:
        yield g.agency
    finally:
        g.pop("agency", None)
        if before is not None:
            g.agency = before


def agency_languages() -> list[str]:
    """The languages this request's agency offers, in the deployment's order (all when it chose none)."""
    codes = current_app.config["LANGUAGES"]
    if not request or tenancy.agency_key() is None:
        return codes
    try:
        chosen = _agency_settings().languages
    except (NoAgency, NotFound):
        return codes
    except SQLAlchemyError:
        # The database is down: the error page still needs a language (the agency's are unknown).
        db.discard()
        return codes
    return [code for code in codes if code in chosen] if chosen else codes


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
    except (NoAgency, NotFound):
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
    app.extensions["survey.agency_languages"] = agency_languages
