"""The page checker must be able to fail: each broken page below is caught."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.pagecheck import check_html

GOOD = """<!doctype html><html lang="en" dir="ltr"><head><title>Hello – Site</title></head>
<body><main><h1>Hello</h1><form><label for="a">A</label><input id="a" name="a"></form></main></body></html>"""


def test_a_good_page_passes():
    assert check_html(GOOD) == []


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (GOOD.replace(' lang="en"', ""), "no lang"),
        (GOOD.replace(' dir="ltr"', ""), "no dir"),
        (GOOD.replace("<h1>Hello</h1>", "<h1>Hello</h1><h1>Again</h1>"), "exactly one"),
        (GOOD.replace("<title>Hello", "<title>Other"), "does not start with the h1"),
        (GOOD.replace('<label for="a">A</label>', ""), "has no label"),
        (GOOD.replace('<input id="a"', '<input id="b" aria-describedby="zz"'), "missing id"),
        (GOOD.replace("<main>", '<main><p id="a">x</p>'), "duplicate id"),
        (GOOD.replace("</main>", ""), "unexpected </body>"),
        (GOOD.replace("<main>", '<main style="color:red">'), "inline style"),
        (GOOD.replace("<main>", "<main><script>alert(1)</script>"), "inline <script>"),
        (
            GOOD.replace("</title>", "</title><style>h1{color:red}</style>"),
            "<style> element whose hash",
        ),
    ],
)
def test_each_problem_is_caught(broken, problem):
    assert any(problem in p for p in check_html(broken)), check_html(broken)


STYLED = GOOD.replace("</title>", "</title><style>h1{color:red}</style>")
STYLED_HASH = (
    "'sha256-" + base64.b64encode(hashlib.sha256(b"h1{color:red}").digest()).decode() + "'"
)


def test_a_style_element_passes_only_under_its_own_hash():
    assert check_html(STYLED, f"default-src 'none'; style-src 'self' {STYLED_HASH}") == []
    assert check_html(STYLED.replace("color:red", "color:blue"), f"style-src {STYLED_HASH}")
    assert check_html(STYLED, "default-src 'none'; style-src 'self'")
