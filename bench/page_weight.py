"""Print the weight of every resident survey page: HTML and CSS bytes, raw and gzip-compressed.

    .venv/bin/python bench/page_weight.py

Goal: at most 14 KB compressed per page including its stylesheet (the first TCP round trip),
and no JavaScript needed to answer. Runs the app in-process on a throwaway SQLite database.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET = 14 * 1024


def seed(database_url: str, code_hash_key: str, codes: int, *, instance: Path) -> list[str]:
    """Migrate, add an agency, the shipped instruments, an open wave and ``codes`` invitations."""
    from survey import create_app, migrate
    from survey.db import db
    from survey.instrument_store import sync_instruments
    from survey.models import Agency, InstrumentVersion, Wave, WaveMode, WaveStratum, today
    from survey.staff.invitations import generate

    migrate.upgrade(database_url)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_urlsafe(32),
                      "CODE_HASH_KEY": code_hash_key, "COMPLAINT_KEY_FILE": str(instance / "keys")})
    printed: list[str] = []
    with app.app_context():
        agency = Agency(slug="benchville", name="Benchville Police Department", city="Benchville", phone="555-0100")
        db.session.add(agency)
        db.session.flush()
        list(sync_instruments(agency, ROOT / "instruments"))
        day = today()
        wave = Wave(agency_id=agency.id, instrument_version_id=db.session.query(InstrumentVersion).first().id,
                    slug="bench", title="Bench wave", opens_on=day - dt.timedelta(days=1),
                    closes_on=day + dt.timedelta(days=30), mode=WaveMode.INVITATION,
                    languages=["en", "es", "ar"], accepted_draft_languages=["es", "ar"],
                    strata=[WaveStratum(name="North", population=5000), WaveStratum(name="South", population=5000)])
        db.session.add(wave)
        db.session.flush()
        for stratum, count in (("North", codes // 2), ("South", codes - codes // 2)):
            printed += [issued.code for issued in generate(wave, stratum, count, 0.05)]
        db.session.commit()
    app.extensions["survey.db"]["engine"].dispose()
    return printed


def main() -> None:
    from survey import create_app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'weight.sqlite3'}"
        key = secrets.token_urlsafe(32)
        codes = seed(url, key, 3, instance=folder)
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(32), "CODE_HASH_KEY": key,
                          "COMPLAINT_KEY_FILE": str(folder / "keys"), "WTF_CSRF_ENABLED": False})
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
