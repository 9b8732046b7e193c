"""Complaints as residents see them. (The form and follow-up are built in the complaints issue.)"""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("complaints", __name__, template_folder="templates")


@bp.get("/")
def policy():
    return render_template("complaints/policy.html")
