"""The community trust survey platform: a Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g
from flask_babel import (
    format_date,
    format_decimal,
    format_number,
    format_percent,
    format_time,
    get_locale,
    get_translations,
)
from flask_wtf.csrf import CSRFProtect
from jinja2 import StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from . import catalogs, security, tenancy
from .config import from_environment
from .db import db
from .formats import bdi, long_date, ltr, period_lines, period_text
from .i18n import SurveyBabel, direction, html_lang, select_locale
from .models import set_timezone

babel = SurveyBabel()
csrf = CSRFProtect()


def _request_translations() -> Any:
    """The catalog of this request's locale, looked up once per request and locale.

    Flask-Babel resolves the domain, context and locale again for every ``_()`` in a template;
    a survey page has a dozen of them, and that lookup cost more than the rest of the footer.
    The catalog is kept beside Flask-Babel's own per-request state and used while its locale
    object is the same one: ``force_locale`` swaps that object in and back, so it is noticed.
    """
    state = g.get("_flask_babel")
    if state is not None:
        cached = getattr(state, "survey_translations", None)
        if cached is not None and cached[0] is getattr(state, "babel_locale", None):
            return cached[1]
    locale = get_locale()
    translations = get_translations()
    g._flask_babel.survey_translations = (locale, translations)
    return translations


@pass_context
def _template_gettext(context: Context, string: str, **variables: Any) -> str:
    """``_()`` and ``gettext()`` in templates, with Jinja's new-style rules in one call.

    Jinja's own chain for ``_()`` is an alias that resolves ``gettext``, a wrapper that calls our
    lookup through the context and then escapes and formats: three calls where one does. The rules
    are kept exactly: the text is Markup when autoescaping, and always a format string (``%%`` is
    ``%`` even without variables).
    """
    text = _request_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704  # nosec B704 - our catalogs, as Jinja does; % escapes variables
    return text % variables


def _install_fast_gettext(app: Flask) -> None:
    # Jinja wraps the plural and context forms in its new-style rules; plain ``gettext`` and its
    # ``_`` alias, by far the most used, are then replaced by the one-step version above.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _request_translations().ugettext(s),
        ngettext=lambda s, p, n: _request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _request_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext)


class _ScrubClientAddress(logging.Filter):
    """Drop the client address, the time and the query string from the development server's log.

    Werkzeug formats ``"<address> - - [<time>] "%s" %s %s"`` with the request line as the first
    argument; we keep only the method, the path without its query string, status and size.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "werkzeug" and isinstance(record.msg, str) and " - - [" in record.msg:
            record.msg = record.msg.split("] ", 1)[-1]
            if isinstance(record.args, tuple) and record.args:
                method, _, rest = str(record.args[0]).partition(" ")
                path, _, protocol = rest.partition(" ")
                record.args = (f"{method} {path.split('?', 1)[0]} {protocol}".strip(), *record.args[1:])
        return True


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(from_environment(Path(app.instance_path), provided=config or {}))
    if config:
        app.config.update(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    # Dates are the agency's calendar days; Flask-Babel shows staff times in the same zone
    # (BABEL_DEFAULT_TIMEZONE, from the same setting).
    set_timezone(app.config["TIMEZONE"])
    # Every offered language shows its own text: compile what a plain install left uncompiled.
    catalogs.ensure_compiled(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]), app.config["LANGUAGES"])

    if app.config["TESTING"]:
        app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        html_lang=html_lang,
        direction=direction,
        format_date=format_date,
        format_number=format_number,
        format_decimal=format_decimal,
        format_percent=format_percent,
        format_time=format_time,
        long_date=long_date,
        bdi=bdi,
        ltr=ltr,
        period_text=period_text,
        period_lines=period_lines,
    )

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _install_fast_gettext(app)
    csrf.init_app(app)
    tenancy.init_app(app)  # inside the proxy fix: the prefix is read after the forwarded headers
    security.init_app(app)
    logging.getLogger("werkzeug").addFilter(_ScrubClientAddress())

    from . import context, errors

    errors.init_app(app)
    context.init_app(app)

    from .complaints.routes import bp as complaints_bp
    from .complaints.staff_routes import bp as complaint_staff_bp
    from .public.routes import bp as public_bp
    from .respond.routes import bp as respond_bp
    from .respond.staff_routes import bp as respond_staff_bp
    from .results.public_routes import bp as results_bp
    from .results.staff_routes import bp as results_staff_bp
    from .staff.routes import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(respond_bp, url_prefix="/survey")
    app.register_blueprint(complaints_bp, url_prefix="/complaints")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(complaint_staff_bp, url_prefix="/staff/complaints")
    app.register_blueprint(respond_staff_bp, url_prefix="/staff/survey-entry")
    app.register_blueprint(results_bp, url_prefix="/results")
    app.register_blueprint(results_staff_bp, url_prefix="/staff/compare")

    from .cli import register

    register(app)

    @app.before_request
    def _reset_request_state() -> None:
        g.pop("agency", None)

    return app
