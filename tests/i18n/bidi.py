"""Right-to-left pages: every run of Latin letters or digits joined by punctuation or spaces
(a phone number, an address, a code, a range, a date written with digits) must be isolated from
the Arabic around it, or the bidirectional algorithm reorders it ("555-0100" reads "0100-555").
Runs of Latin words without digits ("(high school)") read correctly and are left alone."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_LATIN_OR_DIGIT = r"[A-Za-z0-9\u00c0-\u024f\u0660-\u0669]"
#: Latin letters or digits joined by at least one separator (punctuation or space) into one run.
RUN = re.compile(
    rf"{_LATIN_OR_DIGIT}+(?:[ \u00a0\-\u2010-\u2015/:.,()+#%&'’×]+{_LATIN_OR_DIGIT}+)+[%)]?"
    rf"|{_LATIN_OR_DIGIT}+[%]"
)
#: Digits are what turn around: a run of Latin words, whatever punctuation joins them, is strongly
#: left-to-right from its first letter to its last, and brackets around it pair up.
_DIGIT = re.compile(r"[0-9\u0660-\u0669]")


class _Runs(HTMLParser):
    def __init__(self, page_dir: str) -> None:
        super().__init__(convert_charrefs=True)
        # (tag, isolated) for each open element; the root's direction is the page's.
        self.stack: list[tuple[str, bool]] = [("html", page_dir != "rtl")]
        self.in_body = False
        self.skip = 0
        self.bare: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        if tag in VOID:
            return
        a = dict(attrs)
        direction = (a.get("dir") or "").lower()
        isolated = self.stack[-1][1]
        if tag == "bdi" or direction in ("ltr", "auto"):
            isolated = True
        elif direction == "rtl":
            isolated = False
        self.stack.append((tag, isolated))
        if tag in ("script", "style", "title"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        while len(self.stack) > 1:
            open_tag, _ = self.stack.pop()
            if open_tag in ("script", "style", "title"):
                self.skip -= 1
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.in_body or self.skip or self.stack[-1][1]:
            return
        for match in RUN.finditer(data):
            run = match.group(0)
            if _DIGIT.search(run):
                self.bare.append(run)


def unisolated_runs(html: str) -> list[str]:
    """The Latin or digit runs of a right-to-left page that no <bdi> or dir="ltr|auto" isolates."""
    found = re.search(r'<html[^>]*\bdir="(\w+)"', html)
    parser = _Runs(found.group(1) if found else "ltr")
    parser.feed(html)
    parser.close()
    return parser.bare
