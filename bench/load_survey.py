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
import http.client
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tests.databases import throwaway_postgres  # noqa: E402 - after the path is set

bare_app = Flask("bare")


@bare_app.get("/bare")
def bare() -> str:
    return "ok"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gunicorn(app_spec: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {**os.environ, **env, "SURVEY_BIND": f"127.0.0.1:{port}", "SURVEY_WORKERS": "2"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
         "--pythonpath", f"{ROOT},{ROOT / 'bench'}", app_spec],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz" if app_spec.startswith("wsgi") else "/bare")
            conn.getresponse().read()
            return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start; run it by hand with the same settings to see why")


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


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


class Resident:
    """One phone: its own connection and cookies; walks the survey like a browser without JS."""

    def __init__(self, port: int, timings: dict[str, list[float]], lock: threading.Lock, pause: float = 0.0) -> None:
        self.port, self.timings, self.lock, self.pause = port, timings, lock, pause
        self.rng = random.Random(id(self))  # noqa: S311 - think times, not secrets
        self.cookies: dict[str, str] = {}

    def request(self, label: str, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        # A new connection per request, as behind a reverse proxy: the kernel spreads them over
        # the workers (kept-alive connections would all stick to whichever worker accepted them).
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "Connection": "close"}
        body = None
        if self.pause and method == "GET":
            # Reading the page before asking for the next: real residents pause, and not in step
            # (equal pauses would send all of them at the same instant, a burst no real crowd makes).
            time.sleep(self.rng.uniform(0.5, 1.5) * self.pause)
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        elapsed = time.perf_counter() - start
        with self.lock:
            self.timings[label].append(elapsed)
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        location = response.headers.get("Location", "")
        return response.status, text, re.sub(r"^https?://[^/]+", "", location)

    def survey(self, code: str) -> bool:
        """Answer a whole survey; True when the confirmation page was seen."""
        self.cookies.clear()
        status, html, _ = self.request("GET start", "GET", "/survey/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        status, _, path = self.request("POST code", "POST", "/survey/", {"code": code, "csrf_token": token})
        if status != 303:
            return False
        while path.startswith("/survey/q/"):
            key = path.rsplit("/", 1)[1]
            status, html, _ = self.request(f"GET {key}", "GET", path)
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            form: dict[str, object] = {"csrf_token": token}
            for name in dict.fromkeys(re.findall(r'type="radio"[^>]*name="([a-z_]+)"', html)):
                form[name] = "2"
            if key == "contact-any":
                form["contact_any"] = ["1", "4"]
            if "top_issue" in html:
                form["top_issue"] = "Speeding"
            status, _, path = self.request(f"POST {key}", "POST", path, form)
            if status != 303:
                return False
        if path == "/survey/done":
            status, html, _ = self.request("GET done", "GET", path)
            return status == 200 and "Thank you" in html
        return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_survey(label: str, database_url: str, residents: int, seconds: float, pause: float = 0.0) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        from page_weight import seed

        key = secrets.token_urlsafe(32)
        codes = seed(database_url, key, residents * 200, instance=Path(tmp))
        env = {"SURVEY_DATABASE_URL": database_url, "SURVEY_CODE_HASH_KEY": key,
               "SURVEY_SECRET_KEY": secrets.token_urlsafe(32), "SURVEY_COMPLAINT_KEY_FILE": str(Path(tmp) / "keys"),
               "SURVEY_ENV": "development", "SURVEY_LANGUAGES": "en,es,ar"}
        proc, port = _start_gunicorn("wsgi:app", env)
        timings: dict[str, list[float]] = defaultdict(list)
        lock = threading.Lock()
        # Warm up both workers (templates compiled, translations and instrument loaded), untimed.
        warm_codes = codes[-8:]
        del codes[-8:]
        warm = [threading.Thread(target=Resident(port, defaultdict(list), lock).survey, args=(c,)) for c in warm_codes]
        for t in warm:
            t.start()
        for t in warm:
            t.join(timeout=60)
        warmed = len(warm_codes)
        done = [0]
        failed = [0]
        pool = iter(codes)
        stop_at = time.time() + seconds

        def work() -> None:
            resident = Resident(port, timings, lock, pause)
            while time.time() < stop_at:
                with lock:
                    code = next(pool, None)
                if code is None:
                    return
                try:
                    ok = resident.survey(code)
                except Exception:  # noqa: BLE001 - counted as a failure
                    ok = False
                with lock:
                    done[0] += ok
                    failed[0] += not ok

        started = time.time()
        meter = CpuMeter(proc.pid)
        threads = [threading.Thread(target=work) for _ in range(residents)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 60)
        elapsed = time.time() - started
        cpu = meter.report(sum(len(v) for v in timings.values()))
        # The same server, one of its pages that needs no database (the thank-you page): the cost
        # of the app's own frame (session, CSRF token, language, headers, base template).
        page_rate, page_times, page_cpu = hammer(proc, port, "/survey/done", residents, min(seconds, 10))
        _stop(proc)

        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM response")).scalar()
            used = conn.execute(text("SELECT count(*) FROM invitation WHERE used_on IS NOT NULL")).scalar()
        engine.dispose()
        requests = sum(len(v) for v in timings.values())
        everything = [t for v in timings.values() for t in v]
        print(f"\n== {label}: {residents} concurrent residents for {elapsed:.1f} s (gunicorn, 2 workers x 4 threads)")
        print(f"completed surveys: {done[0]} ({done[0] / elapsed:.1f}/s), failed or cut off: {failed[0]}")
        print(f"requests: {requests} ({requests / elapsed:.0f}/s), all pages p50 {_percentile(everything, .5):.1f} ms"
              f" p99 {_percentile(everything, .99):.1f} ms")
        print(cpu)
        print(f"{'request':24} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for name, values in timings.items():
            print(f"{name:24} {len(values):6d} {_percentile(values, .5):8.1f} {_percentile(values, .99):8.1f}")
        seen = done[0] + warmed
        print(f"stored responses: {stored}, codes used: {used}, confirmation pages seen: {seen}"
              f" (incl. {warmed} warm-up surveys) -> "
              + ("no loss, no duplicates" if stored == used == seen else "MISMATCH"))
        print(f"reference, the app's thank-you page alone (no database), {residents} clients: {page_rate:.0f}/s,"
              f" p50 {_percentile(page_times, .5):.1f} ms p99 {_percentile(page_times, .99):.1f} ms; {page_cpu}")
        return requests / elapsed, page_rate


def hammer(proc: subprocess.Popen, port: int, path: str, clients: int, seconds: float) -> tuple[float, list[float], str]:
    """GET one path from ``clients`` threads without pause; returns the rate, latencies and CPU line."""
    timings: list[float] = []
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def work() -> None:
        local = []
        while time.time() < stop_at:
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Connection": "close"})
            conn.getresponse().read()
            conn.close()
            local.append(time.perf_counter() - start)
        with lock:
            timings.extend(local)

    started = time.time()
    meter = CpuMeter(proc.pid)
    threads = [threading.Thread(target=work) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = time.time() - started
    return len(timings) / elapsed, timings, meter.report(len(timings))


def run_bare(residents: int, seconds: float) -> float:
    proc, port = _start_gunicorn("load_survey:bare_app", {})
    try:
        rate, timings, cpu = hammer(proc, port, "/bare", residents, seconds)
    finally:
        _stop(proc)
    print(f"\n== bare Flask endpoint, same gunicorn setup, {residents} concurrent clients for {seconds:.1f} s")
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

    bare = run_bare(residents, seconds)
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
