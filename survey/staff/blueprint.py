"""The staff blueprint object, shared by the console's route modules."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, template_folder="templates")
