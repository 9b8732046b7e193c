"""Drive simulated residents through complete surveys under gunicorn and count what was stored.

    .venv/bin/python bench/load_survey.py [--residents 50] [--seconds 20] [--postgres URL]

For SQLite and (when a URL is given or the default server answers) PostgreSQL: start the app with
the repo's gunicorn.conf.py (2 workers), send N concurrent residents (threads, http.client, only
127.0.0.1) through full surveys for a bounded time, print completed surveys per second and p50/p99
latency per page, then the same for a bare Flask endpoint served by the same gunicorn setup, and
check that stored responses equal the confirmation pages seen.
Goals: survey request rate at least half the bare endpoint's, p99 under 100 ms at 50 residents,
zero lost or duplicated responses.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import os
import runpy
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from flask import Flask, render_template, request
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect
from jinja2 import Template

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.databases import throwaway_postgres  # noqa: E402 - after the path is set
from tests.reliability.harness import LANGUAGES, Deployment, Failed, Gunicorn, Resident, Tally  # noqa: E402

bare_app = Flask("bare")

# The shipped config decides threads (SURVEY_THREADS); the benchmark fixes 2 workers.
_THREADS = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["threads"]
_SHAPE = "2 sync workers" if _THREADS == 1 else f"2 workers x {_THREADS} threads"


@bare_app.get("/bare")
def bare() -> str:
    return "ok"


@bare_app.get("/healthz")
def healthz() -> str:
    return "ok"


# The least any page of ours must do, with the libraries the project requires and nothing of the
# app: Flask-Babel picks the language, Flask-WTF puts a CSRF token in a new signed session, and
# Jinja renders a few lines with two translated strings. A ceiling for what the survey could reach.
stack_app = Flask("stack")
stack_app.config["SECRET_KEY"] = "bench-only-" + "k" * 32
CSRFProtect(stack_app)
Babel(stack_app, locale_selector=lambda: request.accept_languages.best_match(["en", "es", "ar"]) or "en")
_STACK_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ _("Thank you") }}</title></head>
<body><form method="post"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button type="submit">{{ _("Continue") }}</button></form></body></html>"""


@functools.cache
def _stack_template() -> Template:
    return stack_app.jinja_env.from_string(_STACK_PAGE)  # compiled once, as a template file would be


@stack_app.get("/stack")
def stack_page() -> str:
    return render_template(_stack_template(), lang=str(get_locale()))


stack_app.add_url_rule("/healthz", view_func=healthz)


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (0 for any that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICK


def _family(pid: int) -> list[int]:
    """A process and its children (gunicorn's master and workers)."""
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return found


def _database_pids() -> list[int]:
    """PostgreSQL server processes on this machine (their CPU is the database's share)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds of the app server, the database server and this client over a measured span."""

    def __init__(self, server_pid: int) -> None:
        self.server, self.db = _family(server_pid), _database_pids()
        self.start = (_cpu_seconds(self.server), _cpu_seconds(self.db), time.process_time())

    def report(self, requests: int) -> str:
        app, dbase, client = (_cpu_seconds(self.server) - self.start[0], _cpu_seconds(self.db) - self.start[1],
                              time.process_time() - self.start[2])
        per = 1000 / max(requests, 1)
        return (f"CPU per request: app server {app * per:.2f} ms, database server {dbase * per:.2f} ms, "
                f"simulated clients {client * per:.2f} ms")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_survey(label: str, database_url: str, residents: int, seconds: float, pause: float = 0.0) -> tuple[float, float]:
    """Residents answer with invitation codes for ``seconds``; returns (request rate, thank-you page rate)."""
    with tempfile.TemporaryDirectory() as tmp:
        deployment = Deployment(database_url, Path(tmp))
        deployment.seed(residents * 200)
        server = Gunicorn(deployment, Path(tmp) / "gunicorn.log")
        server.start()
        port_of = lambda: server.port  # noqa: E731 - the harness asks for the port per request
        # Warm up both workers (templates compiled, translations and instrument loaded), untimed.
        warm_tally = Tally()
        warm = [threading.Thread(target=Resident(port_of, warm_tally, "en").survey, args=(deployment,),
                                 kwargs={"use_code": True}) for _ in range(8)]
        for t in warm:
            t.start()
        for t in warm:
            t.join(timeout=60)
        warmed = len(warm_tally.invitation_surveys)
        tally = Tally()
        timings: dict[str, list[float]] = defaultdict(list)
        stop_at = time.time() + seconds

        def work(n: int) -> None:
            resident = Resident(port_of, tally, LANGUAGES[n % len(LANGUAGES)], timings=timings, pause=pause)
            while time.time() < stop_at:
                try:
                    if resident.survey(deployment, use_code=True) is None:
                        return  # no codes left
                except Failed as exc:
                    with tally.lock:
                        tally.failures[exc.kind] += 1

        started = time.time()
        meter = CpuMeter(server.proc.pid)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(residents)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 60)
        elapsed = time.time() - started
        cpu = meter.report(tally.requests)
        # The same server, one of its pages that needs no database (the thank-you page): the cost
        # of the app's own frame (session, CSRF token, language, headers, base template).
        page_rate, page_times, page_cpu = hammer(server, "/survey/done", residents, min(seconds, 10))
        server.stop()

        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM response")).scalar()
            used = conn.execute(text("SELECT count(*) FROM invitation WHERE used")).scalar()
        engine.dispose()
        done = len(tally.invitation_surveys)
        everything = [t for v in timings.values() for t in v]
        print(f"\n== {label}: {residents} concurrent residents for {elapsed:.1f} s (gunicorn, {_SHAPE})")
        print(f"completed surveys: {done} ({done / elapsed:.1f}/s), failed or cut off: {sum(tally.failures.values())}"
              + (f" {dict(tally.failures)}" if tally.failures else ""))
        print(f"requests: {tally.requests} ({tally.requests / elapsed:.0f}/s), all pages p50 {_percentile(everything, .5):.1f} ms"
              f" p99 {_percentile(everything, .99):.1f} ms")
        print(cpu)
        print(f"{'request':24} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for name, values in timings.items():
            print(f"{name:24} {len(values):6d} {_percentile(values, .5):8.1f} {_percentile(values, .99):8.1f}")
        seen = done + warmed
        print(f"stored responses: {stored}, codes used: {used}, confirmation pages seen: {seen}"
              f" (incl. {warmed} warm-up surveys) -> "
              + ("no loss, no duplicates" if stored == used == seen else "MISMATCH"))
        print(f"reference, the app's thank-you page alone (no database), {residents} clients: {page_rate:.0f}/s,"
              f" p50 {_percentile(page_times, .5):.1f} ms p99 {_percentile(page_times, .99):.1f} ms; {page_cpu}")
        return tally.requests / elapsed, page_rate


def hammer(server: Gunicorn, path: str, clients: int, seconds: float) -> tuple[float, list[float], str]:
    """GET one path from ``clients`` threads without pause; returns the rate, latencies and CPU line."""
    timings: list[float] = []
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def work() -> None:
        local = []
        while time.time() < stop_at:
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", path, headers={"Connection": "close"})
            conn.getresponse().read()
            conn.close()
            local.append(time.perf_counter() - start)
        with lock:
            timings.extend(local)

    started = time.time()
    meter = CpuMeter(server.proc.pid)
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = time.time() - started
    return len(timings) / elapsed, timings, meter.report(len(timings))


def run_reference(app_spec: str, path: str, title: str, residents: int, seconds: float) -> float:
    """Hammer one page of a small app in ``bench/`` under the same gunicorn setup; print and return its rate."""
    with tempfile.TemporaryDirectory() as tmp:
        server = Gunicorn(None, Path(tmp) / "gunicorn.log", app_spec=app_spec, pythonpath=(ROOT / "bench",))
        server.start()
        try:
            rate, timings, cpu = hammer(server, path, residents, seconds)
        finally:
            server.stop()
    print(f"\n== {title}, same gunicorn setup ({_SHAPE}), {residents} concurrent clients for {seconds:.1f} s")
    print(f"requests: {len(timings)} ({rate:.0f}/s), p50 {_percentile(timings, .5):.1f} ms p99 {_percentile(timings, .99):.1f} ms")
    print(cpu)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="an admin URL on a server where a throwaway database may be created ('' to skip)")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds each resident spends on a page before asking for the next (default 0: no pause,"
                             " the saturation test the goal is about)")
    args = parser.parse_args()
    residents = min(args.residents, 200)
    seconds = min(args.seconds, 120)

    def ratios(rate: float, page_rate: float) -> None:
        print(f"survey request rate / bare endpoint rate: {rate / bare:.2f} (goal at least 0.5)"
              + ("" if args.pause else f"; the app's thank-you page alone / bare: {page_rate / bare:.2f}"))

    bare = run_reference("load_survey:bare_app", "/bare", "bare Flask endpoint", residents, seconds)
    stack = run_reference("load_survey:stack_app", "/stack", "the required stack alone (Flask-Babel, Flask-WTF's"
                          " CSRF token in a signed session, a 4-line Jinja page)", residents, min(seconds, 10))
    print(f"the required stack alone / bare endpoint: {stack / bare:.2f} (no page of the app can do better)")
    with tempfile.TemporaryDirectory() as tmp:
        ratios(*run_survey("SQLite", f"sqlite:///{Path(tmp) / 'load.sqlite3'}", residents, seconds, args.pause))
    if args.postgres:
        url, drop = throwaway_postgres(args.postgres, "survey_bench")
        try:
            ratios(*run_survey("PostgreSQL", url, residents, seconds, args.pause))
        finally:
            drop()


if __name__ == "__main__":
    main()
