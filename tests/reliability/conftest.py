"""Fixtures for the load, crash and outage tests: a seeded deployment per test on SQLite and,
when TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import backends, throwaway_postgres
from tests.reliability.harness import Deployment, scale


@pytest.fixture(params=backends())
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    residents, surveys, _complaints = scale()
    codes = residents * surveys + 20
    if request.param == "sqlite":
        dep = Deployment(f"sqlite:///{tmp_path / 'load.sqlite3'}", tmp_path)
        dep.seed(codes)
        yield dep
        return
    url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], "survey_rel")
    try:
        dep = Deployment(url, tmp_path)
        dep.seed(codes)
        yield dep
    finally:
        drop()
