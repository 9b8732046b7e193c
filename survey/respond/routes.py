"""The survey as residents see it. (The page flow is built in the survey issue.)"""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ..context import current_agency
from ..db import db
from ..models import Wave

bp = Blueprint("respond", __name__, template_folder="templates")


@bp.get("/")
def start():
    agency = current_agency()
    waves = db.session.scalars(select(Wave).where(Wave.agency_id == agency.id).order_by(Wave.opens_on)).all()
    return render_template("respond/start.html", waves=[w for w in waves if w.is_open()])
