"""Lighthouse (mobile) scores of the resident and public pages, served by gunicorn with the demo.

    npm install -g lighthouse@12          # once; Node 18+ and Debian's chromium
    .venv/bin/python bench/lighthouse.py [--lang ar] [--per-wave 2500] [--runs 3] [--keep DIR] [--priority]

Loads the demo into a throwaway SQLite database, starts the shipped gunicorn configuration on a
free local port, and runs Lighthouse's four categories (performance, accessibility, best
practices, SEO) on the home page, the survey start page, a survey page, the complaint form, the
complaint status page, the public results and the public complaint data. The survey page and the
complaint status page need a session: the script gets one as a resident would (an access code,
a filed complaint and its receipt code) and hands its cookies to Lighthouse as a header. Every
page is fetched three times first, so both workers have compiled their templates and the results
cache is filled (the first visit to the results page after new responses computes its tables).
Nothing leaves 127.0.0.1. Performance depends on the machine: with --runs N each page is measured
N times (in rounds, so a burst of load elsewhere touches every page alike) and the median is printed
with the lowest and highest score and the median of each performance metric; --keep DIR keeps every
Lighthouse JSON report for a look at its diagnostics. Lighthouse turns the main thread's tasks, as
long as they took on this machine, into blocking time; on a machine shared with other jobs their
tasks stretch ours. --priority runs Lighthouse and its Chromium at nice -10 (root only) so that
the figures say more about the pages and less about the neighbors.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = {"FCP": "first-contentful-paint", "LCP": "largest-contentful-paint", "TBT": "total-blocking-time",
           "CLS": "cumulative-layout-shift", "SI": "speed-index"}
CHROME = os.environ.get("CHROME_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(folder: Path, per_wave: int) -> tuple[dict[str, str], list[str]]:
    from survey import create_app, migrate
    from survey.db import db
    from survey.demo import load_demo
    from survey.i18n import KNOWN

    env = {"SURVEY_DATABASE_URL": f"sqlite:///{folder / 'lighthouse.sqlite3'}",
           "SURVEY_SECRET_KEY": secrets.token_urlsafe(32), "SURVEY_CODE_HASH_KEY": secrets.token_urlsafe(32),
           "SURVEY_COMPLAINT_KEY_FILE": str(folder / "complaint_keys"), "SURVEY_LANGUAGES": ",".join(KNOWN),
           "SURVEY_RESULTS_CACHE_DIR": str(folder / "results-cache"), "SURVEY_ENV": "development",
           "SURVEY_WORKERS": "2"}
    migrate.upgrade(env["SURVEY_DATABASE_URL"])
    app = create_app({key[len("SURVEY_"):]: value for key, value in env.items()
                      if key not in ("SURVEY_ENV", "SURVEY_WORKERS", "SURVEY_LANGUAGES")}
                     | {"LANGUAGES": list(KNOWN)})
    with app.app_context():
        result = load_demo(per_wave=per_wave, echo=lambda _line: None)
        codes = list(result.codes)
        db.session.commit()
    app.extensions["survey.db"]["engine"].dispose()
    return env, codes


class Resident:
    """A browser-like client: keeps cookies, sends the form's CSRF token, never follows redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    def post(self, path: str, form_path: str, data: dict[str, str]) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', self.get(form_path)).group(1)
        body = urllib.parse.urlencode({**data, "csrf_token": token}).encode()
        try:
            self.opener.open(urllib.request.Request(self.base + path, data=body))
        except urllib.error.HTTPError as redirect:
            if redirect.code != 303:
                raise
            return redirect.headers["Location"]
        raise RuntimeError(f"POST {path} did not redirect")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _lighthouse(url: str, out: Path, cookie: str | None, priority: bool = False):
    command = [*(["nice", "-n", "-10"] if priority else []), "lighthouse", url, "--quiet", "--output=json", f"--output-path={out}", "--form-factor=mobile",
               f"--only-categories={','.join(CATEGORIES)}",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking"]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    for attempt in (1, 2):  # Lighthouse now and then fails to record a trace (NO_NAVSTART): once more
        done = subprocess.run(command, check=attempt == 2, env={**os.environ, "CHROME_PATH": CHROME}, timeout=180)
        if done.returncode == 0:
            break
    report = json.loads(out.read_text())
    failed = [f"{a['id']}" for a in report["audits"].values()
              if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") in ("binary", "numeric")
              and any(a["id"] in [r["id"] for r in c["auditRefs"] if r.get("weight", 0) > 0]
                      for c in report["categories"].values())]
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    metrics = {short: report["audits"][audit]["numericValue"] for short, audit in METRICS.items()}
    return scores, metrics, failed


def _spread(values: list[int]) -> str:
    median = round(statistics.median(values))
    return f"{median}" if min(values) == max(values) else f"{median} ({min(values)}-{max(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", default="en", help="the language the pages are shown in")
    parser.add_argument("--per-wave", type=int, default=2500, help="demo responses per published wave")
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page (the median is printed)")
    parser.add_argument("--keep", type=Path, help="a folder to keep every Lighthouse JSON report in")
    parser.add_argument("--priority", action="store_true", help="run Lighthouse and Chromium at nice -10 (root)")
    args = parser.parse_args()
    if not shutil.which("lighthouse"):
        sys.exit("lighthouse is not installed: npm install -g lighthouse@12")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, codes = _seed(folder, args.per_wave)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
             "wsgi:app"], cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz")
                    break
                except OSError:
                    time.sleep(0.2)
            survey = Resident(base)
            survey.post("/language", "/", {"lang": args.lang, "next": "/"})
            first_page = survey.post("/survey/", "/survey/", {"code": codes[0]})
            complaint = Resident(base)
            complaint.post("/language", "/", {"lang": args.lang, "next": "/"})
            complaint.post("/complaints/new", "/complaints/new",
                           {"categories": "conduct", "narrative": "He shouted at me on Main Street.",
                            "contact_method": "none"})
            receipt = re.search(r'<p class="code"[^>]*>([A-Z0-9-]+)</p>', complaint.get("/complaints/receipt")).group(1)
            complaint.post("/complaints/follow-up", "/complaints/follow-up", {"code": receipt})
            visitor = Resident(base)
            visitor.post("/language", "/", {"lang": args.lang, "next": "/"})
            pages = [("home", "/", visitor), ("survey start", "/survey/", visitor),
                     ("survey page", urllib.parse.urlsplit(first_page).path, survey),
                     ("complaint form", "/complaints/new", visitor),
                     ("complaint status", "/complaints/status", complaint),
                     ("public results", "/results/", visitor), ("complaint data", "/complaints/data", visitor)]
            # Measure the steady state: every worker has compiled its templates and the results
            # cache holds the published waves' tables and charts, as on a site that is in use.
            for _round in range(3):
                for _name, path, who in pages:
                    who.get(path)
                for measure in ("trust", "safety"):
                    visitor.get(f"/results/chart/{measure}.svg")
            print(f"Lighthouse 12, mobile, gunicorn (2 workers), demo with {args.per_wave} responses a wave, "
                  f"language {args.lang}, {args.runs} run(s) a page, median (lowest-highest)"
                  + (", Lighthouse at nice -10" if args.priority else ""))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
            runs: dict[str, list] = {name: [] for name, _path, _who in pages}
            for run in range(1, args.runs + 1):
                for name, path, who in pages:
                    out = (args.keep or folder) / f"{name.replace(' ', '-')}-{args.lang}-{run}.json"
                    runs[name].append(_lighthouse(base + path, out, who.cookie_header(), args.priority))
            print(f"{'page':18}" + "".join(f"{c:>16}" for c in CATEGORIES) + "".join(f"{m:>7}" for m in METRICS))
            for name, results in runs.items():
                failed = sorted({audit for _scores, _metrics, below in results for audit in below})
                print(f"{name:18}"
                      + "".join(f"{_spread([scores[c] for scores, _m, _f in results]):>16}" for c in CATEGORIES)
                      + "".join(f"{statistics.median(metrics[m] for _s, metrics, _f in results):>7.{2 if m == 'CLS' else 0}f}"
                                for m in METRICS)
                      + (f"   below 1: {', '.join(failed)}" if failed else ""))
            print(f"{'':18}{'':64}   FCP, LCP, TBT, SI in ms (simulated), CLS unitless; medians")
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
