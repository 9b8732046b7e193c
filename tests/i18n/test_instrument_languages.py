"""Questionnaire languages: every text of every instrument exists in every language the instrument
declares, each language has an honest review status, and the check fails when a text is removed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from survey.i18n import KNOWN
from survey.instrument_i18n import read_instrument
from survey.instruments import InstrumentError, load_dir, load_file

from .checks import INSTRUMENTS

FILES = sorted(INSTRUMENTS.glob("*.toml"))
CORE = INSTRUMENTS / "core-trust.v1.toml"


def missing_texts(path: Path) -> list[str]:
    """Every (text id, language) the instrument declares but does not have, from the loader and directly."""
    try:
        load_file(path)
    except InstrumentError as exc:
        return [str(exc)]
    inst = read_instrument(path)
    return [f"{t.id} [{lang}]" for t in inst.texts for lang in inst.languages if not t.values.get(lang, "").strip()]


def test_every_instrument_has_every_text_in_every_language_it_declares():
    load_dir(INSTRUMENTS)
    for path in FILES:
        assert missing_texts(path) == [], path.name


def test_the_core_instrument_is_in_every_known_language():
    inst = load_file(CORE)
    assert set(inst.languages) == set(KNOWN)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_a_language_is_reviewed_or_approved_only_with_a_named_reviewer(path):
    for lang, meta in load_file(path).languages.items():
        if meta["status"] != "draft":
            assert meta.get("reviewer", "").strip(), f"{path.name}: {lang} is {meta['status']} but names no reviewer"
        else:
            assert meta.get("notes", "").strip(), f"{path.name}: draft {lang} should say in its notes who drafted it and how"


@pytest.mark.parametrize("lang", list(load_file(CORE).languages))
def test_removing_one_text_in_one_language_fails_the_check(tmp_path, lang):
    path = tmp_path / CORE.name
    shutil.copy(CORE, path)
    source = path.read_text(encoding="utf-8")
    # The question of pj_fair in this language: the first text line after its key.
    start = source.index('key = "pj_fair"')
    line = re.compile(rf"^text\.{lang} = .*\n", re.M).search(source, start)
    path.write_text(source[: line.start()] + source[line.end():], encoding="utf-8")
    problems = missing_texts(path)
    assert problems == [f"{path}: item 'pj_fair' text: has no text in language '{lang}'"]
    with pytest.raises(InstrumentError):
        load_dir(tmp_path)


def test_an_empty_text_fails_the_check(tmp_path):
    path = tmp_path / CORE.name
    path.write_text(CORE.read_text(encoding="utf-8").replace('label.ko = "신뢰 점수"', 'label.ko = " "'), encoding="utf-8")
    assert missing_texts(path) == [f"{path}: index 'trust' label: has no text in language 'ko'"]
