"""Invitation codes: shown once as letters or CSV, stored only as keyed hashes; CLI; returned letters."""

from __future__ import annotations

import csv
import io
import re

import pytest

from survey.db import db
from survey.models import Invitation, InvitationStatus, Role, WaveMode
from survey.security import keyed_hash, normalize_code
from survey.staff.invitations import HOW_TO_ANSWER, letter_lines

CODE_RE = re.compile(r'<p class="code">([0-9A-Z-]+)</p>')


def _hashes(app, codes):
    with app.app_context():
        return {keyed_hash("invitation", normalize_code(c)) for c in codes}


def _invitations(app, wave):
    with app.app_context():
        return db.session.query(Invitation).filter_by(wave_id=wave.id).all()


def test_letters_page_shows_each_code_once_and_stores_only_hashes(app, client, sign_in, make_wave):
    wave = make_wave(status="open", languages=("en", "es", "ar"))
    sign_in(Role.SURVEY_MANAGER)
    made = client.post(f"/staff/waves/{wave.slug}/invitations", data={"count_0": "3", "count_1": "2", "output": "letters"})
    assert made.status_code == 303  # post/redirect/get: a reload shows the batch, never makes one
    response = client.get(made.headers["Location"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get(made.headers["Location"]).get_data(as_text=True).count('<article class="letter"') == 5
    html = response.get_data(as_text=True)
    codes = CODE_RE.findall(html)
    assert len(codes) == 5 == html.count('<article class="letter"')
    assert html.count("<svg") == 5 and "style=" not in html
    assert 'lang="ar" dir="rtl"' in html and HOW_TO_ANSWER["es"] in html
    stored = _invitations(app, wave)
    assert {i.code_hash for i in stored} == _hashes(app, codes)
    assert sorted((i.stratum, i.selection_probability) for i in stored) == sorted(
        [("North", 3 / 10_000)] * 3 + [("South", 2 / 10_000)] * 2)
    with app.app_context():
        for row in db.session.query(Invitation).all():
            assert all(code not in str(vars(row)) for code in codes)
    # Nothing on the wave's pages shows the codes again.
    for page in (f"/staff/waves/{wave.slug}", f"/staff/waves/{wave.slug}/invitations", f"/staff/waves/{wave.slug}/rates"):
        again = client.get(page).get_data(as_text=True)
        assert not any(code in again for code in codes)


def test_csv_for_mail_merge(app, client, sign_in, make_wave):
    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER)
    made = client.post(f"/staff/waves/{wave.slug}/invitations", data={"count_1": "4", "probability_1": "0.5", "output": "csv"})
    assert made.status_code == 303
    response = client.get(made.headers["Location"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 4 and {r["stratum"] for r in rows} == {"South"}
    assert all(r["start_url"] == f"http://127.0.0.1:5000/survey/start?code={r['code']}" for r in rows)
    assert {i.selection_probability for i in _invitations(app, wave)} == {0.5}


def test_printed_lines_exist_for_every_promised_language():
    promised = ["en", "es", "ar", "zh_Hans", "zh_Hant", "tl", "vi", "fr", "ko", "ru", "ht", "pt"]
    assert set(promised) <= set(HOW_TO_ANSWER)
    assert len(set(HOW_TO_ANSWER.values())) == len(HOW_TO_ANSWER)
    lines = letter_lines(["ar", "zh_Hans"])
    assert [(line["lang"], line["dir"]) for line in lines] == [("ar", "rtl"), ("zh-Hans", "ltr")]


@pytest.mark.parametrize(("data", "message"), [
    ({}, "Enter how many letters to make for at least one district"),
    ({"count_0": "lots"}, "Not a valid integer"),
    ({"count_0": "5000"}, "Enter a whole number from 0 to 2000"),
    ({"count_0": "5", "probability_0": "2"}, "Enter a probability above 0 and at most 1"),
])
def test_invitation_form_says_what_to_fix(app, client, sign_in, make_wave, data, message):
    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER)
    response = client.post(f"/staff/waves/{wave.slug}/invitations", data={**data, "output": "letters"})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _invitations(app, wave) == []


def test_open_link_and_closed_waves_make_no_invitations(app, client, sign_in, make_wave):
    open_link, closed = make_wave(mode=WaveMode.OPEN_LINK), make_wave(status="closed")
    sign_in(Role.SURVEY_MANAGER)
    for wave, text in ((open_link, "open-link wave"), (closed, "has closed")):
        html = client.post(f"/staff/waves/{wave.slug}/invitations", data={"count_0": "3", "output": "letters"}).get_data(as_text=True)
        assert text in html
        assert _invitations(app, wave) == []


def test_cli_writes_codes_to_stdout(app, runner, make_wave):
    wave = make_wave(status="open")
    result = runner.invoke(args=["invitations", "create", "--wave", wave.slug, "--stratum", "North", "--count", "7"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 7 and rows[0].keys() == {"code", "stratum", "start_url"}
    stored = _invitations(app, wave)
    assert {i.code_hash for i in stored} == _hashes(app, [r["code"] for r in rows])
    assert {i.selection_probability for i in stored} == {7 / 10_000}
    result = runner.invoke(args=["invitations", "create", "--wave", wave.slug, "--stratum", "South", "--count", "2", "--probability", "0.25"])
    assert result.exit_code == 0
    assert {i.selection_probability for i in _invitations(app, wave) if i.stratum == "South"} == {0.25}


@pytest.mark.parametrize(("args", "message"), [
    (["--wave", "nope", "--stratum", "North", "--count", "1"], "There is no wave 'nope'"),
    (["--stratum", "East", "--count", "1"], "has no stratum 'East'"),
    (["--count", "1"], "choose one with --stratum"),
])
def test_cli_refuses_bad_input(runner, make_wave, args, message):
    wave = make_wave(status="open")
    if "--wave" not in args:
        args = ["--wave", wave.slug, *args]
    result = runner.invoke(args=["invitations", "create", *args])
    assert result.exit_code != 0 and message in result.output


def test_returned_letters_are_marked_undeliverable(app, client, sign_in, make_wave, runner):
    wave = make_wave(status="open")
    result = runner.invoke(args=["invitations", "create", "--wave", wave.slug, "--stratum", "North", "--count", "4"])
    codes = [r["code"] for r in csv.DictReader(io.StringIO(result.stdout))]
    with app.app_context():
        used = db.session.query(Invitation).filter_by(code_hash=keyed_hash("invitation", normalize_code(codes[3]))).one()

        used.used = True
        db.session.commit()
    sign_in(Role.SURVEY_MANAGER)
    typed = f"{codes[0].lower().replace('-', ' ')}\n{codes[1]}\nZZZZZ-ZZZZZ-ZZZZZ\n{codes[3]}\n"
    response = client.post(f"/staff/waves/{wave.slug}/undeliverable", data={"codes": typed}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "2 letters are marked undeliverable" in html
    assert "ZZZZZ-ZZZZZ-ZZZZZ" in html and "already used" in html
    statuses = sorted(str(i.status) for i in _invitations(app, wave))
    assert statuses == ["sent", "sent", "undeliverable", "undeliverable"]


def test_returned_letters_upload(app, client, sign_in, make_wave, runner):
    wave = make_wave(status="open")
    result = runner.invoke(args=["invitations", "create", "--wave", wave.slug, "--stratum", "North", "--count", "2"])
    sign_in(Role.SURVEY_MANAGER)
    upload = (io.BytesIO(result.stdout.encode()), "returned.csv")
    response = client.post(f"/staff/waves/{wave.slug}/undeliverable", data={"upload": upload}, content_type="multipart/form-data")
    assert response.status_code == 303
    assert all(i.status == InvitationStatus.UNDELIVERABLE for i in _invitations(app, wave))


def test_undeliverable_needs_codes(client, sign_in, make_wave):
    wave = make_wave(status="open")
    sign_in(Role.SURVEY_MANAGER)
    html = client.post(f"/staff/waves/{wave.slug}/undeliverable", data={"codes": ""}).get_data(as_text=True)
    assert "Enter at least one code, or upload a file of codes" in html


def test_a_batch_is_held_encrypted_for_its_session_only_and_forgotten_when_printed(app, client, sign_in, make_wave, tmp_path):
    from pathlib import Path

    wave = make_wave(status="open", languages=("en",))
    sign_in(Role.SURVEY_MANAGER)
    made = client.post(f"/staff/waves/{wave.slug}/invitations", data={"count_0": "2", "output": "letters"})
    url = made.headers["Location"]
    html = client.get(url).get_data(as_text=True)
    codes = CODE_RE.findall(html)
    assert len(codes) == 2 and len(_invitations(app, wave)) == 2
    # Reply-by date (the wave's last day) and the agency's help line are on every letter.
    assert html.count("Please answer by") == 2 and html.count("555-0101") >= 2
    held = list(Path(app.config["LETTERS_DIR"]).glob("*.bin"))
    assert len(held) == 1 and not any(code.encode() in held[0].read_bytes() for code in codes)
    # Another session (another browser, or someone with the server's files) cannot open it.
    other = app.test_client()
    assert other.get(url).status_code in (302, 410)
    # Printed: forgotten, and the page says so instead of showing codes.
    done = client.post(url + "/done")
    assert done.status_code == 303
    gone = client.get(url)
    assert gone.status_code == 410 and not any(code in gone.get_data(as_text=True) for code in codes)
    assert list(Path(app.config["LETTERS_DIR"]).glob("*.bin")) == []
    assert len(_invitations(app, wave)) == 2
