"""The export contract: CSV + codebook round-trip every value and label; injection is neutralised."""

from __future__ import annotations

import csv
import json

import pytest

from survey import export
from survey.db import db
from survey.instrument_store import instrument_for_wave
from survey.instruments import PREFER_NOT_TO_SAY
from survey.models import PopulationTarget, Role, Wave, WaveMode


@pytest.fixture
def two_waves(app, agency, make_wave, add_response):
    first = make_wave(status="closed", slug="2026-q2", languages=("en", "es", "ar"))
    second = make_wave(status="open", slug="2026-q3", mode=WaveMode.INVITATION)
    add_response(first, {
        "trust_agency": 7, "job_rating": PREFER_NOT_TO_SAY, "pj_explain": -8, "contact_any": [1, 3],
        "contact_respect": 1, "age_band": 2, "sex": 1, "race_eth": [4, 7], "tenure": 2, "top_issue": "=HYPERLINK(\"x\")",
    }, stratum="North", probability=0.004)
    add_response(first, {"contact_any": [9], "race_eth": [3], "sex": 3}, stratum="South", probability=0.002, language="es")
    add_response(second, {"safety_feel": 0, "race_eth": [2, 7], "contact_any": [PREFER_NOT_TO_SAY]}, stratum="North", probability=0.01)
    add_response(second, {"race_eth": [PREFER_NOT_TO_SAY]}, stratum="-South", probability=0.01)
    with app.app_context():
        db.session.add(PopulationTarget(agency_id=agency.id, variable="age_band", category="1", stratum=None, population=12345))
        db.session.add(PopulationTarget(agency_id=agency.id, variable="district", category="North", stratum=None, population=10000))
        db.session.commit()
    return first, second


def _build(app, slugs, **kwargs):
    with app.test_request_context():
        waves = [db.session.query(Wave).filter_by(slug=s).one() for s in slugs]
        return export.build(waves, **kwargs)


def _read(tmp_path, result):
    csv_path, codebook_path = export.write(result, tmp_path / "out")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return rows, json.loads(codebook_path.read_text(encoding="utf-8"))


def test_round_trip_every_value_and_label(app, two_waves, tmp_path):
    result = _build(app, ["2026-q3", "2026-q2"], include_text=True)
    rows, codebook = _read(tmp_path, result)
    assert codebook["format"] == "community-trust-export/1"
    assert codebook["instrument"] == {"key": "core-trust", "version": 1}
    assert [w["slug"] for w in codebook["waves"]] == ["2026-q2", "2026-q3"] and [w["order"] for w in codebook["waves"]] == [1, 2]
    names = [v["name"] for v in codebook["variables"]]
    assert list(rows[0].keys()) == names == result.columns
    assert names[:14] == ["response_id", "wave", "stratum", "language", "channel", "sample", "base_weight",
                          "age_band", "sex", "race_eth", "tenure", "education", "home_language", "district"]
    # Every cell read back equals the in-memory table (text neutralised only where it must be).
    for row, original in zip(rows, result.rows, strict=True):
        for variable, value in zip(codebook["variables"], original, strict=True):
            cell = row[variable["name"]]
            if value is None:
                assert cell == ""
            elif variable["type"] in ("scale", "choice", "multi"):
                assert int(cell) == value
                codes = [v["code"] for v in variable["values"]]
                if variable["type"] == "scale":
                    assert variable["min"] <= value <= variable["max"] or value in variable["missing_codes"]
                else:
                    assert value in codes, (variable["name"], value)
            elif variable["type"] == "number":
                assert float(cell) == value
            elif isinstance(value, str) and value[:1] in "=+-@":
                assert cell == "'" + value
            else:
                assert cell == value
    # Every label in every language of the instrument.
    languages = codebook["languages"]
    assert languages[:3] == ["en", "es", "ar"] and len(languages) == len(set(languages)) >= 3
    for variable in codebook["variables"]:
        assert set(variable["label"]) == set(languages), variable["name"]
        for value in variable["values"]:
            assert set(value["label"]) == set(languages), (variable["name"], value)
    with app.test_request_context():
        inst = instrument_for_wave(db.session.query(Wave).filter_by(slug="2026-q2").one())
    trust = next(v for v in codebook["variables"] if v["name"] == "trust_agency")
    assert trust["label"]["es"] == inst.items["trust_agency"].text["es"].replace("{agency}", "Testville Police Department")
    assert trust["values"][0] == {"code": 0, "label": {lang: inst.items["trust_agency"].low[lang] for lang in languages}}
    prefer = next(v for v in trust["values"] if v["code"] == -9)
    assert set(prefer["label"]) == set(languages)
    assert {k: prefer["label"][k] for k in ("en", "es", "ar")} == {"en": "Prefer not to say", "es": "Prefiero no decirlo", "ar": "أفضّل عدم الإجابة"}
    explain = next(v for v in codebook["variables"] if v["name"] == "pj_explain")
    assert -9 in explain["missing_codes"] and -8 in explain["missing_codes"]
    sex = next(v for v in codebook["variables"] if v["name"] == "sex")
    assert sex["kind"] == "weighting" and 3 in sex["missing_codes"]
    assert codebook["targets"] == [
        {"variable": "age_band", "category": "1", "stratum": None, "population": 12345},
        {"variable": "district", "category": "North", "stratum": None, "population": 10000},
    ]
    trust_index = next(i for i in codebook["indexes"] if i["key"] == "trust")
    assert trust_index["items"] == [{"key": "pj_respect", "min": 0, "max": 10, "reverse": False},
                                    {"key": "pj_listen", "min": 0, "max": 10, "reverse": False}]
    moral = next(i for i in codebook["indexes"] if i["key"] == "moral_alignment")
    assert moral["items"][0]["min"] == 1 and moral["items"][0]["reverse"] is True


def test_row_values_follow_the_contract(app, two_waves, tmp_path):
    rows, _codebook = _read(tmp_path, _build(app, ["2026-q2", "2026-q3"]))
    first = next(r for r in rows if r["trust_agency"] == "7")
    assert first["wave"] == "2026-q2" and first["stratum"] == "North" and first["district"] == "North"
    assert first["sample"] == "probability" and float(first["base_weight"]) == 250.0
    assert first["job_rating"] == "-9" and first["pj_explain"] == "-8"
    assert first["race_eth"] == "hispanic" and first["age_band"] == "2" and first["education"] == ""
    assert [first[f"contact_any__{c}"] for c in range(1, 10)] == ["1", "0", "1", "0", "0", "0", "0", "0", "0"]
    assert first["contact_respect"] == "1" and first["contact_proper"] == ""
    assert "top_issue" not in first, "free text is left out unless asked for"
    groups = sorted(r["race_eth"] for r in rows)
    assert groups == ["", "black", "hispanic", "other"]
    prefer = next(r for r in rows if r["contact_any__1"] == "-9")
    assert all(prefer[f"contact_any__{c}"] == "-9" for c in range(1, 10))
    untouched = next(r for r in rows if r["race_eth"] == "" )
    assert untouched["contact_any__1"] == "", "an item not answered is empty"


@pytest.mark.parametrize(("codes", "group"), [
    ([4], "hispanic"), ([4, 3], "hispanic"), ([7], "white"), ([3], "black"), ([2], "asian"),
    ([1], "other"), ([5], "other"), ([2, 7], "other"), ([PREFER_NOT_TO_SAY], None), ([], None),
])
def test_race_crosswalk(codes, group):
    assert export.race_group(codes) == group


def test_csv_injection_is_neutralised_in_text_only(app, two_waves, tmp_path):
    rows, _codebook = _read(tmp_path, _build(app, ["2026-q2", "2026-q3"], include_text=True))
    issue = next(r["top_issue"] for r in rows if r["top_issue"])
    assert issue == "'=HYPERLINK(\"x\")"
    south = next(r for r in rows if r["stratum"].endswith("-South"))
    assert south["stratum"] == "'-South" and south["district"] == "'-South"
    assert all(not r["response_id"].startswith(("'", "-", "=", "+", "@")) for r in rows)
    assert any(r["job_rating"] == "-9" for r in rows), "numeric codes stay numeric"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_csv_safe(text):
    from survey.spreadsheet import csv_safe

    assert csv_safe(text) == "'" + text
    assert csv_safe("plain") == "plain"


def test_waves_of_different_instruments_are_refused(app, two_waves):
    from survey.models import Instrument, InstrumentVersion

    with app.app_context():
        other = Instrument(agency_id=two_waves[0].agency_id, key="other-survey", title="Other")
        db.session.add(other)
        db.session.flush()
        base = db.session.query(InstrumentVersion).first()
        raw = dict(base.definition, key="other-survey")
        db.session.add(InstrumentVersion(instrument_id=other.id, version=1, content_hash="f" * 64, definition=raw, source_file="x"))
        db.session.flush()
        wave = db.session.query(Wave).filter_by(slug="2026-q3").one()
        wave.instrument_version_id = db.session.query(InstrumentVersion).filter_by(instrument_id=other.id).one().id
        db.session.commit()
    with pytest.raises(export.ExportError, match="different questionnaires"):
        _build(app, ["2026-q2", "2026-q3"])


def test_export_command(app, two_waves, runner, tmp_path):
    out = tmp_path / "export"
    result = runner.invoke(args=["export", "--wave", "2026-q2", "--wave", "2026-q3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 4 responses" in result.output
    header = (out / "responses.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "top_issue" not in header
    result = runner.invoke(args=["export", "--wave", "2026-q2", "--out", str(out), "--include-text"])
    assert result.exit_code == 0
    assert "top_issue" in (out / "responses.csv").read_text(encoding="utf-8").splitlines()[0]
    assert runner.invoke(args=["export", "--wave", "nope", "--out", str(out)]).exit_code != 0


def test_export_page_downloads_a_zip(app, client, sign_in, two_waves):
    import io
    import zipfile

    sign_in(Role.ANALYST)
    response = client.post("/staff/export", data={"waves": ["2026-q2"]})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["codebook.json", "responses.csv"]
    assert len(archive.read("responses.csv").decode().strip().splitlines()) == 3
    html = client.post("/staff/export", data={}).get_data(as_text=True)
    assert "Choose at least one wave" in html


def test_spss_and_stata_files_read_back_with_labels_and_missing_codes(app, client, sign_in, two_waves, tmp_path):
    import io
    import zipfile

    import pyreadstat

    sign_in(Role.ANALYST)
    response = client.post("/staff/export", data={"waves": ["2026-q2"], "statistics_files": "y"})
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert sorted(archive.namelist()) == ["codebook.json", "responses.csv", "responses.dta", "responses.sav"]
    codebook = json.loads(archive.read("codebook.json"))
    variables = {v["name"]: v for v in codebook["variables"]}
    csv_rows = list(csv.DictReader(io.StringIO(archive.read("responses.csv").decode())))
    (tmp_path / "r.sav").write_bytes(archive.read("responses.sav"))
    (tmp_path / "r.dta").write_bytes(archive.read("responses.dta"))
    sav, sav_meta = pyreadstat.read_sav(str(tmp_path / "r.sav"), user_missing=True)
    dta, dta_meta = pyreadstat.read_dta(str(tmp_path / "r.dta"), user_missing=True)
    assert len(sav) == len(dta) == len(csv_rows) == 2
    assert list(sav.columns) == list(dta.columns) == list(csv_rows[0])
    item = next(name for name, v in variables.items() if v["kind"] == "item" and v.get("missing_codes") and v.get("values"))
    label = variables[item]["label"]["en"]
    assert sav_meta.column_names_to_labels[item] == label and dta_meta.column_names_to_labels[item] == label[:80]
    first = variables[item]["values"][0]
    assert sav_meta.variable_value_labels[item][float(first["code"])] == first["label"]["en"]
    assert dta_meta.variable_value_labels[item][first["code"]] == first["label"]["en"]
    missing = variables[item]["missing_codes"]
    assert {r["lo"] for r in sav_meta.missing_ranges[item]} == {float(c) for c in missing}
    # Stata: each missing code is an extended missing value (.a, .b, ...) labeled like the code.
    code_labels = {v["code"]: v["label"]["en"] for v in variables[item]["values"]}
    for i, code in enumerate(sorted(missing)):
        if code in code_labels:
            assert dta_meta.variable_value_labels[item][chr(ord("a") + i)] == code_labels[code]
    for row, s, d in zip(csv_rows, sav[item], dta[item], strict=True):
        if row[item] == "":
            assert s != s and d != d  # NaN
        elif int(row[item]) in missing:
            assert s == float(row[item]) and d == chr(ord("a") + sorted(missing).index(int(row[item])))
        else:
            assert s == d == float(row[item])
    assert list(sav["wave"]) == [r["wave"] for r in csv_rows]
