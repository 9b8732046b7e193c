"""Reading pages the way the tests need them: text without tags, checked inputs, the receipt
code, the complaint History table. Shared by test modules, which import from here rather than
from one another."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser

#: The receipt code as the receipt page shows it (also read by the reliability harness).
RECEIPT = re.compile(r'<p class="code"[^>]*>([A-Z0-9-]+)</p>')


def text_of(response) -> str:
    """The page's text with tags removed and whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html_lib.unescape(body).split())


def checked(html: str, name: str) -> list[str]:
    """The values of the checked inputs called ``name`` on a page."""
    found = []
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and " checked" in tag:
            found.append(re.search(r'value="([^"]*)"', tag).group(1))
    return found


def receipt_code(html: str) -> str:
    match = RECEIPT.search(html)
    assert match, "no receipt code on the page"
    return match.group(1)


class _HistoryTable(HTMLParser):
    """The caption and the cell texts of each body row of ``<table class="history">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.caption = ""
        self.rows: list[list[str]] = []
        self._in_table = self._in_body = self._in_caption = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("class", "history") in attrs:
            self._in_table = True
        elif self._in_table and tag == "caption":
            self._in_caption = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = self._in_body = False
        elif tag == "caption":
            self._in_caption = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self.caption += data
        elif self._cell is not None:
            self._cell.append(data)


def history(html: str) -> _HistoryTable:
    table = _HistoryTable()
    table.feed(html)
    assert table.caption, "no history table on the page"
    return table
