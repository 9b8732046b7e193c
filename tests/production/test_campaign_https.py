"""A campaign deployment in the production shape: two agencies at /a/<slug>/ behind nginx with TLS
(gunicorn in production mode, SURVEY_AGENCY_ADDRESSES=path). Addresses, redirects and cookies
keep each agency's prefix through the proxy, and nothing of one agency works at the other."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest

from tests.databases import backends, throwaway_postgres
from tests.production.stack import (
    STAFF,
    STAFF_PASSWORD,
    Browserless,
    Stack,
    add_staff,
    serve_behind_tls,
)
from tests.reliability.harness import LANGUAGES, ROOT, Deployment, app_today

SECOND = "harborton"


def _add_second_agency(deployment: Deployment, codes: int) -> list[str]:
    """Harborton, in the same database: its own wave (the same slug as Loadville's), codes and admin."""
    from survey.auth import hash_password
    from survey.db import db
    from survey.instrument_store import sync_instruments
    from survey.models import Agency, InstrumentVersion, StaffUser, Wave, WaveMode, WaveStratum
    from survey.staff.invitations import generate
    from tests.reliability.harness import INVITATION_SLUG

    app = deployment.app()
    today = app_today()
    try:
        with app.app_context():
            agency = Agency(slug=SECOND, name="Harborton Police Department", city="Harborton")
            db.session.add(agency)
            db.session.flush()
            list(sync_instruments(agency, ROOT / "instruments"))
            version = db.session.query(InstrumentVersion).order_by(InstrumentVersion.id.desc()).first()
            wave = Wave(agency_id=agency.id, instrument_version_id=version.id, slug=INVITATION_SLUG,
                        title="Harborton survey", opens_on=today - dt.timedelta(days=1),
                        closes_on=today + dt.timedelta(days=30), mode=WaveMode.INVITATION,
                        languages=list(LANGUAGES), accepted_draft_languages=["es", "ar"],
                        strata=[WaveStratum(name="Harbor", population=4000)])
            db.session.add(wave)
            db.session.flush()
            issued = [item.code for item in generate(wave, "Harbor", codes, 0.05)]
            # The same email as Loadville's admin: a separate account of Harborton's.
            db.session.add(StaffUser(agency_id=agency.id, email=STAFF["admin"], name="Harborton Admin",
                                     password_hash=hash_password(STAFF_PASSWORD), roles=["admin"]))
            db.session.commit()
            return issued
    finally:
        app.extensions["survey.db"]["engine"].dispose()


@pytest.fixture(scope="module", params=backends())
def campaign(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, list[str]]]:
    folder = tmp_path_factory.mktemp(f"campaign-{request.param}")
    drop = None
    if request.param == "sqlite":
        deployment = Deployment(f"sqlite:///{folder / 'survey.sqlite3'}", folder)
    else:
        url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], "survey_campaign")
        deployment = Deployment(url, folder)
    try:
        deployment.seed(6)
        add_staff(deployment)
        codes = _add_second_agency(deployment, 6)
        with serve_behind_tls(deployment, folder / "stack", request.param,
                              env={"SURVEY_AGENCY_ADDRESSES": "path"}) as stack:
            yield stack, codes
    finally:
        if drop is not None:
            drop()


def test_each_agency_at_its_own_address_over_https(campaign):
    stack, _codes = campaign
    visitor = Browserless(stack, "127.0.0.5")
    status, page, _ = visitor.request("GET", "/a/loadville/")
    assert status == 200 and "Loadville Police Department" in page and 'href="/a/loadville/complaints/' in page
    status, page, _ = visitor.request("GET", f"/a/{SECOND}/")
    assert status == 200 and "Harborton Police Department" in page and "Loadville" not in page
    assert visitor.request("GET", "/a/nowhere/")[0] == 404
    assert visitor.request("GET", "/survey/")[0] == 404


def test_access_codes_work_only_at_their_own_agency(campaign):
    stack, harborton_codes = campaign
    loadville_code = stack.deployment.take_code()
    harborton_code = harborton_codes.pop()
    # Each agency's wave has the same slug; each code opens only its own agency's.
    for prefix, wrong in (("/a/loadville", harborton_code), (f"/a/{SECOND}", loadville_code)):
        resident = Browserless(stack, "127.0.0.6")
        status, text, _ = resident.post_form(f"{prefix}/survey/", {"code": wrong})
        assert status == 400, f"{prefix} took another agency's code: {status} {text[:300]}"
    for prefix, right in (("/a/loadville", loadville_code), (f"/a/{SECOND}", harborton_code)):
        resident = Browserless(stack, "127.0.0.7")
        status, _text, location = resident.post_form(f"{prefix}/survey/", {"code": right})
        assert (status, location.split("/q/")[0]) == (303, f"{prefix}/survey"), (prefix, status, location)


def test_a_staff_session_stays_at_its_agency(campaign):
    stack, _codes = campaign
    admin = Browserless(stack, "127.0.0.8")
    status, _text, location = admin.post_form(f"/a/{SECOND}/staff/sign-in",
                                              {"email": STAFF["admin"], "password": STAFF_PASSWORD})
    assert (status, location) == (303, f"/a/{SECOND}/staff/"), (status, location)
    status, page, _ = admin.request("GET", f"/a/{SECOND}/staff/users")
    assert status == 200 and "Harborton Admin" in page and "Investigator" not in page
    # The cookie was set for Harborton's path only; sent to Loadville by hand, it is no one there.
    _status, _text, headers = _raw_sign_in(stack)
    assert any(f"Path=/a/{SECOND}/" in cookie for cookie in headers.get("set-cookie", [])), headers.get("set-cookie")
    status, _text, location = admin.request("GET", "/a/loadville/staff/users")
    assert status == 302 and location.startswith("/a/loadville/staff/sign-in"), (status, location)


def _raw_sign_in(stack: Stack):
    from tests.production.stack import https_request

    client = Browserless(stack, "127.0.0.9")
    token = client.token(f"/a/{SECOND}/staff/sign-in")
    return https_request(stack.https_port, "POST", f"/a/{SECOND}/staff/sign-in",
                         {"csrf_token": token, "email": STAFF["admin"], "password": STAFF_PASSWORD},
                         source="127.0.0.9", cookies=client.cookies)


def test_complaint_references_count_each_agencys_own_under_concurrent_filing(campaign):
    """Residents file at Harborton at once, over TLS: each complaint gets its own number, counted
    from Harborton's own complaints (per-agency advisory lock on PostgreSQL), whatever Loadville holds."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import func, select

    from survey.db import db
    from survey.models import Agency, Complaint

    stack, _codes = campaign

    def file(slug: str, k: int) -> int:
        resident = Browserless(stack, f"127.0.2.{k + 1}")
        status, text, _ = resident.post_form(f"/a/{slug}/complaints/new",
                                             {"categories": "discourtesy", "contact_method": "none"})
        assert status == 303, text[:500]
        return status

    for k in range(3):  # Loadville's first: a campaign-wide count would start Harborton at 4
        file("loadville", 20 + k)
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda k: file(SECOND, k), range(8))) == [303] * 8
    app = stack.deployment.app()
    try:
        with app.app_context():
            refs = dict(db.session.execute(
                select(Agency.slug, func.count()).select_from(Complaint).join(Agency).group_by(Agency.slug)).all())
            harborton = db.session.scalars(select(Complaint.reference).join(Agency).where(Agency.slug == SECOND)).all()
    finally:
        app.extensions["survey.db"]["engine"].dispose()
    assert refs == {"loadville": 3, SECOND: 8}
    year = app_today().year
    assert sorted(harborton) == [f"C-{year}-{n:04d}" for n in range(1, 9)]
