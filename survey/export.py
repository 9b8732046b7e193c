"""The respondent-level export: one CSV row per response plus a codebook JSON (the export contract).

``build`` makes the table in memory (plain Python values, ``None`` for an empty cell) so that the
staff console and scripts can hand it to ``analysis`` directly; ``write`` and ``to_zip`` write the
CSV and the codebook that analysts outside the platform use (README, "The export format").

Text cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage
return) are written with a leading apostrophe; numeric columns are never touched, so a code such
as -9 stays a number.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from .context import fill
from .db import db
from .instrument_store import definition_of
from .instruments import PREFER_NOT_TO_SAY, InstrumentDef, Item
from .models import Answer, PopulationTarget, Response, Wave
from .spreadsheet import csv_safe

FORMAT = "community-trust-export/1"
CSV_NAME = "responses.csv"
CODEBOOK_NAME = "codebook.json"

META = ("response_id", "wave", "stratum", "language", "channel", "sample", "base_weight")
WEIGHTING = ("age_band", "sex", "race_eth", "tenure", "education", "home_language", "district")
#: The crosswalk from the combined race and ethnicity question to the census groups, by option code.
RACE_SINGLE = {7: "white", 3: "black", 2: "asian"}
HISPANIC_CODE = 4
OTHER_LABEL_CODE = 8  # "Another race or ethnicity" labels the group "other"
RACE_GROUPS = ("hispanic", "white", "black", "asian", "other")

#: "Prefer not to say" as residents see it; the codebook carries it in every instrument language.
PREFER_NOT_TO_SAY_LABEL = {
    "en": "Prefer not to say",
    "es": "Prefiero no decirlo",
    "ar": "أفضّل عدم الإجابة",
    "zh_Hans": "不愿透露",
    "zh_Hant": "不願透露",
    "tl": "Mas gusto kong hindi sabihin",
    "vi": "Không muốn trả lời",
    "fr": "Je préfère ne pas répondre",
    "ko": "응답하지 않겠습니다",
    "ru": "Предпочитаю не отвечать",
    "ht": "Mwen pito pa di",
    "pt": "Prefiro não dizer",
}


class ExportError(ValueError):
    """The waves cannot be exported together; the message says why and what to do."""


@dataclass
class Export:
    columns: list[str]
    rows: list[list[Any]]
    codebook: dict[str, Any]


def race_group(codes: Iterable[int]) -> str | None:
    """``hispanic`` if Hispanic or Latino was chosen, else the single race chosen, else ``other``."""
    chosen = {c for c in codes if c != PREFER_NOT_TO_SAY}
    if not chosen:
        return None
    if HISPANIC_CODE in chosen:
        return "hispanic"
    if len(chosen) == 1:
        return RACE_SINGLE.get(next(iter(chosen)), "other")
    return "other"


def export_id(response_id: str) -> str:
    """The response id as hexadecimal: never starts with a formula character, so it is never altered."""
    try:
        return base64.urlsafe_b64decode(response_id + "=" * (-len(response_id) % 4)).hex()
    except (binascii.Error, ValueError):
        return response_id


def _labels(languages: Sequence[str], text: Any) -> dict[str, str]:
    """Interface text (a gettext message) in each of the instrument's languages."""
    out = {}
    for lang in languages:
        with force_locale(lang):
            out[lang] = str(text())
    return out


def _item_label(item: Item, languages: Sequence[str]) -> dict[str, str]:
    return {lang: fill(item.text[lang]) for lang in languages if lang in item.text}


def _pnts(languages: Sequence[str]) -> dict[str, str]:
    return {lang: PREFER_NOT_TO_SAY_LABEL.get(lang, PREFER_NOT_TO_SAY_LABEL["en"]) for lang in languages}


def _missing(item: Item) -> list[int]:
    return [PREFER_NOT_TO_SAY] + [o.code for o in item.options if o.missing]


def _closed_values(item: Item, languages: Sequence[str]) -> list[dict[str, Any]]:
    if item.type == "scale":
        values = [
            {"code": item.scale_min, "label": {lang: fill(item.low[lang]) for lang in languages}},
            {"code": item.scale_max, "label": {lang: fill(item.high[lang]) for lang in languages}},
        ]
    else:
        values = [{"code": o.code, "label": {lang: fill(o.text[lang]) for lang in languages}} for o in item.options]
    return [*values, {"code": PREFER_NOT_TO_SAY, "label": _pnts(languages)}]


def _check_waves(waves: Sequence[Wave]) -> list[Wave]:
    if not waves:
        raise ExportError("Choose at least one wave to export.")
    keys = {w.instrument_version.instrument.key for w in waves}
    if len(keys) > 1:
        raise ExportError(
            "These waves use different questionnaires (" + ", ".join(sorted(keys)) + "); "
            "export waves of one questionnaire together."
        )
    return sorted(waves, key=lambda w: (w.opens_on, w.slug))


def build(waves: Sequence[Wave], include_text: bool = False, response_ids: Collection[str] | None = None) -> Export:
    """The respondent-level table and its codebook for one or more waves of the same instrument.

    ``response_ids`` limits the rows to those responses (an empty collection: the codebook
    alone), so that a cache can add a wave's new responses to the rows it already has.
    """
    waves = _check_waves(waves)
    definitions = {w.id: definition_of(w.instrument_version) for w in waves}
    newest: InstrumentDef = max(definitions.values(), key=lambda d: d.version)
    languages = list(newest.languages)
    # Items of the newest version first; items only older waves asked follow, so nothing is lost.
    items: dict[str, Item] = dict(newest.items)
    for definition in sorted(definitions.values(), key=lambda d: -d.version):
        for key, item in definition.items.items():
            items.setdefault(key, item)

    variables: list[dict[str, Any]] = []
    columns: list[str] = []

    def add(name: str, kind: str, vtype: str, label: dict[str, str], **extra: Any) -> None:
        columns.append(name)
        variables.append({"name": name, "kind": kind, "type": vtype, "label": label, **extra})

    # ---- meta
    add("response_id", "meta", "string", _labels(languages, lambda: _("Response (a random identifier)")), values=[], missing_codes=[])
    add("wave", "meta", "string", _labels(languages, lambda: _("Wave")),
        values=[{"code": w.slug, "label": dict.fromkeys(languages, w.title)} for w in waves], missing_codes=[])
    strata = sorted({s.name for w in waves for s in w.strata})
    add("stratum", "meta", "string", _labels(languages, lambda: _("Sampling stratum (district)")),
        values=[{"code": s, "label": dict.fromkeys(languages, s)} for s in strata], missing_codes=[])
    # A small area (neighborhood or beat) only when a wave has them, so other exports keep their shape.
    with_areas = any(w.areas for w in waves)
    if with_areas:
        names = sorted({a.name for w in waves for a in w.areas})
        add("area", "meta", "string", _labels(languages, lambda: _("Small area (neighborhood or beat)")),
            values=[{"code": a, "label": dict.fromkeys(languages, a)} for a in names], missing_codes=[])
    add("language", "meta", "string", _labels(languages, lambda: _("Language the questionnaire was answered in")), values=[], missing_codes=[])
    add("channel", "meta", "string", _labels(languages, lambda: _("How the answers came in")),
        values=[{"code": c, "label": _labels(languages, t)} for c, t in (
            ("web", lambda: _("On the web")), ("paper", lambda: _("Paper questionnaire")), ("phone", lambda: _("By telephone")))],
        missing_codes=[])
    add("sample", "meta", "string", _labels(languages, lambda: _("Sample")),
        values=[
            {"code": "probability", "label": _labels(languages, lambda: _("Invited by letter (probability sample)"))},
            {"code": "open_link", "label": _labels(languages, lambda: _("Open link (not a probability sample)"))},
        ], missing_codes=[])
    add("base_weight", "meta", "number", _labels(languages, lambda: _("Base weight (1 / selection probability)")), values=[], missing_codes=[])

    # ---- weighting variables
    weighting_items = {item.weighting: item for item in items.values() if item.weighting}
    for name in WEIGHTING:
        if name == "district":
            add("district", "weighting", "string", _labels(languages, lambda: _("District (the sampling stratum)")),
                values=[{"code": s, "label": dict.fromkeys(languages, s)} for s in strata], missing_codes=[])
        elif name == "race_eth":
            race = weighting_items.get("race_eth")
            label = _item_label(race, languages) if race else _labels(languages, lambda: _("Race and ethnicity"))
            options = {o.code: o for o in race.options} if race else {}
            group_codes = {"hispanic": HISPANIC_CODE, **{g: c for c, g in RACE_SINGLE.items()}, "other": OTHER_LABEL_CODE}
            values = []
            for group in RACE_GROUPS:
                option = options.get(group_codes[group])
                values.append({"code": group, "label": {lang: fill(option.text[lang]) for lang in languages} if option else dict.fromkeys(languages, group)})
            add("race_eth", "weighting", "string", label, values=values, missing_codes=[], source_item="race_eth",
                crosswalk="hispanic if option 4 was chosen, else the single race chosen (7 white, 3 black, 2 asian), else other")
        else:
            item = weighting_items.get(name)
            if item is None:
                add(name, "weighting", "choice", dict.fromkeys(languages, name), values=[], missing_codes=[PREFER_NOT_TO_SAY])
            else:
                add(name, "weighting", item.type if item.type != "multi" else "choice", _item_label(item, languages),
                    values=_closed_values(item, languages), missing_codes=_missing(item))

    # ---- items
    item_columns: list[tuple[str, Item, int | None]] = []  # (column, item, option code for multi)
    for item in items.values():
        if item.weighting and item.type != "multi":
            continue
        if item.type == "text":
            if include_text:
                add(item.key, "text", "text", _item_label(item, languages), values=[], missing_codes=[])
                item_columns.append((item.key, item, None))
            continue
        if item.type == "multi":
            for option in item.options:
                name = f"{item.key}__{option.code}"
                label = {lang: f"{fill(item.text[lang])} – {fill(option.text[lang])}" for lang in languages}
                add(name, "multi_option", "multi", label, item=item.key, option=option.code,
                    values=[
                        {"code": 0, "label": _labels(languages, lambda: _("Not selected"))},
                        {"code": 1, "label": _labels(languages, lambda: _("Selected"))},
                        {"code": PREFER_NOT_TO_SAY, "label": _pnts(languages)},
                    ],
                    missing_codes=[PREFER_NOT_TO_SAY], exclusive=option.exclusive, option_missing=option.missing)
                item_columns.append((name, item, option.code))
            continue
        extra: dict[str, Any] = {"min": item.scale_min, "max": item.scale_max} if item.type == "scale" else {}
        if item.show_if:
            extra["shown_if"] = dict(item.show_if)
        add(item.key, "item", item.type, _item_label(item, languages),
            values=_closed_values(item, languages), missing_codes=_missing(item), **extra)
        item_columns.append((item.key, item, None))

    # ---- rows
    rows: list[list[Any]] = []
    for wave in waves if response_ids is None or response_ids else ():
        chosen = Response.wave_id == wave.id
        if response_ids is not None:
            chosen &= Response.id.in_(list(response_ids))
        responses = db.session.scalars(select(Response).where(chosen).order_by(Response.id)).all()
        answers: dict[str, dict[str, list[Answer]]] = defaultdict(lambda: defaultdict(list))
        # Plain rows, not ORM objects: a wave has tens of thousands of answers.
        for answer in db.session.execute(
            select(Answer.response_id, Answer.item_key, Answer.code, Answer.text)
            .join(Response).where(chosen).order_by(Answer.ordinal)
        ):
            answers[answer.response_id][answer.item_key].append(answer)
        for response in responses:
            given = answers.get(response.id, {})

            def code_of(key: str, _given: dict[str, list[Answer]] = given) -> int | None:
                found = _given.get(key)
                return found[0].code if found else None

            p = response.selection_probability
            row: list[Any] = [
                export_id(response.id),
                wave.slug,
                response.stratum,
                *([response.area] if with_areas else []),
                response.language,
                str(response.channel),
                "probability" if p else "open_link",
                (1.0 / p) if p else None,
            ]
            for name in WEIGHTING:
                if name == "district":
                    row.append(response.stratum)
                elif name == "race_eth":
                    chosen = [a.code for a in given.get("race_eth", []) if a.code is not None]
                    row.append(race_group(chosen))
                else:
                    item = weighting_items.get(name)
                    row.append(code_of(item.key) if item else None)
            for _name, item, option in item_columns:
                found = given.get(item.key)
                if item.type == "text":
                    row.append(found[0].text if found and found[0].text else None)
                elif option is None:
                    row.append(found[0].code if found else None)
                elif not found:
                    row.append(None)
                else:
                    chosen = {a.code for a in found}
                    row.append(PREFER_NOT_TO_SAY if PREFER_NOT_TO_SAY in chosen else int(option in chosen))
            rows.append(row)

    agency_id = waves[0].agency_id
    targets = [
        {"variable": t.variable, "category": t.category, "stratum": t.stratum, "population": t.population}
        for t in db.session.scalars(
            select(PopulationTarget).where(PopulationTarget.agency_id == agency_id)
            .order_by(PopulationTarget.variable, PopulationTarget.stratum, PopulationTarget.category)
        )
    ]
    index_list = []
    for index in newest.indexes:
        members = []
        for member in index.items:
            low, high = newest.items[member.key].substantive_range()
            members.append({"key": member.key, "min": low, "max": high, "reverse": member.reverse})
        index_list.append({"key": index.key, "label": dict(index.label), "items": members, "subsample": index.subsample})

    codebook = {
        "format": FORMAT,
        "instrument": {"key": newest.key, "version": newest.version},
        "languages": languages,
        "waves": [
            {"slug": w.slug, "title": w.title, "opens": w.opens_on.isoformat(), "closes": w.last_day().isoformat(),
             "mode": str(w.mode), "order": n, "instrument_version": definitions[w.id].version,
             **({"area_kind": str(w.area_kind or "neighborhood"), "areas": [
                 {"name": a.name, "stratum": a.stratum, "population": a.population, "covariates": dict(a.covariates or {})}
                 for a in w.areas]} if w.areas else {})}
            for n, w in enumerate(waves, start=1)
        ],
        "variables": variables,
        "indexes": index_list,
        "targets": targets,
        "csv": {"file": CSV_NAME, "encoding": "utf-8", "empty_cell": "not answered, not shown, or not applicable",
                "text_formula_prefix": "'"},
    }
    return Export(columns, rows, codebook)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return csv_safe(value)
    return value


def write_csv(export: Export, fh: Any) -> None:
    writer = csv.writer(fh, lineterminator="\r\n")
    writer.writerow(export.columns)
    for row in export.rows:
        writer.writerow([_cell(v) for v in row])


def codebook_json(export: Export) -> str:
    return json.dumps(export.codebook, ensure_ascii=False, indent=2)


def write(export: Export, directory: str | Path) -> tuple[Path, Path]:
    """Write ``responses.csv`` and ``codebook.json`` into ``directory`` (created if needed)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    csv_path, codebook_path = folder / CSV_NAME, folder / CODEBOOK_NAME
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        write_csv(export, fh)
    codebook_path.write_text(codebook_json(export) + "\n", encoding="utf-8")
    return csv_path, codebook_path


def to_zip(export: Export, *, statistics_files: bool = False, language: str = "en") -> bytes:
    """The CSV and codebook; with ``statistics_files`` also ``responses.sav`` (SPSS) and
    ``responses.dta`` (Stata) carrying the labels in ``language``."""
    buffer = io.BytesIO()
    text = io.StringIO(newline="")
    write_csv(export, text)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(CSV_NAME, text.getvalue().encode("utf-8"))
        archive.writestr(CODEBOOK_NAME, (codebook_json(export) + "\n").encode("utf-8"))
        if statistics_files:
            sav, dta = spss_and_stata(export, language)
            archive.writestr(SAV_NAME, sav)
            archive.writestr(DTA_NAME, dta)
    return buffer.getvalue()


SAV_NAME, DTA_NAME = "responses.sav", "responses.dta"
#: Stata labels are at most 80 characters.
STATA_LABEL = 80


def _labelled(export: Export, language: str) -> tuple[pd.DataFrame, dict[str, str], dict[str, dict[Any, str]], dict[str, list[Any]]]:
    """The export as a typed frame with variable labels, value labels and missing codes."""
    variables = {v["name"]: v for v in export.codebook["variables"]}
    frame = pd.DataFrame(export.rows, columns=export.columns, dtype=object)
    labels, values, missing = {}, {}, {}
    for name in export.columns:
        var = variables[name]
        labels[name] = (var["label"].get(language) or var["label"].get("en") or name)
        if var["type"] not in ("string", "text"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
            coded = {v["code"]: (v["label"].get(language) or v["label"].get("en") or str(v["code"]))
                     for v in var.get("values", []) if isinstance(v.get("code"), (int, float))}
            if coded:
                values[name] = coded
            if var.get("missing_codes"):
                missing[name] = list(var["missing_codes"])
        else:
            frame[name] = frame[name].map(lambda v: "" if v is None else str(v))
    return frame, labels, values, missing


def spss_and_stata(export: Export, language: str = "en") -> tuple[bytes, bytes]:
    """SPSS ``.sav`` and Stata ``.dta`` files of the export, with variable labels, value labels and
    missing-value codes (SPSS: user-missing values; Stata: extended missing values .a, .b, ...
    labeled like the codes they stand for), written with pyreadstat."""
    import tempfile

    import pyreadstat

    frame, labels, values, missing = _labelled(export, language)
    with tempfile.TemporaryDirectory() as tmp:
        sav, dta = Path(tmp) / SAV_NAME, Path(tmp) / DTA_NAME
        pyreadstat.write_sav(frame, str(sav), column_labels=labels, variable_value_labels=values,
                             missing_ranges={k: list(v) for k, v in missing.items()})
        stata = frame.copy()
        stata_values = {k: dict(v) for k, v in values.items()}
        stata_missing = {}
        for name, codes in missing.items():
            letters = {code: chr(ord("a") + i) for i, code in enumerate(sorted(codes)[:26])}
            column = stata[name].astype(object)
            stata[name] = column.map(lambda v, letters=letters: letters.get(int(v), v) if v == v and v is not None
                                     and float(v).is_integer() and int(v) in letters else v)
            stata_missing[name] = sorted(letters.values())
            for code, letter in letters.items():
                if code in stata_values.get(name, {}):
                    stata_values[name][letter] = stata_values[name].pop(code)
        pyreadstat.write_dta(stata, str(dta), column_labels=[labels[c][:STATA_LABEL] for c in stata.columns],
                             variable_value_labels=stata_values, missing_user_values=stata_missing)
        return sav.read_bytes(), dta.read_bytes()
