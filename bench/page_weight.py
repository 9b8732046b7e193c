"""Print the weight of every resident survey page: HTML and CSS bytes, raw and gzip-compressed.

    .venv/bin/python bench/page_weight.py

Goal: at most 14 KB compressed per page including its stylesheet (the first TCP round trip),
and no JavaScript needed to answer. Runs the app in-process on a throwaway SQLite database.
"""

from __future__ import annotations

import gzip
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET = 14 * 1024


def main() -> None:
    from survey import create_app
    from survey.i18n import KNOWN
    from tests.reliability.harness import Deployment

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        deployment = Deployment(f"sqlite:///{folder / 'weight.sqlite3'}", folder)
        deployment.seed(3)
        codes = deployment.codes
        # Every language offered: the switcher in each page's footer lists them all.
        app = create_app({**deployment.config(), "LANGUAGES": list(KNOWN), "WTF_CSRF_ENABLED": False})
        client = app.test_client()
        css = client.get("/static/site.css").data
        css_gz = len(gzip.compress(css, 9))
        pages: list[tuple[str, bytes]] = []

        def record(label: str, path: str) -> bytes:
            body = client.get(path).data
            pages.append((label, body))
            return body

        for lang, code in zip(("en", "es", "ar"), codes, strict=True):
            client.post("/language", data={"lang": lang, "next": "/survey/"})
            record(f"{lang} start", "/survey/")
            pages.append((f"{lang} start, bad code", client.post("/survey/", data={"code": "ABCDE-FGHJK-MNPQR"}).data))
            path = client.post("/survey/", data={"code": code}).headers["Location"]
            while "/survey/q/" in path:
                key_ = path.rsplit("/", 1)[1]
                body = record(f"{lang} page {key_}", path)
                assert b"<script" not in body, "a resident page needs JavaScript"
                if key_ == "contact-any":
                    pages.append((f"{lang} page contact-any, error", client.post(path, data={"contact_any": ["1", "9"]}).data))
                path = client.post(path, data={"contact_any": "1"} if key_ == "contact-any" else {}).headers["Location"]
            record(f"{lang} done", path)
        record("code used (last language)", "/survey/code-used")
        app.extensions["survey.db"]["engine"].dispose()

    print(f"stylesheet site.css: {len(css):6d} B raw, {css_gz:5d} B gzip")
    print(f"{'page':32} {'html raw':>9} {'html gz':>8} {'+css gz':>8}  budget 14 KB")
    worst = 0
    for label, body in pages:
        gz = len(gzip.compress(body, 9))
        total = gz + css_gz
        worst = max(worst, total)
        scripts = len(re.findall(rb"<script", body))
        print(f"{label:32} {len(body):9d} {gz:8d} {total:8d}  {'ok' if total <= BUDGET else 'OVER'}"
              + (f"  ({scripts} scripts)" if scripts else ""))
    print(f"heaviest page with its stylesheet: {worst} B gzip ({worst / 1024:.1f} KB of 14 KB); JavaScript: none")


if __name__ == "__main__":
    main()
