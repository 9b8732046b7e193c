"""The app for bench_campaign.py: ``wsgi:app`` serving the agency BENCH_AGENCY names.

Until the campaign foundation (issue 18) reads the agency from each request's address, a
deployment's agency is the ``AGENCY`` setting, which no environment variable sets yet.
"""

import os

from survey import create_app

app = create_app({"AGENCY": os.environ["BENCH_AGENCY"]} if os.environ.get("BENCH_AGENCY") else None)
