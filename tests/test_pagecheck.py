"""The page checker must be able to fail: each broken page below is caught."""

from __future__ import annotations

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
    ],
)
def test_each_problem_is_caught(broken, problem):
    assert any(problem in p for p in check_html(broken)), check_html(broken)
