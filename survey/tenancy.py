"""Which agency a request is for, when one deployment hosts a campaign of agencies.

``SURVEY_AGENCY_ADDRESSES`` chooses how an address names its agency:

- ``single`` (the default): one agency at today's addresses (``/survey/``, ``/staff/``...);
  ``SURVEY_AGENCY`` names it when the database holds several.
- ``path``: ``/a/<slug>/survey/``, ``/a/<slug>/staff/``... The prefix is moved from the path to
  the script name before Flask sees the request, so every route, ``url_for`` and redirect works
  unchanged under it, and the session cookie is kept to that path: a browser never sends one
  agency's cookie to another.
- ``host``: each agency on its own host name (``Agency.host``); the campaign's own pages on
  ``SURVEY_CAMPAIGN_HOST``. Cookies are per host by nature.

The campaign's own pages (``/campaign/``) belong to no agency. In ``path`` and ``host`` mode a
request for an agency page that names no agency, or an unknown one, is answered 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app, redirect, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import NotFound

#: The environ key the path middleware fills with the agency's slug.
SLUG_KEY = "survey.agency"
#: A slug as an address carries it: lower-case letters, digits and dashes.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_PREFIX = re.compile(r"^/a/(" + SLUG.pattern + r")(/.*)?$")

#: Blueprints (and endpoints) that answer without an agency: the campaign's pages and the files.
CAMPAIGN_BLUEPRINTS = frozenset({"campaign"})
CAMPAIGN_ENDPOINTS = frozenset({"static", "public.healthz"})


class AgencyPrefix:
    """WSGI middleware for ``path`` mode: ``/a/<slug>/rest`` is served as ``rest`` under script
    name ``/a/<slug>``; ``/a/<slug>`` alone is sent on to ``/a/<slug>/``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = _PREFIX.match(environ.get("PATH_INFO", ""))
        if found:
            slug, rest = found.group(1), found.group(2)
            prefix = environ.get("SCRIPT_NAME", "").rstrip("/") + "/a/" + slug
            if rest is None:
                start_response("308 Permanent Redirect", [("Location", prefix + "/"), ("Content-Length", "0")])
                return [b""]
            environ["SCRIPT_NAME"] = prefix
            environ["PATH_INFO"] = rest
            environ[SLUG_KEY] = slug
        return self.app(environ, start_response)


def mode() -> str:
    return current_app.config["AGENCY_ADDRESSES"]


def agency_key() -> tuple[str, str] | None:
    """What names this request's agency: ("slug", s), ("host", h), ("single", slug or "");
    None for an address that names no agency (the campaign's pages in path or host mode)."""
    how = mode()
    if how == "single":
        return ("single", current_app.config.get("AGENCY") or "")
    if how == "path":
        slug = request.environ.get(SLUG_KEY)
        return ("slug", slug) if slug else None
    host = request.host.split(":", 1)[0].lower()
    if host == current_app.config["CAMPAIGN_HOST"]:
        return None
    return ("host", host)


def on_campaign_pages() -> bool:
    """This request is for the campaign's own pages, which belong to no agency."""
    return request.blueprint in CAMPAIGN_BLUEPRINTS or agency_key() is None


def agency_address(slug: str, host: str | None) -> str:
    """The public base address of an agency's pages, for links from the campaign's pages."""
    how = mode()
    if how == "path":
        return f"{request.script_root}/a/{slug}/"
    if how == "host" and host:
        return f"{request.scheme}://{host}/"
    return "/"


class _AgencySessionInterface(SecureCookieSessionInterface):
    """The session cookie is kept to the agency's prefix in path mode (and the campaign's pages
    to ``/campaign``), so one agency's session, staff or resident, never reaches another."""

    def get_cookie_path(self, app: Flask) -> str:
        if app.config["AGENCY_ADDRESSES"] == "path" and request:
            if request.environ.get(SLUG_KEY):
                return request.script_root + "/"
            return request.script_root + "/campaign"
        return super().get_cookie_path(app)


def _only_campaign_pages_without_agency() -> Any:
    if mode() == "single" or request.endpoint is None:
        return None
    if agency_key() is not None:
        return None
    if request.blueprint in CAMPAIGN_BLUEPRINTS or request.endpoint in CAMPAIGN_ENDPOINTS:
        return None
    if request.path == "/" and "campaign.home" in current_app.view_functions:
        return redirect(f"{request.script_root}/campaign/")
    raise NotFound()


def init_app(app: Flask) -> None:
    if app.config["AGENCY_ADDRESSES"] == "path":
        app.wsgi_app = AgencyPrefix(app.wsgi_app)  # type: ignore[method-assign]
    app.session_interface = _AgencySessionInterface()
    app.before_request(_only_campaign_pages_without_agency)
