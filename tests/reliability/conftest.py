"""Fixtures for the load, crash and outage tests: a seeded deployment per test on SQLite and,
when TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.harness import Deployment, postgres_database, scale


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=_backends())
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    residents, surveys, _complaints = scale()
    codes = residents * surveys + 20
    if request.param == "sqlite":
        dep = Deployment(f"sqlite:///{tmp_path / 'load.sqlite3'}", tmp_path)
        dep.seed(codes)
        yield dep
        return
    url, drop = postgres_database(os.environ["TEST_DATABASE_URL"])
    try:
        dep = Deployment(url, tmp_path)
        dep.seed(codes)
        yield dep
    finally:
        drop()
