"""Export an instrument's texts for translators (CSV or gettext PO) and import their work back.

Every translatable text gets a stable id (``item.trust_agency.text``, ``scale.agree11.low``,
``item.contact_any.option.9``, ``section.trust.title``, ``index.trust.label``,
``instrument.title``). An export carries the English source and a hash of it beside each
translation, so an import can tell that a translation was made against an older English text.

An import edits the TOML file line by line (``text.fr = "..."``), so comments, order and layout
stay as they were, and it is refused as a whole, naming each text and the reason, when it would
apply a translation made against a changed English text, drop or add a placeholder, or bring in
markup the English does not have. The result is validated by the instrument loader before the
file is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .instruments import REVIEW_STATUSES, InstrumentError, parse
from .models import today as agency_today

SOURCE = "en"
TEXT_FIELDS = ("title", "text", "hint", "low", "high", "label")
LANG_RE = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z]{2,4})?$")
#: Rows of a CSV export that carry a language's review status rather than a text.
META_ROWS = ("language.status", "language.reviewer", "language.notes")
#: Columns of a CSV export that are not languages ("id" would be Indonesian, hence "text_id").
CSV_COLUMNS = ("text_id", "source_hash", "note")
DRAFT_NOTE = "Drafted by the project team without a fluent reviewer; needs review before approval."

_BRACE_RE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_PERCENT_RE = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[sdif]")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(?:#.*)?$")
_TEXT_LINE_RE = re.compile(
    r"^(?P<indent>\s*)(?P<field>" + "|".join(TEXT_FIELDS) + r")\.(?P<lang>[A-Za-z_]+)\s*=\s*(?P<rest>.*)$"
)
_STRING_RE = re.compile(r'^("(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\')(?P<tail>.*)$')
_KEY_RE = re.compile(r'^\s*key\s*=\s*"([^"]*)"')
_CODE_RE = re.compile(r"^\s*code\s*=\s*(-?\d+)")
_META_LINE_RE = re.compile(r"^\s*(?P<name>[A-Za-z_]+)\s*=")


class TextsError(ValueError):
    """An export or import cannot be done; ``problems`` lists each text id and reason."""

    def __init__(self, problems: Sequence[str], headline: str = "Import refused") -> None:
        self.problems = list(problems)
        super().__init__(headline + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass(frozen=True)
class Text:
    """One translatable text: its id, its value in every language, and a note for translators."""

    id: str
    values: Mapping[str, str]
    note: str = ""

    @property
    def source(self) -> str:
        return self.values.get(SOURCE, "")

    @property
    def source_hash(self) -> str:
        return source_hash(self.source)


def source_hash(text: str) -> str:
    """A short, spreadsheet-safe fingerprint of an English text (never read as a number)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


# ---------------------------------------------------------------- reading an instrument


def texts_of(raw: Mapping[str, Any]) -> list[Text]:
    """Every translatable text of a parsed instrument, in the order a translator should read them."""
    out: list[Text] = []

    def add(tid: str, value: Any, note: str) -> None:
        if isinstance(value, dict):
            out.append(Text(tid, {k: v for k, v in value.items() if isinstance(v, str)}, note))

    add("instrument.title", raw.get("title"), "Title of the questionnaire")
    for name, scale in (raw.get("scales") or {}).items():
        add(f"scale.{name}.low", scale.get("low"), f"Label under the lowest number of the {name} scale")
        add(f"scale.{name}.high", scale.get("high"), f"Label under the highest number of the {name} scale")
        for opt in scale.get("options", []):
            add(f"scale.{name}.option.{opt.get('code')}", opt.get("text"), f"Answer choice in the {name} scale")
    for sec in raw.get("sections", []):
        add(f"section.{sec.get('key')}.title", sec.get("title"), "Title of a page of questions")
    for item in raw.get("items", []):
        key = item.get("key")
        add(f"item.{key}.text", item.get("text"), "Question")
        add(f"item.{key}.hint", item.get("hint"), "Hint shown under the question")
        add(f"item.{key}.low", item.get("low"), "Label under the lowest number")
        add(f"item.{key}.high", item.get("high"), "Label under the highest number")
        for opt in item.get("options", []):
            add(f"item.{key}.option.{opt.get('code')}", opt.get("text"), f"Answer choice for {key}")
    for idx in raw.get("indexes", []):
        add(f"index.{idx.get('key')}.label", idx.get("label"), "Name of a score shown in published results")
    return out


@dataclass
class _Line:
    """Where one ``field.lang = "..."`` line sits in the file."""

    number: int
    indent: str
    field: str
    lang: str
    tail: str


@dataclass
class _FileMap:
    lines: list[str]
    texts: dict[str, dict[str, _Line]] = field(default_factory=dict)  # id -> lang -> line
    languages: dict[str, tuple[int, int]] = field(default_factory=dict)  # lang -> (header, last line)


def _map_file(source: str, path: str | Path) -> _FileMap:
    """Find the line of every text in every language, following the TOML tables by their headers."""
    fmap = _FileMap(source.splitlines(keepends=True))
    header: str | None = None
    block: list[tuple[int, str, str, str, str]] = []  # line number, indent, field, lang, tail
    key = code = None
    item_key: str | None = None
    lang_block: str | None = None

    def flush() -> None:
        nonlocal item_key
        if header is None:
            prefix = "instrument"
        elif header.startswith("scales.") and header.endswith(".options"):
            prefix = f"scale.{header[len('scales.'):-len('.options')]}.option.{code}"
        elif header.startswith("scales."):
            prefix = f"scale.{header[len('scales.'):]}"
        elif header == "sections":
            prefix = f"section.{key}"
        elif header == "items":
            item_key = key
            prefix = f"item.{key}"
        elif header == "items.options":
            prefix = f"item.{item_key}.option.{code}"
        elif header == "indexes":
            prefix = f"index.{key}"
        else:
            prefix = None
        for number, indent, fld, lang, tail in block:
            if prefix is None:
                raise TextsError([f"line {number + 1}: a text under [{header}] is not where the format expects texts"],
                                 f"{path}: cannot map the file")
            # An option has one text, so its id is the option's: item.contact_any.option.9
            tid = prefix if ".option." in prefix else f"{prefix}.{fld}"
            fmap.texts.setdefault(tid, {})[lang] = _Line(number, indent, fld, lang, tail)

    for number, line in enumerate(fmap.lines):
        h = _HEADER_RE.match(line)
        if h:
            flush()
            header, block, key, code = h[2], [], None, None
            lang_block = header[len("languages."):] if header.startswith("languages.") else None
            if lang_block:
                fmap.languages[lang_block] = (number, number)
            continue
        if lang_block and line.strip() and not line.lstrip().startswith("#"):
            fmap.languages[lang_block] = (fmap.languages[lang_block][0], number)
        if (m := _KEY_RE.match(line)) and key is None:
            key = m[1]
        elif (m := _CODE_RE.match(line)) and code is None:
            code = int(m[1])
        elif (m := _TEXT_LINE_RE.match(line.rstrip("\r\n"))) and not lang_block:
            s = _STRING_RE.match(m["rest"])
            if s is None:
                raise TextsError([f"line {number + 1}: {m['field']}.{m['lang']} is not a one-line string"],
                                 f"{path}: cannot map the file")
            block.append((number, m["indent"], m["field"], m["lang"], s["tail"]))
    flush()
    return fmap


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, except DEL, which TOML wants escaped)."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


@dataclass
class Instrument:
    """An instrument file as text, parsed, and mapped line by line."""

    path: Path
    source: str
    raw: dict[str, Any]
    texts: list[Text]
    fmap: _FileMap

    @property
    def languages(self) -> dict[str, dict[str, Any]]:
        return dict(self.raw.get("languages", {}))

    def by_id(self) -> dict[str, Text]:
        return {t.id: t for t in self.texts}


def read_instrument(path: str | Path) -> Instrument:
    """Read, validate and map an instrument file; refuse one whose texts cannot be edited line by line."""
    path = Path(path)
    source = path.read_text(encoding="utf-8")
    parse(source, path)  # the loader's own checks first
    raw = tomllib.loads(source)
    fmap = _map_file(source, path)
    texts = texts_of(raw)
    missing = [
        f"{t.id} [{lang}]" for t in texts for lang in t.values if lang not in fmap.texts.get(t.id, {})
    ]
    if missing:
        raise TextsError(
            [f"{m}: not written as one line `field.lang = \"...\"`, so it cannot be edited automatically" for m in missing],
            f"{path}: cannot map the file",
        )
    return Instrument(path, source, raw, texts, fmap)


# ---------------------------------------------------------------- export


def _target_languages(inst: Instrument, langs: Sequence[str] | None) -> list[str]:
    declared = [lang for lang in inst.languages if lang != SOURCE]
    if not langs:
        return declared
    bad = [lang for lang in langs if not LANG_RE.match(lang) or lang == SOURCE]
    if bad:
        raise TextsError([f"'{lang}' is not a language code to translate into (e.g. fr, zh_Hans)" for lang in bad],
                         "Export refused")
    return list(dict.fromkeys(langs))


def export_csv(inst: Instrument, langs: Sequence[str] | None = None) -> str:
    """One row per text, English beside each target language, review status rows at the top.

    Written with a byte-order mark by :func:`write_export` so that spreadsheet programs read UTF-8.
    """
    targets = _target_languages(inst, langs)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["text_id", "source_hash", SOURCE, *targets, "note"])
    meta = inst.languages
    for row in META_ROWS:
        name = row.split(".", 1)[1]
        writer.writerow([row, "", str(meta.get(SOURCE, {}).get(name, "")),
                         *[str(meta.get(lang, {}).get(name, "")) for lang in targets],
                         "Review status per language (draft, reviewed, approved); changed with --status, not here"
                         if name == "status" else ""])
    for text in inst.texts:
        writer.writerow([text.id, text.source_hash, text.source, *[text.values.get(lang, "") for lang in targets], text.note])
    return buf.getvalue()


def export_po(inst: Instrument, lang: str) -> bytes:
    """A gettext catalog for one language: msgctxt = text id, msgid = English, msgstr = translation."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    (lang,) = _target_languages(inst, [lang])
    meta = inst.languages.get(lang, {})
    status = meta.get("status", "new")
    catalog = Catalog(
        locale=None,
        project=str(inst.raw["key"]),
        version=f"v{inst.raw['version']}",
        header_comment=(
            f"# Texts of the instrument {inst.raw['key']} version {inst.raw['version']} in '{lang}'.\n"
            f"# Review status: {status}. {meta.get('notes', '')}\n"
            "# msgctxt is the text id; keep {agency} and {city} exactly as they are.\n"
            "# Import with: flask --app wsgi instruments import-texts "
            f"{inst.path.name} THIS_FILE.po --lang {lang}"
        ),
        fuzzy=False,
    )
    catalog.language_team = lang
    for text in inst.texts:
        comments = [text.note, f"source_hash: {text.source_hash}"]
        if _BRACE_RE.search(text.source):
            comments.append("Keep " + ", ".join(sorted(set(_BRACE_RE.findall(text.source)))) + " as written.")
        catalog.add(text.source, text.values.get(lang, ""), context=text.id, auto_comments=comments)
    buf = io.BytesIO()
    write_po(buf, catalog, width=0, omit_header=False)
    return _set_po_language(buf.getvalue(), lang)


def _set_po_language(data: bytes, lang: str) -> bytes:
    """Write ``Language: xx`` into the header (Babel writes it only for locales it knows)."""
    text = data.decode("utf-8")
    if '"Language: ' in text:
        text = re.sub(r'"Language: [^"\\]*\\n"', f'"Language: {lang}\\\\n"', text, count=1)
    else:
        text = text.replace('"MIME-Version: 1.0\\n"', f'"Language: {lang}\\n"\n"MIME-Version: 1.0\\n"', 1)
    return text.encode("utf-8")


def write_export(inst: Instrument, fmt: str, out: str | Path, langs: Sequence[str] | None = None) -> list[Path]:
    """Write an export; PO gives one file per language (``out`` is a folder unless one language and ``*.po``)."""
    out = Path(out)
    if fmt == "csv":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(export_csv(inst, langs), encoding="utf-8-sig", newline="")
        return [out]
    if fmt != "po":
        raise TextsError([f"format '{fmt}' is not csv or po"], "Export refused")
    targets = _target_languages(inst, langs)
    if len(targets) == 1 and out.suffix == ".po":
        paths = [out]
    else:
        out.mkdir(parents=True, exist_ok=True)
        paths = [out / f"{inst.raw['key']}.v{inst.raw['version']}.{lang}.po" for lang in targets]
    for lang, path in zip(targets, paths, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(export_po(inst, lang))
    return paths


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class Incoming:
    """One text as it comes back from a translator."""

    id: str
    source: str | None  # the English the translator saw, when the file carries it
    hash: str | None  # the source_hash column, when the file carries it
    values: Mapping[str, str]  # lang -> translation (empty: not translated)
    fuzzy: frozenset[str] = frozenset()  # languages whose translation is marked as uncertain


def read_csv(path: str | Path) -> tuple[list[str], list[Incoming], dict[str, str]]:
    """Read a CSV export as edited in a spreadsheet: the target languages, the rows, the status cells."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if "text_id" not in columns:
            raise TextsError([f"{path}: the first row must name the columns, with a 'text_id' column"])
        langs = [c for c in columns if LANG_RE.match(c) and c != SOURCE and c not in CSV_COLUMNS]
        rows = []
        statuses: dict[str, str] = {}
        for row in reader:
            tid = (row.get("text_id") or "").strip()
            if tid == "language.status":
                statuses = {lang: (row.get(lang) or "").strip() for lang in langs}
            if not tid or tid in META_ROWS:
                continue
            rows.append(Incoming(
                id=tid,
                source=row.get(SOURCE) if SOURCE in columns else None,
                hash=(row.get("source_hash") or "").strip() or None,
                values={lang: row.get(lang) or "" for lang in langs},
            ))
    return langs, rows, statuses


def read_po(path: str | Path, lang: str | None = None) -> tuple[list[str], list[Incoming]]:
    """Read a PO catalog exported by :func:`export_po` (its language from the header or ``lang``)."""
    from babel.messages.pofile import read_po as babel_read_po

    data = Path(path).read_bytes()
    match = re.search(rb'"Language: ([^"\\]*)\\n"', data)
    header_lang = match[1].decode().strip() if match else ""
    if lang and header_lang and header_lang != lang:
        raise TextsError([f"{path}: the catalog says Language: {header_lang}, not '{lang}'"])
    lang = lang or header_lang
    if not lang:
        raise TextsError([f"{path}: the catalog names no Language; pass --lang"])
    catalog = babel_read_po(io.BytesIO(data), abort_invalid=True)
    rows = []
    for message in catalog:
        if not message.id or message.context is None:
            continue
        hashes = [c.split(":", 1)[1].strip() for c in message.auto_comments if c.startswith("source_hash:")]
        rows.append(Incoming(
            id=message.context,
            source=str(message.id),
            hash=hashes[0] if hashes else None,
            values={lang: str(message.string or "")},
            fuzzy=frozenset({lang}) if message.fuzzy else frozenset(),
        ))
    return [lang], rows


def markup_problems(source: str, translation: str) -> list[str]:
    """Why a translation would break placeholders or markup that the English defines (empty: fine)."""
    problems = []
    src, dst = Counter(_BRACE_RE.findall(source)), Counter(_BRACE_RE.findall(translation))
    if src != dst:
        lost, added = sorted((src - dst).elements()), sorted((dst - src).elements())
        parts = ([f"drops {', '.join(lost)}"] if lost else []) + ([f"adds {', '.join(added)}"] if added else [])
        problems.append("placeholder " + " and ".join(parts) + " (keep {agency} and {city} exactly as in English)")
    src, dst = Counter(_PERCENT_RE.findall(source)), Counter(_PERCENT_RE.findall(translation))
    if src != dst:
        problems.append(f"format placeholders {sorted(dst.elements())} differ from the English {sorted(src.elements())}")
    src_tags, dst_tags = Counter(_TAG_RE.findall(source)), Counter(_TAG_RE.findall(translation))
    if src_tags != dst_tags:
        added, missing = dst_tags - src_tags, src_tags - dst_tags
        if added:
            problems.append(f"markup: {', '.join(_in_order(added, translation))} is not in the English "
                            "(no HTML in a translation unless the English has the same)")
        if missing:
            problems.append(f"markup: drops {', '.join(_in_order(missing, source))} of the English")
    else:
        strip_src, strip_dst = _TAG_RE.sub("", source), _TAG_RE.sub("", translation)
        for ch in "<>":
            if strip_dst.count(ch) > strip_src.count(ch):
                problems.append(f"markup: '{ch}' is not in the English (write it out in words)")
    return problems


def _in_order(tags: Counter[str], text: str) -> list[str]:
    left = Counter(tags)
    out = []
    for tag in _TAG_RE.findall(text):
        if left[tag] > 0:
            out.append(tag)
            left[tag] -= 1
    return out


@dataclass
class ImportResult:
    changed: dict[str, list[str]] = field(default_factory=dict)  # lang -> text ids
    unchanged: int = 0
    untranslated: dict[str, list[str]] = field(default_factory=dict)  # lang -> text ids left empty
    skipped_fuzzy: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    written: bool = False


def import_texts(
    toml_path: str | Path,
    incoming_path: str | Path,
    *,
    lang: str | None = None,
    status: str | None = None,
    reviewer: str | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import a translator's CSV or PO file into the instrument's TOML, or refuse it as a whole."""
    incoming_path = Path(incoming_path)
    statuses: dict[str, str] = {}
    if incoming_path.suffix.lower() == ".po":
        langs, rows = read_po(incoming_path, lang)
    elif incoming_path.suffix.lower() == ".csv":
        langs, rows, statuses = read_csv(incoming_path)
    else:
        raise TextsError([f"{incoming_path}: give a .csv or .po file"])
    if lang:
        if lang not in langs:
            raise TextsError([f"{incoming_path} has no column for '{lang}'"])
        langs = [lang]
    if not langs:
        raise TextsError([f"{incoming_path} has no language column to import (columns are language codes such as fr)"])
    if status is not None:
        if status not in REVIEW_STATUSES:
            raise TextsError([f"status must be one of {', '.join(REVIEW_STATUSES)}"])
        if len(langs) != 1:
            raise TextsError(["--status applies to one language: pass --lang"])
        if status != "draft" and not (reviewer and reviewer.strip()):
            raise TextsError([f"--status {status} needs --reviewer NAME (who checked the translation)"])
    result = apply_import(toml_path, langs, rows, status=status, reviewer=reviewer, today=today, dry_run=dry_run)
    current = read_instrument(toml_path).languages if not result.written else {}
    for code in langs:
        cell = statuses.get(code)
        if cell and cell != (current.get(code) or {}).get("status", cell):
            result.messages.append(
                f"{code}: the sheet's status cell says '{cell}'; status is not imported from the sheet "
                "(use --status with --reviewer)"
            )
    return result


def apply_import(
    toml_path: str | Path,
    langs: Sequence[str],
    rows: Iterable[Incoming],
    *,
    status: str | None = None,
    reviewer: str | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Check every incoming text, then edit the TOML lines (unless ``dry_run``); all or nothing."""
    inst = read_instrument(toml_path)
    current = inst.by_id()
    result = ImportResult()
    problems: list[str] = []
    changes: dict[tuple[str, str], str] = {}
    for row in rows:
        text = current.get(row.id)
        if text is None:
            problems.append(f"{row.id}: no such text in {inst.path.name} (removed or renamed since the export?)")
            continue
        if row.hash is None and row.source is None:
            problems.append(
                f"{row.id}: the file has neither a source_hash nor an English column, so it cannot be checked "
                "against the current English; export again and keep those columns"
            )
            continue
        if row.hash is not None and row.hash != text.source_hash:
            problems.append(
                f"{row.id}: the English text changed after this translation was made "
                f"(now: {text.source!r}); export again and translate the new text"
            )
            continue
        if row.source is not None and row.source.strip() != text.source.strip():
            problems.append(
                f"{row.id}: the English in the file differs from the instrument (now: {text.source!r}); "
                "English is changed in the TOML file only, and a translation must match the current English"
            )
            continue
        for lang in langs:
            value = (row.values.get(lang) or "").strip()
            if lang in row.fuzzy:
                result.skipped_fuzzy.append(f"{row.id} [{lang}]")
                continue
            if not value:
                if not text.values.get(lang):
                    result.untranslated.setdefault(lang, []).append(row.id)
                continue
            bad = markup_problems(text.source, value)
            if bad:
                problems.extend(f"{row.id} [{lang}]: {b}" for b in bad)
                continue
            if value == (text.values.get(lang) or "").strip():
                result.unchanged += 1
                continue
            changes[row.id, lang] = value
    if problems:
        raise TextsError(problems)

    lines = list(inst.fmap.lines)
    inserts: dict[int, list[str]] = {}
    for (tid, lang), value in changes.items():
        located = inst.fmap.texts[tid]
        if lang in located:
            line = located[lang]
            lines[line.number] = f"{line.indent}{line.field}.{lang} = {toml_string(value)}{line.tail}\n"
        else:
            last = max(located.values(), key=lambda ln: ln.number)
            inserts.setdefault(last.number, []).append(f"{last.indent}{last.field}.{lang} = {toml_string(value)}\n")
        result.changed.setdefault(lang, []).append(tid)

    meta_edits = _language_meta_edits(inst, langs, result, status, reviewer, today or agency_today())
    for number, new in meta_edits.get("replace", {}).items():
        lines[number] = new
    for number, new_lines in meta_edits.get("insert", {}).items():
        inserts.setdefault(number, []).extend(new_lines)
    out: list[str] = []
    for number, line in enumerate(lines):
        if number in meta_edits.get("delete", set()):
            continue
        out.append(line if line.endswith("\n") or number + 1 < len(lines) else line + "\n")
        out.extend(inserts.get(number, []))
    new_source = "".join(out)
    if new_source == inst.source:
        return result
    try:
        parse(new_source, inst.path)
    except InstrumentError as exc:
        raise TextsError([f"{exc.where}: {exc.problem}"], "Import refused: the instrument would not be valid") from None
    if dry_run:
        return result
    _atomic_write(inst.path, new_source)
    result.written = True
    return result


def _language_meta_edits(
    inst: Instrument,
    langs: Sequence[str],
    result: ImportResult,
    status: str | None,
    reviewer: str | None,
    today: dt.date,
) -> dict[str, Any]:
    """Line edits to ``[languages.xx]``: add a new language, set or honestly lower a review status."""
    edits: dict[str, Any] = {"replace": {}, "insert": {}, "delete": set()}
    lines = inst.fmap.lines
    for lang in langs:
        meta = inst.languages.get(lang)
        changed = bool(result.changed.get(lang))
        if meta is None:
            if not changed:
                continue
            new_status = status or "draft"
            block = ["\n", f"[languages.{lang}]\n", f"status = {toml_string(new_status)}\n"]
            if new_status == "draft":
                block.append(f"notes = {toml_string(DRAFT_NOTE)}\n")
            else:
                block += [f"reviewer = {toml_string(reviewer or '')}\n", f"reviewed_on = {toml_string(today.isoformat())}\n"]
            last_lang_line = max(end for _, end in inst.fmap.languages.values())
            edits["insert"].setdefault(last_lang_line, []).extend(block)
            result.messages.append(f"added [languages.{lang}] with status {new_status}")
            continue
        old_status = meta.get("status")
        new_status = status
        if new_status is None and changed and old_status in ("reviewed", "approved"):
            new_status = "draft"
            result.messages.append(
                f"{lang}: {len(result.changed[lang])} text(s) changed, so its status goes from {old_status} back to "
                "draft; import with --status reviewed --reviewer NAME if these texts are the reviewed ones"
            )
        if new_status is None or (new_status == old_status and status is None):
            continue
        wanted: dict[str, str] = {"status": new_status}
        if new_status == "draft":
            wanted["notes"] = DRAFT_NOTE if not reviewer else f"Changed by {reviewer} on {today.isoformat()}; needs review."
        else:
            wanted.update(reviewer=reviewer or "", reviewed_on=today.isoformat(),
                          notes=f"Reviewed by {reviewer} on {today.isoformat()}.")
        start, end = inst.fmap.languages[lang]
        seen: set[str] = set()
        for number in range(start + 1, end + 1):
            m = _META_LINE_RE.match(lines[number])
            if not m:
                continue
            name = m["name"]
            if name in wanted:
                edits["replace"][number] = f"{name} = {toml_string(wanted[name])}\n"
                seen.add(name)
            elif name in ("reviewer", "reviewed_on") and new_status == "draft":
                edits["delete"].add(number)
        missing = [f"{name} = {toml_string(v)}\n" for name, v in wanted.items() if name not in seen]
        if missing:
            edits["insert"].setdefault(end, []).extend(missing)
        if new_status != old_status:
            result.messages.append(f"{lang}: status {old_status} -> {new_status}")
    return edits


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
