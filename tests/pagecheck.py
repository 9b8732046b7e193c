"""Checks every HTML page fetched by the test client: structure, ids, labels, language, headers."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Elements whose end tag HTML lets you omit; we always close them anyway, but do not insist.
OPTIONAL_END = {"p", "li", "option", "tr", "td", "th", "thead", "tbody", "dt", "dd"}
LABELLED_INPUTS = {"text", "email", "password", "search", "tel", "url", "number", "date", "radio", "checkbox", "file"}


@dataclass
class _Page:
    ids: list[str] = field(default_factory=list)
    references: list[tuple[str, str]] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    inputs: list[dict[str, str]] = field(default_factory=list)
    h1_texts: list[str] = field(default_factory=list)
    title: str = ""
    html_attrs: dict[str, str] = field(default_factory=dict)
    styles: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = _Page()
        self.stack: list[str] = []
        self.in_title = False
        self.h1_depth = 0
        self.h1_buffer: list[str] = []
        self.label_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        page = self.page
        if tag == "html":
            page.html_attrs = a
        if "id" in a:
            page.ids.append(a["id"])
        if "style" in a:
            page.problems.append(f"inline style attribute on <{tag}> (the CSP forbids it)")
        if any(k.startswith("on") for k in a):
            page.problems.append(f"inline event handler on <{tag}>")
        if tag == "script" and "src" not in a:
            page.problems.append("inline <script> (the CSP forbids it)")
        if tag == "style":
            self.page.styles.append("")
        for attr in ("aria-describedby", "aria-labelledby", "aria-controls"):
            for ref in a.get(attr, "").split():
                page.references.append((attr, ref))
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                page.label_for.add(a["for"])
                page.references.append(("label for", a["for"]))
        if tag == "a" and a.get("href", "").startswith("#") and len(a["href"]) > 1:
            page.references.append(("link", a["href"][1:]))
        if tag in ("input", "textarea", "select"):
            kind = a.get("type", "text") if tag == "input" else tag
            if kind in LABELLED_INPUTS or tag != "input":
                a["_in_label"] = "1" if self.label_depth else ""
                a["_tag"] = tag
                page.inputs.append(a)
        if tag == "title":
            self.in_title = True
        if tag == "h1":
            self.h1_depth += 1
            self.h1_buffer = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if tag == "label":
            self.label_depth -= 1
        if tag == "title":
            self.in_title = False
        if tag == "h1":
            self.h1_depth -= 1
            self.page.h1_texts.append(" ".join("".join(self.h1_buffer).split()))
        while self.stack and self.stack[-1] != tag and self.stack[-1] in OPTIONAL_END:
            self.stack.pop()
        if not self.stack or self.stack[-1] != tag:
            self.page.problems.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.page.styles[-1] += data
        if self.in_title:
            self.page.title += data
        if self.h1_depth:
            self.h1_buffer.append(data)


def _norm(text: str) -> str:
    return " ".join(text.split())


def check_html(html: str, csp: str = "") -> list[str]:
    """Return the problems found in a page (an empty list when it is fine).

    A <style> element is fine only when ``csp`` (the page's Content-Security-Policy) lets exactly
    its text apply, by its SHA-256 hash.
    """
    parser = _Parser()
    parser.feed(html)
    parser.close()
    page = parser.page
    problems = list(page.problems)
    for style in page.styles:
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        if f"'sha256-{digest}'" not in csp:
            problems.append("<style> element whose hash the CSP does not allow (the browser would ignore it)")
    leftover = [t for t in parser.stack if t not in OPTIONAL_END]
    if leftover:
        problems.append(f"unclosed elements: {leftover}")
    if not html.lstrip().lower().startswith("<!doctype html>"):
        problems.append("no <!doctype html>")
    if not page.html_attrs.get("lang"):
        problems.append("<html> has no lang")
    if page.html_attrs.get("dir") not in ("ltr", "rtl"):
        problems.append("<html> has no dir")
    if len(page.h1_texts) != 1:
        problems.append(f"expected exactly one <h1>, found {len(page.h1_texts)}")
    else:
        title, h1 = _norm(page.title), page.h1_texts[0]
        if not h1:
            problems.append("the <h1> is empty")
        elif not (title.startswith(h1) or re.sub(r"^\S+:\s*", "", title).startswith(h1)):
            problems.append(f"title {title!r} does not start with the h1 {h1!r}")
    seen: set[str] = set()
    for ident in page.ids:
        if ident in seen:
            problems.append(f"duplicate id {ident!r}")
        seen.add(ident)
    for kind, ref in page.references:
        if ref not in seen:
            problems.append(f"{kind} points at missing id {ref!r}")
    for attrs in page.inputs:
        if attrs.get("type") == "hidden":
            continue
        labeled = attrs.get("id") in page.label_for or attrs.get("aria-label") or attrs.get("aria-labelledby") or attrs["_in_label"]
        if not labeled:
            problems.append(f"<{attrs['_tag']} name={attrs.get('name')!r}> has no label")
    return problems


def check_headers(headers) -> list[str]:
    problems = []
    csp = headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy header")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append("CSP allows unsafe-inline or unsafe-eval")
    if "frame-ancestors 'none'" not in csp:
        problems.append("CSP lacks frame-ancestors 'none'")
    if "default-src 'none'" not in csp or "script-src 'self'" not in csp:
        problems.append("CSP lacks default-src 'none' or script-src 'self'")
    if headers.get("X-Frame-Options") != "DENY":
        problems.append("X-Frame-Options is not DENY")
    if headers.get("Referrer-Policy") != "same-origin":
        problems.append("Referrer-Policy is not same-origin")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    return problems


def check_page(response) -> None:
    problems = check_headers(response.headers) + check_html(
        response.get_data(as_text=True), response.headers.get("Content-Security-Policy", "")
    )
    if problems:
        raise AssertionError(
            f"{response.request.method} {response.request.path} -> {response.status_code}:\n  "
            + "\n  ".join(problems)
        )
