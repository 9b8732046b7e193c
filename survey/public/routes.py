"""Public pages anyone can see without signing in."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from ..context import current_agency
from ..db import db
from ..i18n import offered_codes
from ..models import Wave, WaveMode
from ..security import is_safe_next

bp = Blueprint("public", __name__, template_folder="templates")


@bp.get("/")
def home():
    agency = current_agency()
    waves = db.session.scalars(select(Wave).where(Wave.agency_id == agency.id).order_by(Wave.opens_on)).all()
    open_waves = [w for w in waves if w.is_open()]
    return render_template(
        "public/home.html",
        open_waves=open_waves,
        WaveMode=WaveMode,
    )


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.post("/language")
def set_language():
    """Remember the visitor's language choice (a form, so it works without JavaScript)."""
    code = request.form.get("lang", "")
    if code not in offered_codes():
        abort(400)
    session["lang"] = code
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("public.home"), code=303)


@bp.get("/healthz")
def healthz():
    db.session.execute(select(1))
    return {"status": "ok"}
