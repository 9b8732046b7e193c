"""Translation checks shared by the tests: interface catalogs, placeholders, instrument coverage,
English interface text left on a page in another language, and a Flesch-Kincaid readability
estimate. Each check returns a list of problems (empty: fine), so a
test can run it on the shipped files and on a deliberately broken copy."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
INSTRUMENTS = ROOT / "instruments"
#: The extra keywords the Makefile passes to pybabel extract.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
#: Interface text shown only to staff (a `staff` folder or a `staff_*` module anywhere, and the
#: analysts' export); everything else can reach a resident.
STAFF_ONLY_FILES = frozenset({"survey/export.py"})


def staff_only(path: str) -> bool:
    parts = path.split("/")
    return path in STAFF_ONLY_FILES or "staff" in parts[:-1] or parts[-1].startswith("staff_")

_PLACEHOLDER_RE = re.compile(
    r"%%"  # a literal percent sign, not a placeholder
    r"|%\([A-Za-z_][A-Za-z0-9_]*\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %(name)s
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"  # %s, %d
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}"  # {name}
)


def placeholders(text: str) -> Counter[str]:
    return Counter(p for p in _PLACEHOLDER_RE.findall(text) if p != "%%")


def _read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh)


def catalogs(directory: Path = TRANSLATIONS) -> dict[str, Path]:
    """Every shipped catalog, by language code."""
    return {p.parent.parent.name: p for p in sorted(directory.glob("*/LC_MESSAGES/messages.po"))}


def _strings(message: Message) -> list[str]:
    return [s or "" for s in message.string] if isinstance(message.string, tuple | list) else [message.string or ""]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def catalog_problems(directory: Path = TRANSLATIONS) -> list[str]:
    """Every catalog has every message of messages.pot, translated, not fuzzy, placeholders kept."""
    template = _read(directory / "messages.pot")
    wanted = {(m.context, _ids(m)[0]): m for m in template if m.id}
    problems: list[str] = []
    found = catalogs(directory)
    if not found:
        problems.append(f"{directory}: no catalogs found")
    for lang, path in found.items():
        catalog = _read(path)
        if catalog.fuzzy:
            problems.append(f"{lang}: the catalog header is marked fuzzy (pybabel compile would skip it)")
        have = {(m.context, _ids(m)[0]): m for m in catalog if m.id}
        for key, tmpl in wanted.items():
            msg = have.get(key)
            label = f"{lang}: {key[1]!r}"
            if msg is None:
                problems.append(f"{label} is missing from the catalog (run `make translations`)")
                continue
            if msg.fuzzy:
                problems.append(f"{label} is fuzzy")
            strings = _strings(msg)
            if not all(s.strip() for s in strings):
                problems.append(f"{label} is not translated")
                continue
            problems.extend(f"{label}: {p}" for p in placeholder_problems(msg))
        for key in have.keys() - wanted.keys():
            if not have[key].obsolete:
                problems.append(f"{lang}: {key[1]!r} is not in messages.pot (run `make translations`)")
    return problems


def placeholder_problems(message: Message) -> list[str]:
    """The placeholders of each translation are those of the message it translates."""
    ids = _ids(message)
    strings = _strings(message)
    problems = []
    for n, text in enumerate(strings):
        # Plural forms: form 0 translates the singular, the others the plural (for a one-form
        # language such as Chinese, its only form translates the plural).
        source = ids[0] if len(ids) == 1 or (n == 0 and len(strings) > 1) else ids[1]
        want, got = placeholders(source), placeholders(text)
        if want != got:
            problems.append(
                f"placeholders {sorted(got.elements())} in form {n} differ from the English {sorted(want.elements())}"
            )
    return problems


def catalog_status_problems(directory: Path = TRANSLATIONS) -> list[str]:
    """Each catalog says in its header how far it has been reviewed, so its status is honest."""
    problems = []
    for lang, path in catalogs(directory).items():
        head = path.read_text(encoding="utf-8").split("msgid", 1)[0]
        if not re.search(r"^# Translation status: (draft|reviewed|approved)\b", head, re.M):
            problems.append(f"{lang}: the header has no '# Translation status: draft|reviewed|approved' line")
    return problems


@dataclass(frozen=True)
class Extracted:
    text: str
    files: tuple[str, ...]

    @property
    def resident(self) -> bool:
        return any(not staff_only(f) for f in self.files)


def extract(root: Path = ROOT) -> dict[str, Extracted]:
    """Extract interface text from the sources as `make extract-translations` does, with locations."""
    cfg = root / "translations" / "babel.cfg"
    with cfg.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(cfg))
    files: dict[str, set[str]] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(root), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        for text in message if isinstance(message, tuple) else (message,):
            if text:
                files.setdefault(text, set()).add(filename.replace("\\", "/"))
    return {text: Extracted(text, tuple(sorted(where))) for text, where in files.items()}


# ---------------------------------------------------------------- readability


_VOWELS = re.compile(r"[aeiouy]+")


def syllables(word: str) -> int:
    """A small English syllable heuristic (vowel groups, silent endings); good to about one in ten."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1 if any(c.isdigit() for c in word) else 0
    count = len(_VOWELS.findall(w))
    if len(w) > 2 and w.endswith("e") and not w.endswith(("le", "ee", "ye")):
        count -= 1  # make, more, police
    elif w.endswith("ed") and len(w) > 3 and w[-3] not in "td":
        count -= 1  # asked, called
    elif w.endswith("es") and len(w) > 3 and not w.endswith(("ses", "xes", "zes", "ches", "shes", "ces", "ges")):
        count -= 1  # makes, decides
    if w.endswith("le") and len(w) > 2 and w[-3] not in "aeiouy":
        count += 0  # table, people: the vowel group count already holds
    return max(count, 1)


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")


def sentences(text: str) -> list[str]:
    """Split a text into sentences; a text without a full stop (a heading, a label) is one sentence."""
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p for p in parts if _WORD.search(p)]


def plain(text: str) -> str:
    """Stand-ins for placeholders, so that a reader's words are counted, not ours."""
    text = re.sub(r"%\((agency|name)\)s|\{agency\}", "the police", text)
    text = re.sub(r"%\(city\)s|\{city\}", "the city", text)
    text = re.sub(r"%\((\w+)\)[sd]|\{(\w+)\}", "this", text)
    return text


@dataclass(frozen=True)
class Grade:
    grade: float
    sentences: int
    words: int
    syllables: int


def flesch_kincaid(texts: Iterable[str]) -> Grade:
    """Flesch-Kincaid grade level of the texts read as one: 0.39 w/s + 11.8 syl/w - 15.59."""
    n_sent = n_words = n_syl = 0
    for text in texts:
        for sentence in sentences(plain(text)):
            words = _WORD.findall(sentence)
            n_sent += 1
            n_words += len(words)
            n_syl += sum(syllables(w) for w in words)
    if not n_words:
        raise ValueError("no words to grade")
    grade = 0.39 * n_words / n_sent + 11.8 * n_syl / n_words - 15.59
    return Grade(round(grade, 2), n_sent, n_words, n_syl)


def worst_sentences(texts: Iterable[str], n: int = 5, min_words: int = 6) -> list[tuple[float, str]]:
    """The hardest sentences (a grade for a two-word label means nothing, so short ones are left out)."""
    graded = [
        (flesch_kincaid([s]).grade, s)
        for text in texts
        for s in sentences(plain(text))
        if len(_WORD.findall(s)) >= min_words
    ]
    return sorted(graded, reverse=True)[:n]


def readability_report() -> str:
    """The numbers the readability test checks, for a person to read."""
    from survey.instrument_i18n import read_instrument

    resident = [e.text for e in extract().values() if e.resident]
    texts = [t for path in sorted(INSTRUMENTS.glob("*.toml")) for t in read_instrument(path).texts]
    english = [t.source for t in texts]
    questions = [t.source for t in texts if t.id.startswith("item.") and t.id.endswith(".text")]
    lines = []
    for name, corpus in (("resident pages", resident), ("instrument, all texts", english), ("instrument, questions", questions)):
        g = flesch_kincaid(corpus)
        lines.append(f"{name}: grade {g.grade} ({g.sentences} sentences, {g.words} words)")
        lines.extend(f"    {grade:5.1f}  {s}" for grade, s in worst_sentences(corpus))
    return "\n".join(lines)



# ------------------------------------------------------------------ English shown in another language


#: Attributes whose text a person reads or hears.
_READ_ATTRIBUTES = re.compile(r'\b(?:aria-label|title|alt|placeholder|content)="([^"]*)"')
_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")


@cache
def untranslated_patterns(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    """(English text, pattern matching it as a whole run) for each message of ``lang``'s catalog
    whose translation differs from the English."""
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            parts = _PLACEHOLDER.split(english)
            if english in strings or "<" in english or not any(c.isalpha() for c in "".join(parts)):
                continue  # the same text, markup, or glue such as "%(question)s: %(answer)s"
            pattern = ".+?".join(re.escape(re.sub(r"\s+", " ", part)) for part in parts)
            found.append((english, re.compile(rf"(?:{pattern})")))
    return found


def untranslated(html: str, lang: str) -> list[str]:
    """The catalog's English texts that stand whole on the page (as a text run or a read attribute)."""
    from tests.residentpages import text_runs

    runs = text_runs(html) + [" ".join(v.split()) for v in _READ_ATTRIBUTES.findall(html.split("<body", 1)[-1])]
    runs += [" ".join(v.split()) for v in re.findall(r'<meta name="description" content="([^"]*)"', html)]
    return sorted({english for english, pattern in untranslated_patterns(lang)
                   for run in runs if pattern.fullmatch(run)})


if __name__ == "__main__":
    print(readability_report())
