"""Instruments and waves: create, schedule, copy last quarter's wave, close early, publish."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..auth import roles_required
from ..context import current_agency, locale_code
from ..db import db
from ..i18n import language_name
from ..menu import register
from ..models import (
    Instrument,
    InstrumentVersion,
    Invitation,
    Response,
    Role,
    Wave,
    WaveMode,
    WaveStratum,
    today,
)
from .blueprint import bp
from .forms import ConfirmForm, PublishAreasForm, PublishForm, WaveForm, next_quarter

register(_l("Questionnaires"), "staff.instruments", (Role.SURVEY_MANAGER,), order=10)
register(_l("Waves"), "staff.waves", (Role.SURVEY_MANAGER, Role.ADMIN), order=20)

WAVE_ROLES = (Role.SURVEY_MANAGER, Role.ADMIN)
QUARTER_SLUG = re.compile(r"^(\d{4})-q([1-4])$")


def _versions() -> dict[int, InstrumentVersion]:
    rows = db.session.scalars(
        select(InstrumentVersion)
        .join(Instrument)
        .where(Instrument.agency_id == current_agency().id)
        .options(selectinload(InstrumentVersion.instrument))
        .order_by(Instrument.key, InstrumentVersion.version.desc())
    ).all()
    return {v.id: v for v in rows}


def _slugs(except_id: int | None = None) -> set[str]:
    return {
        slug
        for wid, slug in db.session.execute(select(Wave.id, Wave.slug).where(Wave.agency_id == current_agency().id))
        if wid != except_id
    }


def get_wave(slug: str) -> Wave:
    wave = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id, Wave.slug == slug)
    ).first()
    if wave is None:
        abort(404)
    return wave


def in_field(wave: Wave) -> bool:
    """Open or closed, or with any invitation or response: its questionnaire is fixed."""
    if wave.status() != "scheduled":
        return True
    for model in (Invitation, Response):
        if db.session.scalar(select(func.count()).select_from(model).where(model.wave_id == wave.id)):
            return True
    return False


@bp.get("/instruments")
@roles_required(Role.SURVEY_MANAGER)
def instruments():
    versions = list(_versions().values())
    # This agency's waves only: counting every agency's waves grew with the campaign.
    used = dict(db.session.execute(
        select(Wave.instrument_version_id, func.count())
        .where(Wave.agency_id == current_agency().id)
        .group_by(Wave.instrument_version_id)
    ).all())
    return render_template(
        "staff/instruments.html", versions=versions, used=used
    )


@bp.get("/waves")
@roles_required(*WAVE_ROLES)
def waves():
    rows = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc())
    ).all()
    return render_template("staff/waves.html", waves=rows)


def _strata_text(strata: list[WaveStratum]) -> str:
    return "\n".join(f"{s.name}, {s.population}" if s.population else s.name for s in strata)


def _form_data(wave: Wave) -> dict[str, Any]:
    return {
        "instrument_version": wave.instrument_version_id,
        "title": wave.title,
        "slug": wave.slug,
        "opens_on": wave.opens_on,
        "closes_on": wave.closes_on,
        "mode": str(wave.mode),
        "languages": list(wave.languages),
        "accept_drafts": list(wave.accepted_draft_languages or []),
        "strata": _strata_text(wave.strata),
    }


def _apply(form: WaveForm, wave: Wave) -> None:
    if not form.instrument_locked:
        wave.instrument_version_id = form.instrument_version.data
    wave.title = form.title.data.strip()
    wave.slug = form.slug.data.strip()
    wave.opens_on = form.opens_on.data
    wave.closes_on = form.closes_on.data
    wave.mode = WaveMode(form.mode.data)
    wave.languages = list(form.languages.data)
    wave.accepted_draft_languages = form.accepted_drafts()
    existing = {s.name: s for s in wave.strata}
    wanted = dict(form.parsed_strata)
    for name, stratum in existing.items():
        if name not in wanted:
            wave.strata.remove(stratum)
    for name, population in wanted.items():
        if name in existing:
            existing[name].population = population
        else:
            wave.strata.append(WaveStratum(name=name, population=population))


def _render_form(form: WaveForm, wave: Wave | None, copied_from: Wave | None = None):
    labels = form.version_labels
    drafts = []
    for vid, version in form.versions.items():
        names = [language_name(c, locale_code()) for c, status in version.language_status().items() if status != "approved"]
        if names:
            drafts.append((labels[vid], names))
    return render_template(
        "staff/wave_form.html", form=form, wave=wave, copied_from=copied_from, drafts=drafts,
    )


@bp.route("/waves/new", methods=["GET", "POST"])
@roles_required(Role.SURVEY_MANAGER)
def wave_new():
    form = WaveForm(versions=_versions(), taken_slugs=_slugs())
    if not form.is_submitted() and current_agency().districts:
        # A first wave starts with the agency's districts (their populations still to fill in).
        form.strata.data = "\n".join(current_agency().districts)
    if form.validate_on_submit():
        wave = Wave(agency_id=current_agency().id, strata=[])
        _apply(form, wave)
        db.session.add(wave)
        db.session.commit()
        flash(_("The wave %(slug)s is saved.", slug=wave.slug), "success")
        return redirect(url_for("staff.wave", slug=wave.slug), code=303)
    return _render_form(form, None)


def copy_settings(last: Wave) -> dict[str, Any]:
    """The usual quarterly routine: the last wave's settings, dates one quarter later, a new slug."""
    data = _form_data(last)
    data["opens_on"] = next_quarter(last.opens_on)
    data["closes_on"] = next_quarter(last.closes_on)
    match = QUARTER_SLUG.match(last.slug)
    if match:
        year, quarter = int(match.group(1)), int(match.group(2))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
        data["slug"] = f"{year}-q{quarter}"
        old = f"{match.group(1)} Q{match.group(2)}"
        data["title"] = last.title.replace(old, f"{year} Q{quarter}") if old in last.title else last.title
    else:
        data["slug"] = f"{last.slug}-next"[:64]
    return data


@bp.get("/waves/copy")
@roles_required(Role.SURVEY_MANAGER)
def wave_copy():
    last = db.session.scalars(
        select(Wave).where(Wave.agency_id == current_agency().id).order_by(Wave.opens_on.desc(), Wave.id.desc())
    ).first()
    if last is None:
        flash(_("There is no wave to copy yet. Create the first one here."), "info")
        return redirect(url_for("staff.wave_new"))
    data = copy_settings(last)
    form = WaveForm(data=data, versions=_versions(), taken_slugs=_slugs())
    return _render_form(form, None, copied_from=last)


@bp.get("/waves/<slug>")
@roles_required(*WAVE_ROLES)
def wave(slug: str):
    wave = get_wave(slug)
    invited = db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.wave_id == wave.id))
    responses = db.session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id))
    return render_template(
        "staff/wave.html", wave=wave, invited=invited, responses=responses, locked=in_field(wave),
        confirm=ConfirmForm(formdata=None), publish=PublishForm(formdata=None, published=wave.published),
        today=today(),
    )


@bp.route("/waves/<slug>/edit", methods=["GET", "POST"])
@roles_required(Role.SURVEY_MANAGER)
def wave_edit(slug: str):
    wave = get_wave(slug)
    locked = in_field(wave)
    form = WaveForm(data=_form_data(wave), versions=_versions(), taken_slugs=_slugs(wave.id), instrument_locked=locked)
    if locked:
        # The version is not editable: whatever was sent, the wave keeps its questionnaire.
        form.instrument_version.data = wave.instrument_version_id
    if form.validate_on_submit():
        _apply(form, wave)
        db.session.commit()
        flash(_("The wave %(slug)s is saved.", slug=wave.slug), "success")
        return redirect(url_for("staff.wave", slug=wave.slug), code=303)
    return _render_form(form, wave)


@bp.post("/waves/<slug>/close")
@roles_required(Role.SURVEY_MANAGER)
def wave_close(slug: str):
    wave = get_wave(slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    if wave.status() != "open":
        flash(_("Only an open wave can be closed early."), "error")
    else:
        wave.closed_early_on = today()
        db.session.commit()
        flash(_("The wave %(slug)s is closed. No more answers are accepted.", slug=wave.slug), "success")
    return redirect(url_for("staff.wave", slug=wave.slug), code=303)


@bp.post("/waves/<slug>/publish")
@roles_required(Role.ADMIN)
def wave_publish(slug: str):
    wave = get_wave(slug)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    if form.published.data and wave.status() != "closed":
        flash(_("Results can be published once the wave has closed."), "error")
    else:
        wave.published = form.published.data
        db.session.commit()
        if wave.published:
            flash(_("The results of %(slug)s are published.", slug=wave.slug), "success")
        else:
            flash(_("The results of %(slug)s are no longer published.", slug=wave.slug), "success")
    return redirect(url_for("staff.wave", slug=wave.slug), code=303)


@bp.post("/waves/<slug>/publish-areas")
@roles_required(Role.ADMIN)
def wave_publish_areas(slug: str):
    """The admin's choice: show this wave's model-based neighborhood (or beat) estimates publicly."""
    wave = get_wave(slug)
    form = PublishAreasForm()
    if not form.validate_on_submit() or not wave.areas:
        abort(400)
    wave.publish_areas = form.publish_areas.data
    db.session.commit()
    if wave.publish_areas:
        flash(_("The model-based small-area estimates of %(slug)s are shown on the public results page.", slug=wave.slug), "success")
    else:
        flash(_("The model-based small-area estimates of %(slug)s are no longer shown publicly.", slug=wave.slug), "success")
    return redirect(url_for("staff.wave", slug=wave.slug), code=303)
