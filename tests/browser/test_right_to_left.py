"""In Arabic, what the pages isolate left to right is drawn left to right by the browser: each
character of a code, phone number or figure stands to the right of the one before it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import set_language

#: The x position of every character of every left-to-right isolate in <main>, in text order.
_POSITIONS = """() => [...document.querySelectorAll('main bdi[dir=ltr]')].map(b => {
  const t = b.firstChild, xs = [];
  for (let i = 0; i < t.textContent.length; i++) {
    const r = document.createRange(); r.setStart(t, i); r.setEnd(t, i + 1);
    xs.push(r.getBoundingClientRect().x);
  }
  return [t.textContent, xs];
})"""


@pytest.mark.parametrize("path", ["/complaints/", "/complaints/follow-up"])
def test_isolated_runs_read_left_to_right_in_arabic(page, path):
    page.goto("/")
    set_language(page, "ar")
    page.goto(path)
    runs = page.evaluate(_POSITIONS)
    assert runs, f"nothing isolated on {path}"
    for text, xs in runs:
        assert xs == sorted(xs), f"{text!r} is drawn out of order on {path}: {xs}"


def test_the_check_sees_an_unisolated_number_turned_around(page):
    page.goto("/")
    page.set_content('<html lang="ar" dir="rtl"><meta charset="utf-8"><main><p>اتصل 555-0100، شكرًا</p></main></html>')
    xs = page.evaluate("""() => { const t = document.querySelector('p').firstChild, s = t.textContent, i = s.indexOf('555');
      const at = k => { const r = document.createRange(); r.setStart(t, k); r.setEnd(t, k + 1); return r.getBoundingClientRect().x; };
      return [at(i), at(i + 4)]; }""")
    assert xs[0] > xs[1], "without isolation, 0100 is drawn left of 555"
