"""Benchmark: the staff console's Compare page and the public results page under gunicorn.

Loads the demo agency at the report benchmark's size (12 waves of 5,000 responses in 10
districts: 11 closed and published, the 12th open with 5,000 responses too), runs
`flask results-warm` as `make run` does (each wave's own results computed once), serves the app
with the shipped gunicorn.conf.py and 2 workers, signs in as the demo analyst and times, beside
the plain dashboard page measured in the same run:

- Compare of all 12 waves, first view (the waves' results are cached, their comparison is not);
- Compare, warm (the median of five more views);
- Compare after one new response in the open wave (the median of three rounds);
- the public results page, first view and warm.

Goals on a 2-core machine: first view and after-a-new-response view at most 1 s, warm at most
0.2 s, public first view at most 0.3 s. `--cold` also times Compare with an empty cache.

    .venv/bin/python bench/bench_console.py [--waves 12] [--per-wave 5000] [--districts 10] [--cold]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.reliability.harness import Gunicorn  # noqa: E402

GOALS = {"compare first view": 1.0, "compare warm": 0.2, "compare after a new response": 1.0, "public first view": 0.3}


class Deployment:
    """Environment for the app: one SQLite database and a results cache in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.database_url = f"sqlite:///{folder / 'bench.sqlite3'}"

    def env(self) -> dict[str, str]:
        return {"SURVEY_DATABASE_URL": self.database_url, "SURVEY_SECRET_KEY": "bench-" + "s" * 40,
                "SURVEY_CODE_HASH_KEY": "bench-" + "h" * 40, "SURVEY_COMPLAINT_KEY_FILE": str(self.folder / "keys"),
                "SURVEY_RESULTS_CACHE_DIR": str(self.folder / "cache"), "SURVEY_ENV": "development",
                "FLASK_APP": "wsgi"}


def load(dep: Deployment, waves: int, per_wave: int, districts: int) -> None:
    import os

    os.environ.update(dep.env())
    from survey import create_app, migrate
    from survey.db import db
    from survey.demo import load_demo

    migrate.upgrade(dep.database_url)
    app = create_app({"DATABASE_URL": dep.database_url})
    populations = {f"District {k + 1}": 12000 + 3000 * (k % 4) for k in range(districts)}
    with app.app_context():
        load_demo(per_wave=per_wave, past_waves=waves - 1, districts=populations, open_responses=per_wave,
                  echo=lambda _line: None)
        db.session.commit()


def add_response(dep: Deployment) -> None:
    """One more response in the open wave (a copy of one of its answers sets), as a resident's submit makes."""
    import sqlite3

    from survey.models import random_id

    con = sqlite3.connect(dep.database_url.removeprefix("sqlite:///"))
    with con:
        wave_id, = con.execute("SELECT id FROM wave ORDER BY opens_on DESC LIMIT 1").fetchone()
        src = con.execute("SELECT id, stratum, language, channel, selection_probability FROM response "
                          "WHERE wave_id = ? LIMIT 1", (wave_id,)).fetchone()
        rid = random_id()
        con.execute("INSERT INTO response (id, wave_id, stratum, language, channel, selection_probability, submitted_on) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", (rid, wave_id, *src[1:], dt.date.today().isoformat()))
        con.execute("INSERT INTO answer (response_id, item_key, ordinal, code, text) "
                    "SELECT ?, item_key, ordinal, code, text FROM answer WHERE response_id = ?", (rid, src[0]))
    con.close()


class Browser:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[float, str]:
        start = time.perf_counter()
        with self.opener.open(self.base + path, timeout=300) as response:
            body = response.read().decode()
        return time.perf_counter() - start, body

    def sign_in(self, email: str, password: str) -> None:
        _t, page = self.get("/staff/sign-in")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": password}).encode()
        with self.opener.open(urllib.request.Request(self.base + "/staff/sign-in", data=data), timeout=60) as response:
            body = response.read().decode()
        if "Sign out" not in body:
            raise RuntimeError("could not sign in as the demo analyst")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=12)
    parser.add_argument("--per-wave", type=int, default=5000)
    parser.add_argument("--districts", type=int, default=10)
    parser.add_argument("--cold", action="store_true", help="also time Compare with an empty results cache")
    parser.add_argument("--keep", type=Path, help="load into this folder and keep it; reuse it when it is already loaded")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-console-"))
    folder.mkdir(parents=True, exist_ok=True)
    server = None
    try:
        dep = Deployment(folder)
        if not (folder / "bench.sqlite3").exists():
            t0 = time.perf_counter()
            load(dep, args.waves, args.per_wave, args.districts)
            print(f"demo: {args.waves} waves x {args.per_wave:,} responses, {args.districts} districts "
                  f"({time.perf_counter() - t0:.0f} s, not counted)")
        else:
            print(f"demo: reusing {folder}")
        flask = [str(Path(sys.executable).parent / "flask")]
        env = {**__import__("os").environ, **dep.env()}
        t0 = time.perf_counter()
        subprocess.run([*flask, "results-warm"], cwd=ROOT, env=env, check=True, capture_output=True)
        print(f"flask results-warm: {time.perf_counter() - t0:.1f} s (once, after loading; not counted)")
        # First views must put the waves together: forget every comparison (and report) a run made.
        for stale in [*(folder / "cache").glob("compare-*"), *(folder / "cache").glob("report-*")]:
            stale.unlink()
        server = Gunicorn(dep, folder / "gunicorn.log")
        server.start(timeout=120)
        browser = Browser(server.port)
        browser.sign_in("analyst@riverton.example", "demo-password-2026")
        _t, page = browser.get("/staff/compare/")
        slugs = re.findall(r'name="waves" value="([^"]+)"', page)
        query = "/staff/compare/?" + urllib.parse.urlencode([("waves", s) for s in slugs])
        dashboard = [browser.get("/staff/")[0] for _ in range(5)]
        rows: list[tuple[str, float]] = []
        rows.append(("compare first view", browser.get(query)[0]))
        rows.append(("compare warm", statistics.median(browser.get(query)[0] for _ in range(5))))
        after = []
        for _ in range(3):
            add_response(dep)
            after.append(browser.get(query)[0])
        rows.append(("compare after a new response", statistics.median(after)))
        public = Browser(server.port)
        rows.append(("public first view", public.get("/results/")[0]))
        rows.append(("public warm", statistics.median(public.get("/results/")[0] for _ in range(5))))
        dashboard += [browser.get("/staff/")[0] for _ in range(5)]
        plain = statistics.median(dashboard)
        print(f"\n{'page':>30}  {'seconds':>8}  {'x dashboard':>11}  goal")
        print(f"{'dashboard (median of 10)':>30}  {plain:8.3f}  {1:11.1f}")
        for name, secs in rows:
            goal = GOALS.get(name)
            verdict = "" if goal is None else f"<= {goal:.1f} s {'met' if secs <= goal else 'NOT met'}"
            print(f"{name:>30}  {secs:8.3f}  {secs / plain:11.1f}  {verdict}")
        if args.cold:
            # Nothing cached: every wave is built from the database. Longer than gunicorn's
            # 30 s worker timeout at full size, which is why `make run` and deployments warm the cache.
            shutil.rmtree(folder / "cache")
            server.stop()
            server.start(timeout=120)
            browser = Browser(server.port)
            browser.sign_in("analyst@riverton.example", "demo-password-2026")
            start = time.perf_counter()
            try:
                print(f"{'compare, empty cache':>30}  {browser.get(query)[0]:8.3f}")
            except urllib.error.HTTPError as exc:
                print(f"{'compare, empty cache':>30}  failed after {time.perf_counter() - start:.1f} s (HTTP {exc.code})")
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
