"""The translator workflow: instrument texts export to CSV and PO and import back; a round trip
changes nothing; an import that would apply a translation of an older English text, drop or add a
placeholder, or break markup is refused as a whole with a message naming the text."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import tomllib
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po

from survey.instrument_i18n import (
    TextsError,
    export_csv,
    import_texts,
    read_instrument,
    source_hash,
    write_export,
)
from survey.instruments import load_file

INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"
CORE = INSTRUMENTS / "core-trust.v1.toml"


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    path = tmp_path / CORE.name
    shutil.copy(CORE, path)
    return path


def export(toml: Path, tmp_path: Path, fmt: str = "csv", langs=None) -> list[Path]:
    out = tmp_path / ("export.csv" if fmt == "csv" else "po")
    return write_export(read_instrument(toml), fmt, out, langs)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)


def edit_csv(path: Path, text_id: str, **cells: str) -> None:
    columns, rows = read_rows(path)
    row = next(r for r in rows if r["text_id"] == text_id)
    row.update(cells)
    write_rows(path, columns, rows)


def refused(toml: Path, incoming: Path, **options) -> str:
    before = toml.read_bytes()
    with pytest.raises(TextsError) as info:
        import_texts(toml, incoming, **options)
    assert toml.read_bytes() == before, "a refused import must not touch the file"
    return str(info.value)


# ---------------------------------------------------------------- export


def test_csv_puts_english_beside_each_language_with_ids_hashes_and_status(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "a byte-order mark, so spreadsheets read UTF-8"
    columns, rows = read_rows(path)
    assert columns == ["text_id", "source_hash", "en", "es", "ar", "zh_Hans", "zh_Hant", "tl", "vi", "fr", "ko",
                       "ru", "ht", "pt", "note"]
    by_id = {r["text_id"]: r for r in rows}
    assert by_id["language.status"]["en"] == "approved" and by_id["language.status"]["fr"] == "draft"
    trust = by_id["item.trust_agency.text"]
    assert trust["en"] == "How much do you personally trust {agency}?"
    assert trust["source_hash"] == source_hash(trust["en"])
    assert "{agency}" in trust["fr"]
    for text_id in ("scale.agree11.low", "item.contact_any.option.9", "section.trust.title", "index.trust.label",
                    "instrument.title", "item.top_issue.hint", "scale.often4ask.option.-8"):
        assert text_id in by_id
    assert len(rows) == 3 + len(read_instrument(toml).texts)


def test_csv_for_one_language(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["ko"])
    columns, _ = read_rows(path)
    assert columns == ["text_id", "source_hash", "en", "ko", "note"]


def test_po_catalog_per_language_with_context_english_and_translation(toml, tmp_path):
    paths = export(toml, tmp_path, "po")
    assert sorted(p.name for p in paths) == sorted(
        f"core-trust.v1.{lang}.po" for lang in load_file(toml).languages if lang != "en"
    )
    with (tmp_path / "po" / "core-trust.v1.ru.po").open("rb") as fh:
        catalog = read_po(fh)
    message = catalog.get("How much do you personally trust {agency}?", context="item.trust_agency.text")
    assert message.string == "Насколько Вы лично доверяете полиции {agency}?"
    assert b"Language: ru" in (tmp_path / "po" / "core-trust.v1.ru.po").read_bytes()


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("langs", [None, ["fr"]])
def test_csv_round_trip_changes_nothing(toml, tmp_path, langs):
    before = toml.read_bytes()
    (path,) = export(toml, tmp_path, langs=langs)
    result = import_texts(toml, path)
    assert not result.changed and not result.written
    assert toml.read_bytes() == before


def test_po_round_trip_changes_nothing_in_any_language(toml, tmp_path):
    before = toml.read_bytes()
    for path in export(toml, tmp_path, "po"):
        result = import_texts(toml, path)
        assert not result.changed, path.name
    assert toml.read_bytes() == before


def test_an_import_changes_only_the_lines_of_the_texts_it_changes(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    edit_csv(path, "item.pj_fair.text", fr="Selon vous, la police prend-elle souvent des décisions justes et impartiales ?")
    before = toml.read_text(encoding="utf-8").splitlines()
    result = import_texts(toml, path)
    after = toml.read_text(encoding="utf-8").splitlines()
    assert result.changed == {"fr": ["item.pj_fair.text"]}
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [(next(line for line in before if line.startswith("text.fr = \"Selon vous, à quelle")),
                        'text.fr = "Selon vous, la police prend-elle souvent des décisions justes et impartiales ?"')]
    assert before[0].startswith("# The core community trust instrument"), "comments stay"
    load_file(toml)


def test_a_po_import_changes_a_translation(toml, tmp_path):
    (path,) = export(toml, tmp_path, "po", ["pt"])
    with path.open("rb") as fh:
        catalog = read_po(fh)
    catalog.get("Rent", context="item.tenure.option.2").string = "Arrendada ou alugada"
    with path.open("wb") as fh:
        write_po(fh, catalog)
    result = import_texts(toml, path)
    assert result.changed == {"pt": ["item.tenure.option.2"]}
    assert 'text.pt = "Arrendada ou alugada"' in toml.read_text(encoding="utf-8")


def test_a_new_language_is_added_as_a_draft(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["de"])
    columns, rows = read_rows(path)
    for row in rows:
        if not row["text_id"].startswith("language."):
            row["de"] = "DE: " + row["en"]  # a stand-in translation that keeps the placeholders
    write_rows(path, columns, rows)
    result = import_texts(toml, path)
    assert len(result.changed["de"]) == len(rows) - 3
    inst = load_file(toml)
    assert inst.language_status("de") == "draft"
    assert inst.items["trust_agency"].text["de"] == "DE: How much do you personally trust {agency}?"


def test_a_new_language_with_a_missing_text_is_refused_naming_it(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["de"])
    columns, rows = read_rows(path)
    for row in rows:
        if not row["text_id"].startswith("language.") and row["text_id"] != "item.sex.text":
            row["de"] = "DE: " + row["en"]
    write_rows(path, columns, rows)
    message = refused(toml, path)
    assert "item 'sex' text: has no text in language 'de'" in message


def test_a_dry_run_changes_nothing(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    edit_csv(path, "item.pj_fair.text", fr="Autre texte ?")
    before = toml.read_bytes()
    result = import_texts(toml, path, dry_run=True)
    assert result.changed == {"fr": ["item.pj_fair.text"]} and not result.written
    assert toml.read_bytes() == before


# ---------------------------------------------------------------- refusals


def test_a_translation_of_an_older_english_text_is_refused(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    edit_csv(path, "item.pj_fair.text", fr="Nouvelle traduction ?")
    # Meanwhile someone rewords the English in the instrument.
    source = toml.read_text(encoding="utf-8")
    toml.write_text(source.replace("make fair, impartial decisions", "make fair decisions"), encoding="utf-8")
    message = refused(toml, path)
    assert "item.pj_fair.text: the English text changed after this translation was made" in message


def test_a_po_translation_of_an_older_english_text_is_refused(toml, tmp_path):
    (path,) = export(toml, tmp_path, "po", ["vi"])
    source = toml.read_text(encoding="utf-8")
    toml.write_text(source.replace('"How old are you?"', '"What is your age?"'), encoding="utf-8")
    message = refused(toml, path)
    assert "item.age_band.text: the English text changed after this translation was made" in message
    assert "What is your age?" in message


def test_english_edited_in_the_sheet_is_refused(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    edit_csv(path, "item.sex.text", en="What is your gender?", fr="Quel est votre genre ?")
    message = refused(toml, path)
    assert "item.sex.text: the English in the file differs from the instrument" in message


def test_a_sheet_without_hash_or_english_cannot_be_checked(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["fr"])
    columns, rows = read_rows(path)
    write_rows(path, ["text_id", "fr"], [{"text_id": r["text_id"], "fr": r["fr"]} for r in rows])
    assert "instrument.title: the file has neither a source_hash nor an English column" in refused(toml, path)


@pytest.mark.parametrize(
    ("text_id", "translation", "reason"),
    [
        ("item.trust_agency.text", "Quel degré de confiance accordez-vous à la police ?", "placeholder drops {agency}"),
        ("item.sex.text", "Quel est votre sexe à {city} ?", "placeholder adds {city}"),
        ("item.eff_prevent.text", "La police réussit-elle à {agency} ?", "placeholder drops {city} and adds {agency}"),
        ("item.sex.text", "Quel est votre <b>sexe</b> ?", "markup: <b>, </b> is not in the English"),
        ("item.sex.text", "Quel est votre sexe ? <", "markup: '<' is not in the English"),
        ("item.sex.text", "Quel est votre sexe > ?", "markup: '>' is not in the English"),
        ("item.sex.text", "Quel est votre %(sexe)s ?", "format placeholders ['%(sexe)s'] differ from the English []"),
    ],
)
def test_an_import_that_breaks_placeholders_or_markup_is_refused(toml, tmp_path, text_id, translation, reason):
    (path,) = export(toml, tmp_path)
    edit_csv(path, text_id, fr=translation)
    message = refused(toml, path)
    assert f"{text_id} [fr]: {reason}" in message, message


def test_every_problem_is_named_and_nothing_is_applied(toml, tmp_path):
    (path,) = export(toml, tmp_path)
    edit_csv(path, "item.sex.text", fr="Quel est votre sexe ?  ")  # fine on its own (spaces are trimmed)
    edit_csv(path, "item.pj_fair.text", fr="Bien ?")  # a real change...
    edit_csv(path, "item.trust_agency.text", ko="얼마나 신뢰하십니까?")  # ...a dropped placeholder
    edit_csv(path, "item.tenure.option.1", es="<i>Propia</i>")  # ...and markup
    message = refused(toml, path)
    assert "item.trust_agency.text [ko]: placeholder drops {agency}" in message
    assert "item.tenure.option.1 [es]: markup: <i>, </i> is not in the English" in message
    assert "Bien" not in toml.read_text(encoding="utf-8")


def test_an_unknown_text_id_is_refused(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["fr"])
    columns, rows = read_rows(path)
    rows.append({**rows[-1], "text_id": "item.retired_question.text"})
    write_rows(path, columns, rows)
    assert "item.retired_question.text: no such text in core-trust.v1.toml" in refused(toml, path)


def test_a_fuzzy_po_entry_is_not_imported(toml, tmp_path):
    (path,) = export(toml, tmp_path, "po", ["ht"])
    with path.open("rb") as fh:
        catalog = read_po(fh)
    message = catalog.get("Rent", context="item.tenure.option.2")
    message.string = "Lwe"
    message.flags.add("fuzzy")
    with path.open("wb") as fh:
        write_po(fh, catalog)
    result = import_texts(toml, path)
    assert result.skipped_fuzzy == ["item.tenure.option.2 [ht]"] and not result.changed


# ---------------------------------------------------------------- review status


def test_marking_a_language_reviewed_needs_a_reviewer(toml, tmp_path):
    (path,) = export(toml, tmp_path, "po", ["fr"])
    assert "--status reviewed needs --reviewer NAME" in refused(toml, path, status="reviewed")


def test_a_reviewed_import_records_the_reviewer(toml, tmp_path):
    (path,) = export(toml, tmp_path, "po", ["fr"])
    import_texts(toml, path, status="reviewed", reviewer="Camille Martin", today=dt.date(2026, 12, 1))
    meta = tomllib.loads(toml.read_text(encoding="utf-8"))["languages"]["fr"]
    assert meta == {"status": "reviewed", "notes": "Reviewed by Camille Martin on 2026-12-01.",
                    "reviewer": "Camille Martin", "reviewed_on": "2026-12-01"}
    load_file(toml)


def test_changing_a_reviewed_translation_makes_it_a_draft_again(toml, tmp_path):
    (po,) = export(toml, tmp_path, "po", ["fr"])
    import_texts(toml, po, status="reviewed", reviewer="Camille Martin")
    (sheet,) = export(toml, tmp_path, langs=["fr"])
    edit_csv(sheet, "item.sex.text", fr="Votre sexe ?")
    result = import_texts(toml, sheet)
    assert any("status goes from reviewed back to draft" in m for m in result.messages)
    meta = tomllib.loads(toml.read_text(encoding="utf-8"))["languages"]["fr"]
    assert meta["status"] == "draft" and "reviewer" not in meta


def test_status_cells_in_the_sheet_are_not_imported(toml, tmp_path):
    (path,) = export(toml, tmp_path, langs=["fr"])
    edit_csv(path, "language.status", fr="approved")
    result = import_texts(toml, path)
    assert load_file(toml).language_status("fr") == "draft"
    assert any("status is not imported from the sheet" in m for m in result.messages)


# ---------------------------------------------------------------- the commands


def test_cli_export_and_import(runner, toml, tmp_path):
    out = tmp_path / "fr.csv"
    result = runner.invoke(args=["instruments", "export-texts", str(toml), "--format", "csv", "--lang", "fr",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output
    edit_csv(out, "item.sex.text", fr="Votre sexe ?")
    result = runner.invoke(args=["instruments", "import-texts", str(toml), str(out), "--lang", "fr"])
    assert result.exit_code == 0, result.output
    assert "fr: 1 text(s) changed." in result.output
    result = runner.invoke(args=["instruments", "export-texts", str(toml), "--format", "po", "--out", str(tmp_path / "po")])
    assert result.exit_code == 0 and result.output.count("Wrote ") == 11


def test_cli_import_refusal_names_the_text(runner, toml, tmp_path):
    out = tmp_path / "fr.csv"
    runner.invoke(args=["instruments", "export-texts", str(toml), "--lang", "fr", "--out", str(out)])
    edit_csv(out, "section.trust.title", fr="Confiance dans la police")
    result = runner.invoke(args=["instruments", "import-texts", str(toml), str(out)])
    assert result.exit_code == 1
    assert "section.trust.title [fr]: placeholder drops {agency}" in result.output


def test_export_csv_of_every_shipped_instrument():
    for path in sorted(INSTRUMENTS.glob("*.toml")):
        assert export_csv(read_instrument(path)).startswith("text_id,source_hash,en,")
