"""Interface catalogs: every shipped language has every message of messages.pot, translated, not
fuzzy, with the same placeholders as the English; and each check fails when it should."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from survey.i18n import KNOWN

from .checks import (
    TRANSLATIONS,
    catalog_problems,
    catalog_status_problems,
    catalogs,
    extract,
    placeholders,
)

SHIPPED = sorted(catalogs())


def test_there_are_catalogs_to_check():
    assert {"es", "ar"} <= set(SHIPPED)


def test_every_catalog_is_complete_unfuzzy_and_keeps_placeholders():
    problems = catalog_problems()
    assert not problems, "\n".join(problems)


def test_every_catalog_is_a_known_language():
    assert set(SHIPPED) <= set(KNOWN), f"catalogs for unknown languages: {set(SHIPPED) - set(KNOWN)}"


def test_every_catalog_states_its_review_status():
    problems = catalog_status_problems()
    assert not problems, "\n".join(problems)


def test_messages_pot_matches_the_sources():
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        # Both the singular and the plural text of an ngettext entry.
        pot = {text for m in read_po(fh) if m.id for text in ((m.id,) if isinstance(m.id, str) else m.id)}
    source = set(extract())
    assert not source - pot, f"not yet extracted (run `make translations`): {sorted(source - pot)}"
    assert not pot - source, f"no longer in the sources (run `make translations`): {sorted(pot - source)}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Signed in as %(name)s.", ["%(name)s"]),
        ("%(count)d responses, %s left, 100%% done", ["%(count)d", "%s"]),
        ("Trust in {agency}", ["{agency}"]),
        ("No placeholders here.", []),
    ],
)
def test_placeholders_are_recognised(text, expected):
    assert sorted(placeholders(text).elements()) == sorted(expected)


# ---------------------------------------------------------------- the checks can fail


@pytest.fixture
def copy_of_translations(tmp_path: Path) -> Path:
    target = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, target, ignore=shutil.ignore_patterns("*.mo"))
    return target


def _edit(directory: Path, lang: str, change) -> str:
    """Apply ``change(catalog)`` to one language's catalog in the copy; return the msgid it touched."""
    path = directory / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    touched = change(catalog)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=0)
    return touched


def _a_message(catalog, with_placeholder: bool = False):
    for message in catalog:
        if message.id and (not with_placeholder or placeholders(message.id)):
            return message
    raise AssertionError("no suitable message")


@pytest.mark.parametrize("lang", SHIPPED)
def test_removing_one_message_from_one_language_fails_the_check(copy_of_translations, lang):
    def remove(catalog):
        message = _a_message(catalog)
        catalog.delete(message.id, message.context)
        return message.id

    msgid = _edit(copy_of_translations, lang, remove)
    problems = catalog_problems(copy_of_translations)
    assert problems == [f"{lang}: {msgid!r} is missing from the catalog (run `make translations`)"]


@pytest.mark.parametrize("lang", SHIPPED)
def test_an_untranslated_or_fuzzy_message_fails_the_check(copy_of_translations, lang):
    def blank_and_fuzz(catalog):
        first, second = [m for m in catalog if m.id][:2]
        first.string = ""
        second.flags.add("fuzzy")
        return first.id, second.id

    blank, fuzzy = _edit(copy_of_translations, lang, blank_and_fuzz)
    problems = catalog_problems(copy_of_translations)
    assert f"{lang}: {blank!r} is not translated" in problems
    assert f"{lang}: {fuzzy!r} is fuzzy" in problems


@pytest.mark.parametrize("lang", SHIPPED)
def test_a_dropped_or_renamed_placeholder_fails_the_check(copy_of_translations, lang):
    def break_placeholder(catalog):
        message = _a_message(catalog, with_placeholder=True)
        name = next(iter(placeholders(message.id)))
        message.string = message.string.replace(name, "%(nombre)s")
        return message.id

    msgid = _edit(copy_of_translations, lang, break_placeholder)
    problems = catalog_problems(copy_of_translations)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{lang}: {msgid!r}: placeholders ["), problems
    assert "'%(nombre)s'" in problems[0] and "differ from the English" in problems[0], problems


def test_a_message_missing_from_a_new_catalog_is_caught(copy_of_translations):
    """A catalog started from an older template (one message short) fails, whatever its language."""
    new = copy_of_translations / "de" / "LC_MESSAGES"
    new.mkdir(parents=True)
    with (copy_of_translations / "messages.pot").open("rb") as fh:
        catalog = read_po(fh, locale="de")
    catalog.fuzzy = False
    for message in catalog:
        if message.id:
            message.string = message.id  # "translated", placeholders kept
    dropped = next(m for m in catalog if m.id).id
    catalog.delete(dropped)
    with (new / "messages.po").open("wb") as fh:
        write_po(fh, catalog, width=0)
    assert catalog_problems(copy_of_translations) == [f"de: {dropped!r} is missing from the catalog (run `make translations`)"]


def test_a_catalog_without_a_status_line_fails_the_status_check(copy_of_translations):
    path = copy_of_translations / "es" / "LC_MESSAGES" / "messages.po"
    text = path.read_text(encoding="utf-8")
    path.write_text("\n".join(line for line in text.splitlines() if "Translation status" not in line), encoding="utf-8")
    assert catalog_status_problems(copy_of_translations) == [
        "es: the header has no '# Translation status: draft|reviewed|approved' line"
    ]
