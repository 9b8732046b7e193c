"""gunicorn settings shipped with the platform: never log a client address or a query string."""

import multiprocessing
import os

bind = os.environ.get("SURVEY_BIND", "127.0.0.1:5000")
# Plain (sync) workers, one request at a time each, behind a reverse proxy that buffers slow
# clients. Every request is short (a survey page costs 1-2 ms of CPU), so threads only add GIL
# hand-offs: with 2 workers x 4 threads the survey load benchmark ran about 15% slower and its p99
# was twice as long as with 2 sync workers (bench/README.md). Extra workers cover the moments a
# request waits on the database; each holds at most one database connection.
workers = int(os.environ.get("SURVEY_WORKERS", min(9, multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("SURVEY_THREADS", "1"))
timeout = 30
graceful_timeout = 20
# No access log by default: a log line for "POST /survey/submit" is itself the exact time of a
# resident's answer once a log collector stamps it. If one is needed for debugging, set
# SURVEY_ACCESS_LOG=- and it records only method, path without query string, status, size and
# duration: never %(h)s (address), %(a)s (user agent), %(r)s/%(q)s (query string) or %(t)s.
accesslog = os.environ.get("SURVEY_ACCESS_LOG") or None
access_log_format = '%(m)s %(U)s %(s)s %(B)s %(M)sms'
errorlog = "-"
# The app itself believes X-Forwarded-For/-Proto only from SURVEY_TRUSTED_PROXIES (survey/security.py);
# gunicorn is told the same list, so that neither layer trusts a peer the other does not.
forwarded_allow_ips = os.environ.get("SURVEY_TRUSTED_PROXIES", "")
limit_request_line = 8190
