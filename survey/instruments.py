"""Load and validate questionnaires written as TOML in ``instruments/``.

The format (see ``instruments/README.md``) keeps every language's text beside the item, a review
status per language, response scales with numeric codes, skip conditions and index scoring. A bad
file is refused with an :class:`InstrumentError` naming the file, the item and the problem.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The code every closed item offers for "Prefer not to say"; it is missing for scoring.
PREFER_NOT_TO_SAY = -9
REVIEW_STATUSES = ("draft", "reviewed", "approved")
ITEM_TYPES = ("scale", "choice", "multi", "text")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
PLACEHOLDER_RE = re.compile(r"\{(agency|city)\}")


class InstrumentError(ValueError):
    """An instrument file is invalid; ``str()`` names the file, the place and the problem."""

    def __init__(self, path: str | Path, where: str, problem: str) -> None:
        self.path, self.where, self.problem = str(path), where, problem
        super().__init__(f"{path}: {where}: {problem}")


@dataclass(frozen=True)
class Option:
    code: int
    text: Mapping[str, str]
    missing: bool = False
    exclusive: bool = False  # for multi-select: "no contact" cannot be combined with others


@dataclass(frozen=True)
class Item:
    key: str
    type: str
    section: str
    text: Mapping[str, str]
    hint: Mapping[str, str]
    options: tuple[Option, ...]
    low: Mapping[str, str] = field(default_factory=dict)
    high: Mapping[str, str] = field(default_factory=dict)
    scale_min: int = 0
    scale_max: int = 10
    show_if: Mapping[str, Any] | None = None
    weighting: str | None = None
    source: str = ""
    wording: str = "adapted"
    own_page: bool = False
    max_length: int = 500

    @property
    def closed(self) -> bool:
        return self.type != "text"

    def codes(self) -> list[int]:
        """Every valid code, including "Prefer not to say"."""
        if self.type == "scale":
            valid = list(range(self.scale_min, self.scale_max + 1))
        else:
            valid = [o.code for o in self.options]
        return [*valid, PREFER_NOT_TO_SAY] if self.closed else []

    def substantive_range(self) -> tuple[int, int]:
        """The smallest and largest codes that carry an answer (for 0-100 rescaling)."""
        if self.type == "scale":
            return self.scale_min, self.scale_max
        codes = [o.code for o in self.options if not o.missing]
        return min(codes), max(codes)

    def is_shown(self, answers: Mapping[str, Any]) -> bool:
        """Apply the skip condition to the answers given so far."""
        if not self.show_if:
            return True
        given = answers.get(self.show_if["item"])
        if given is None:
            return False
        chosen = set(given) if isinstance(given, list) else {given}
        return bool(chosen & set(self.show_if["any_of"]))


@dataclass(frozen=True)
class IndexItem:
    key: str
    reverse: bool = False


@dataclass(frozen=True)
class Index:
    key: str
    label: Mapping[str, str]
    items: tuple[IndexItem, ...]
    subsample: str | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: Mapping[str, str]
    items: tuple[str, ...]


@dataclass(frozen=True)
class InstrumentDef:
    key: str
    version: int
    title: Mapping[str, str]
    languages: Mapping[str, Mapping[str, str]]
    sections: tuple[Section, ...]
    items: Mapping[str, Item]
    indexes: tuple[Index, ...]
    raw: Mapping[str, Any]
    content_hash: str
    path: str

    def language_status(self, lang: str) -> str | None:
        meta = self.languages.get(lang)
        return meta["status"] if meta else None

    def items_in(self, section: Section) -> list[Item]:
        return [self.items[k] for k in section.items]

    def weighting_items(self) -> list[Item]:
        return [i for i in self.items.values() if i.weighting]


def _lang_text(path: Path, where: str, value: Any, languages: Iterable[str], *, required: bool = True) -> dict[str, str]:
    if value is None and not required:
        return {}
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InstrumentError(path, where, "text must be a table of language = \"text\" pairs")
    out: dict[str, str] = {}
    for lang in languages:
        text = value.get(lang)
        if not isinstance(text, str) or not text.strip():
            raise InstrumentError(path, where, f"has no text in language '{lang}'")
        out[lang] = text
    extra = set(value) - set(languages)
    if extra:
        raise InstrumentError(
            path, where, f"has text in undeclared language(s) {', '.join(sorted(extra))}; add them to [languages]"
        )
    source = out.get("en") or next(iter(out.values()))
    want = sorted(PLACEHOLDER_RE.findall(source))
    for lang, text in out.items():
        if sorted(PLACEHOLDER_RE.findall(text)) != want:
            raise InstrumentError(path, where, f"language '{lang}' does not keep the placeholders {want}")
    return out


def parse(text: str, path: str | Path = "<string>") -> InstrumentDef:
    """Validate an instrument given as TOML text and return its definition."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstrumentError(path, "TOML syntax", str(exc)) from None
    return validate(raw, path)


def validate(raw: Mapping[str, Any], path: str | Path = "<string>") -> InstrumentDef:
    """Validate an instrument already parsed into a mapping (from TOML or from the database)."""
    path = Path(path)
    for required in ("key", "version", "title", "languages", "sections", "items"):
        if required not in raw:
            raise InstrumentError(path, "top level", f"missing '{required}'")
    key = raw["key"]
    if not isinstance(key, str) or not re.match(r"^[a-z][a-z0-9-]{0,62}$", key):
        raise InstrumentError(path, "key", "must be lower-case letters, digits and dashes")
    version = raw["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise InstrumentError(path, "version", "must be a whole number of 1 or more")

    languages: dict[str, dict[str, str]] = {}
    if not isinstance(raw["languages"], dict) or not raw["languages"]:
        raise InstrumentError(path, "[languages]", "declare at least one language")
    for lang, meta in raw["languages"].items():
        if not isinstance(meta, dict) or meta.get("status") not in REVIEW_STATUSES:
            raise InstrumentError(
                path, f"[languages.{lang}]", f"status must be one of {', '.join(REVIEW_STATUSES)}"
            )
        languages[lang] = {k: str(v) for k, v in meta.items()}
    langs = list(languages)

    title = _lang_text(path, "title", raw["title"], langs)
    scales = raw.get("scales", {})
    if not isinstance(scales, dict):
        raise InstrumentError(path, "[scales]", "must be a table of named scales")

    items: dict[str, Item] = {}
    raw_items = raw["items"]
    if not isinstance(raw_items, list) or not raw_items:
        raise InstrumentError(path, "[[items]]", "declare at least one item")
    for n, entry in enumerate(raw_items, start=1):
        if not isinstance(entry, dict):
            raise InstrumentError(path, f"item #{n}", "must be a table")
        ikey = entry.get("key")
        if not isinstance(ikey, str) or not KEY_RE.match(ikey):
            raise InstrumentError(path, f"item #{n}", f"key {ikey!r} must be lower_snake_case")
        where = f"item '{ikey}'"
        if ikey in items:
            raise InstrumentError(path, where, "key is used twice")
        itype = entry.get("type")
        if itype not in ITEM_TYPES:
            raise InstrumentError(path, where, f"type must be one of {', '.join(ITEM_TYPES)}, not {itype!r}")
        section = entry.get("section")
        if not isinstance(section, str):
            raise InstrumentError(path, where, "names no section")

        spec: dict[str, Any] = dict(entry)
        if "scale" in entry:
            scale = scales.get(entry["scale"])
            if scale is None:
                raise InstrumentError(path, where, f"scale '{entry['scale']}' is not defined in [scales]")
            spec = {**scale, **{k: v for k, v in entry.items() if k != "scale"}}

        options: list[Option] = []
        low: dict[str, str] = {}
        high: dict[str, str] = {}
        smin, smax = 0, 10
        if itype == "scale":
            smin, smax = spec.get("min", 0), spec.get("max", 10)
            if not (isinstance(smin, int) and isinstance(smax, int) and smin < smax <= 20):
                raise InstrumentError(path, where, "scale needs whole numbers min < max <= 20")
            low = _lang_text(path, f"{where} low label", spec.get("low"), langs)
            high = _lang_text(path, f"{where} high label", spec.get("high"), langs)
        elif itype in ("choice", "multi"):
            raw_opts = spec.get("options")
            if not isinstance(raw_opts, list) or len(raw_opts) < 2:
                raise InstrumentError(path, where, "needs at least two options")
            seen: set[int] = set()
            for m, opt in enumerate(raw_opts, start=1):
                code = opt.get("code") if isinstance(opt, dict) else None
                if not isinstance(code, int) or isinstance(code, bool) or code == PREFER_NOT_TO_SAY:
                    raise InstrumentError(
                        path, f"{where} option #{m}", f"code must be a whole number other than {PREFER_NOT_TO_SAY}"
                    )
                if code in seen:
                    raise InstrumentError(path, f"{where} option #{m}", f"code {code} is used twice")
                seen.add(code)
                options.append(
                    Option(
                        code=code,
                        text=_lang_text(path, f"{where} option {code}", opt.get("text"), langs),
                        missing=bool(opt.get("missing", False)),
                        exclusive=bool(opt.get("exclusive", False)),
                    )
                )
        show_if = entry.get("show_if")
        if show_if is not None:
            if (
                not isinstance(show_if, dict)
                or show_if.get("item") not in items
                or not isinstance(show_if.get("any_of"), list)
            ):
                raise InstrumentError(
                    path, where, "show_if must be {item = \"<an earlier item>\", any_of = [codes]}"
                )
            target = items[show_if["item"]]
            bad = [c for c in show_if["any_of"] if c not in target.codes()]
            if bad:
                raise InstrumentError(path, where, f"show_if names codes {bad} that '{target.key}' does not have")
        items[ikey] = Item(
            key=ikey,
            type=itype,
            section=section,
            text=_lang_text(path, f"{where} text", entry.get("text"), langs),
            hint=_lang_text(path, f"{where} hint", entry.get("hint"), langs, required=False),
            options=tuple(options),
            low=low,
            high=high,
            scale_min=smin,
            scale_max=smax,
            show_if=show_if,
            weighting=entry.get("weighting"),
            source=str(entry.get("source", "")),
            wording=str(entry.get("wording", "adapted")),
            own_page=bool(entry.get("own_page", False)),
            max_length=int(entry.get("max_length", 500)),
        )
        if items[ikey].wording not in ("verbatim", "adapted", "new"):
            raise InstrumentError(path, where, "wording must be 'verbatim', 'adapted' or 'new'")

    sections: list[Section] = []
    placed: set[str] = set()
    for n, sec in enumerate(raw["sections"], start=1):
        skey = sec.get("key") if isinstance(sec, dict) else None
        if not isinstance(skey, str):
            raise InstrumentError(path, f"section #{n}", "has no key")
        members = tuple(k for k, i in items.items() if i.section == skey)
        if not members:
            raise InstrumentError(path, f"section '{skey}'", "has no items")
        placed.update(members)
        sections.append(Section(skey, _lang_text(path, f"section '{skey}' title", sec.get("title"), langs), members))
    for ikey, item in items.items():
        if ikey not in placed:
            raise InstrumentError(path, f"item '{ikey}'", f"names section '{item.section}', which is not declared")

    indexes: list[Index] = []
    for n, idx in enumerate(raw.get("indexes", []), start=1):
        xkey = idx.get("key") if isinstance(idx, dict) else None
        if not isinstance(xkey, str):
            raise InstrumentError(path, f"index #{n}", "has no key")
        members_ = []
        for member in idx.get("items", []):
            mkey = member.get("key") if isinstance(member, dict) else member
            if mkey not in items:
                raise InstrumentError(path, f"index '{xkey}'", f"uses item '{mkey}', which does not exist")
            if items[mkey].type not in ("scale", "choice"):
                raise InstrumentError(path, f"index '{xkey}'", f"item '{mkey}' is not a scored (scale or choice) item")
            members_.append(IndexItem(mkey, bool(member.get("reverse", False)) if isinstance(member, dict) else False))
        if not members_:
            raise InstrumentError(path, f"index '{xkey}'", "has no items")
        indexes.append(
            Index(xkey, _lang_text(path, f"index '{xkey}' label", idx.get("label"), langs), tuple(members_), idx.get("subsample"))
        )

    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return InstrumentDef(
        key=key,
        version=version,
        title=title,
        languages=languages,
        sections=tuple(sections),
        items=items,
        indexes=tuple(indexes),
        raw=raw,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        path=str(path),
    )


def load_file(path: str | Path) -> InstrumentDef:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError(path, "file", f"cannot be read: {exc}") from None
    return parse(text, path)


def load_dir(directory: str | Path) -> list[InstrumentDef]:
    """Load every ``*.toml`` instrument in a folder, sorted by key and version."""
    found = [load_file(p) for p in sorted(Path(directory).glob("*.toml"))]
    seen: dict[tuple[str, int], str] = {}
    for inst in found:
        if (inst.key, inst.version) in seen:
            raise InstrumentError(inst.path, "version", f"{inst.key} v{inst.version} is also defined in {seen[inst.key, inst.version]}")
        seen[inst.key, inst.version] = inst.path
    return sorted(found, key=lambda i: (i.key, i.version))


def check_stable_keys(older: InstrumentDef, newer: InstrumentDef) -> None:
    """Refuse a new version that reuses an item key with changed wording or scale.

    A changed question must get a new key so that waves are never compared across a change.
    """
    for key, new in newer.items.items():
        old = older.items.get(key)
        if old is None:
            continue
        if old.text.get("en") != new.text.get("en") or old.type != new.type or old.codes() != new.codes():
            raise InstrumentError(
                newer.path,
                f"item '{key}'",
                f"changed wording or scale since version {older.version}; give the changed item a new key",
            )


_CACHE: dict[str, InstrumentDef] = {}


def cached_instrument(content_hash: str | None) -> InstrumentDef | None:
    """The instrument already rebuilt for this content hash, if any (no database read needed)."""
    return _CACHE.get(content_hash or "")


def from_stored(definition: Mapping[str, Any], content_hash: str) -> InstrumentDef:
    """Rebuild (and cache by content hash) an instrument from the definition stored with its version."""
    cached = _CACHE.get(content_hash)
    if cached is None:
        cached = validate(definition, f"stored:{content_hash[:12]}")
        _CACHE[content_hash] = cached
    return cached
