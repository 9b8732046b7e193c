"""Error pages in the visitor's language; no stack trace ever reaches a resident."""

from __future__ import annotations

from flask import Flask, g, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .db import db

MESSAGES = {
    400: (_l("Something went wrong with that request"), _l("Please go back, check what you entered and try again.")),
    403: (_l("You do not have access to this page"), _l("If you think you should, ask your administrator.")),
    404: (_l("Page not found"), _l("Check the web address, or go back to the start.")),
    405: (_l("That action is not possible here"), _l("Please go back and try again.")),
    413: (_l("What you sent is too large"), _l("Please shorten it and try again.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes, then try again.")),
    500: (_l("Sorry, something went wrong on our side"), _l("Nothing you entered has been shared. Please try again in a moment.")),
    503: (_l("The service is busy"), _l("Please try again in a moment. What you already saved is safe.")),
}


def render_error(code: int, title: str | None = None, message: str | None = None):
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    g.rendering_error = True  # the page renders without the agency if the database is away
    body = render_template(
        "error.html", code=code, title=title or default_title, message=message or default_message
    )
    return body, code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError):
        return render_error(
            400,
            str(_l("Your session has expired")),
            str(_l("For your security, pages time out. Please go back, reload the page and send it again.")),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = exc.code or 500
        if code not in MESSAGES:
            return exc
        return render_error(code)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(_exc: Exception):
        # A database outage, a connection lost mid-request or a lock timeout: say "try again",
        # never show a trace. Only the type is logged: the message would carry the statement's
        # parameters, which can be what a resident wrote.
        app.logger.error("database unavailable: %s", type(_exc).__name__)
        db.discard()
        return render_error(503)

    @app.errorhandler(InternalServerError)
    def _internal(_exc: Exception):
        return render_error(500)

