"""Plain language: the English that residents read (interface text outside the staff console, and
the questionnaire) scores about grade 8 or below on the Flesch-Kincaid scale."""

from __future__ import annotations

import pytest

from survey.instrument_i18n import read_instrument

from .checks import (
    INSTRUMENTS,
    extract,
    flesch_kincaid,
    sentences,
    staff_only,
    syllables,
    worst_sentences,
)

LIMIT = 8.5


def _report(name, corpus):
    grade = flesch_kincaid(corpus)
    worst = "\n".join(f"  {g:5.1f}  {s}" for g, s in worst_sentences(corpus))
    return grade, f"{name}: Flesch-Kincaid grade {grade.grade} > {LIMIT}; hardest sentences:\n{worst}"


def test_resident_pages_read_at_grade_8_or_below():
    extracted = extract()
    resident = [e.text for e in extracted.values() if e.resident]
    assert len(resident) >= 20, "too few resident messages found: is extraction looking in the right place?"
    assert any(not e.resident for e in extracted.values()), "staff-only text should be told apart"
    grade, message = _report("resident pages", resident)
    assert grade.grade <= LIMIT, message


@pytest.mark.parametrize("path", sorted(INSTRUMENTS.glob("*.toml")), ids=lambda p: p.name)
def test_the_instrument_reads_at_grade_8_or_below(path):
    texts = read_instrument(path).texts
    grade, message = _report(path.name, [t.source for t in texts])
    assert grade.grade <= LIMIT, message
    # The questions alone, without the short answer labels that pull the average down.
    questions = [t.source for t in texts if t.id.startswith("item.") and t.id.endswith(".text")]
    grade, message = _report(f"{path.name} questions", questions)
    assert grade.grade <= LIMIT, message


@pytest.mark.parametrize(
    ("path", "staff"),
    [("survey/staff/routes.py", True), ("survey/complaints/templates/complaints/staff/queue.html", True),
     ("survey/complaints/staff_routes.py", True), ("survey/export.py", True),
     ("survey/complaints/templates/complaints/policy.html", False), ("survey/templates/base.html", False),
     ("survey/errors.py", False)],
)
def test_staff_only_text_is_told_apart(path, staff):
    assert staff_only(path) is staff


@pytest.mark.parametrize(
    ("word", "count"),
    [("police", 2), ("crime", 1), ("asked", 1), ("decided", 3), ("makes", 1), ("neighborhood", 3),
     ("respect", 2), ("anonymous", 4), ("people", 2), ("the", 1), ("12", 1)],
)
def test_syllable_heuristic(word, count):
    assert syllables(word) == count


def test_flesch_kincaid_formula():
    # 2 sentences, 12 words, 14 syllables: 0.39 * 6 + 11.8 * 14 / 12 - 15.59 = 0.52
    grade = flesch_kincaid(["The cat sat on the mat. A police car came by today."])
    assert (grade.sentences, grade.words, grade.syllables) == (2, 12, 14)
    assert grade.grade == pytest.approx(0.39 * 6 + 11.8 * 14 / 12 - 15.59, abs=0.01)


def test_a_hard_sentence_fails():
    hard = ("Notwithstanding considerable institutional heterogeneity, municipal constabularies "
            "demonstrate substantially differentiated organizational accountability mechanisms.")
    assert flesch_kincaid([hard]).grade > 20
    assert sentences("One. Two? Three") == ["One.", "Two?", "Three"]
