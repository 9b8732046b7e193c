"""Instruments as data: the shipped questionnaire loads; a malformed one is refused with a message
naming the file, the item and the problem; used versions are immutable; keys never change meaning."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey.db import db
from survey.instrument_store import sync_instruments
from survey.instruments import (
    PREFER_NOT_TO_SAY,
    InstrumentError,
    check_stable_keys,
    load_dir,
    load_file,
    parse,
)

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "instruments" / "core-trust.v1.toml"

MINIMAL = """
key = "mini"
version = 1
title.en = "Mini"
[languages.en]
status = "approved"
[[sections]]
key = "s"
title.en = "Section"
[[items]]
key = "q1"
section = "s"
type = "scale"
text.en = "How much?"
low.en = "None"
high.en = "All"
[[items]]
key = "q2"
section = "s"
type = "choice"
text.en = "Which?"
[[items.options]]
code = 1
text.en = "This"
[[items.options]]
code = 2
text.en = "That"
"""


def test_the_core_instrument_loads_with_every_item_of_the_design():
    inst = load_file(CORE)
    expected = {
        "safety_feel", "safety_community", "trust_agency", "job_rating", "pj_respect", "pj_listen", "pj_fair",
        "pj_explain", "equal_treatment", "right_force", "eff_prevent", "eff_response", "duty_back", "moral_align",
        "contact_any", "contact_respect", "contact_proper", "contact_satisfied", "complaint_aware", "accountable",
        "top_issue",
    }
    assert expected <= set(inst.items)
    assert {"en", "es"} <= set(inst.languages)
    assert inst.language_status("en") == "approved"
    assert {i.key for i in inst.indexes} >= {"trust", "safety", "procedural_justice", "effectiveness", "obligation", "moral_alignment", "contact_quality"}
    for item in inst.items.values():
        assert item.source, f"{item.key} names no source"
        if item.closed:
            assert PREFER_NOT_TO_SAY in item.codes()


def test_contact_questions_are_shown_only_after_contact():
    inst = load_file(CORE)
    follow_up = inst.items["contact_respect"]
    assert follow_up.is_shown({"contact_any": [1, 4]})
    assert not follow_up.is_shown({"contact_any": [9]})
    assert not follow_up.is_shown({})


def test_the_trust_index_follows_the_elucd_definition():
    inst = load_file(CORE)
    trust = next(i for i in inst.indexes if i.key == "trust")
    assert [m.key for m in trust.items] == ["pj_respect", "pj_listen"]


def test_minimal_instrument_is_valid():
    inst = parse(MINIMAL, "mini.toml")
    assert inst.items["q1"].codes() == [*range(11), PREFER_NOT_TO_SAY]


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (lambda t: t.replace('type = "choice"', 'type = "slider"'), "item 'q2'", "type must be one of"),
        (lambda t: t.replace('text.en = "Which?"\n', ""), "item 'q2' text", "has no text in language 'en'"),
        (lambda t: t.replace('key = "q2"', 'key = "q1"'), "item 'q1'", "used twice"),
        (lambda t: t.replace("code = 2", "code = 1"), "item 'q2' option #2", "code 1 is used twice"),
        (lambda t: t.replace('section = "s"\ntype = "choice"', 'section = "nowhere"\ntype = "choice"'), "item 'q2'", "not declared"),
        (lambda t: t.replace('status = "approved"', 'status = "final"'), "[languages.en]", "status must be one of"),
        (lambda t: t.replace('type = "scale"', 'type = "scale"\nscale = "missing"'), "item 'q1'", "scale 'missing' is not defined"),
        (lambda t: t + '[[indexes]]\nkey = "x"\nlabel.en = "X"\nitems = [{ key = "nope" }]\n', "index 'x'", "item 'nope', which does not exist"),
        (lambda t: t.replace('text.en = "Which?"', 'text.en = "Which?"\nshow_if = { item = "q1", any_of = [42] }'), "item 'q2'", "codes [42]"),
        (lambda t: t.replace('text.en = "How much?"', 'text.en = "How much?"\ntext.fr = "Combien ?"'), "item 'q1' text", "undeclared language"),
        (lambda t: t.replace("version = 1", "version = 1\nversion = 2"), "TOML syntax", ""),
    ],
)
def test_a_malformed_instrument_is_refused_naming_file_item_and_problem(tmp_path, change, where, problem):
    path = tmp_path / "broken.toml"
    path.write_text(change(MINIMAL), encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert where in message and problem in message, message


def test_placeholders_must_survive_translation(tmp_path):
    text = MINIMAL.replace('[languages.en]\nstatus = "approved"', '[languages.en]\nstatus = "approved"\n[languages.es]\nstatus = "draft"')
    # Give every text a Spanish version, then break one placeholder.
    lines = []
    for line in text.splitlines():
        lines.append(line)
        if ".en = " in line:
            lines.append(line.replace(".en = ", ".es = "))
    text = "\n".join(lines).replace('text.en = "How much?"', 'text.en = "How much does {agency} do?"')
    text = text.replace('text.es = "How much?"', 'text.es = "¿Cuánto hace la policía?"')
    with pytest.raises(InstrumentError, match="item 'q1' text: language 'es' does not keep the placeholders"):
        parse(text, "x.toml")


def test_a_changed_wording_needs_a_new_key():
    old = parse(MINIMAL, "v1.toml")
    new = parse(MINIMAL.replace("version = 1", "version = 2").replace("How much?", "How many?"), "v2.toml")
    with pytest.raises(InstrumentError, match="item 'q1': changed wording or scale since version 1; give the changed item a new key"):
        check_stable_keys(old, new)
    renamed = parse(MINIMAL.replace("version = 1", "version = 2").replace('key = "q1"', 'key = "q1b"').replace("How much?", "How many?"), "v2.toml")
    check_stable_keys(old, renamed)


def test_a_version_used_by_a_wave_cannot_change(app, agency, make_wave, tmp_path):
    make_wave()
    changed = CORE.read_text(encoding="utf-8").replace("Community trust survey", "Community trust survey (new title)", 1)
    (tmp_path / "core-trust.v1.toml").write_text(changed, encoding="utf-8")
    with app.app_context(), pytest.raises(InstrumentError, match="used by 1 wave\\(s\\) and cannot change; save the new wording as version 2"):
        list(sync_instruments(db.session.merge(agency), tmp_path))


def test_sync_is_idempotent(app, agency):
    with app.app_context():
        assert list(sync_instruments(db.session.merge(agency), ROOT / "instruments")) == ["core-trust v1: unchanged"]


def test_duplicate_versions_in_the_folder_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.toml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(InstrumentError, match="mini v1 is also defined in"):
        load_dir(tmp_path)


def test_cli_check_reports_the_error(runner, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace('type = "choice"', 'type = "slider"'), encoding="utf-8")
    result = runner.invoke(args=["instruments", "check", str(path)])
    assert result.exit_code == 1
    assert "bad.toml: item 'q2': type must be one of" in result.output
