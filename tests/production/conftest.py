"""The production stack (gunicorn in production mode behind nginx with TLS) per database backend.

Without nginx the tests are skipped with a reason on a developer's machine; in CI (``CI`` set),
where `.ci/run` installs nginx, a missing nginx fails them instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import backends, throwaway_postgres
from tests.production.stack import NGINX, Stack, add_staff, serve_behind_tls
from tests.reliability.harness import Deployment


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
            if NGINX is None and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason="nginx is not installed (apt-get install nginx-light)"))
    _mark_browser_tests(items)


def stack_for(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, *,
              workers: int = 2, codes: int = 40) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp(f"prod-{request.param}")
    drop = None
    if request.param == "sqlite":
        deployment = Deployment(f"sqlite:///{folder / 'survey.sqlite3'}", folder)
    else:
        url, drop = throwaway_postgres(os.environ["TEST_DATABASE_URL"], "survey_prod")
        deployment = Deployment(url, folder)
    try:
        deployment.seed(codes)
        add_staff(deployment)
        with serve_behind_tls(deployment, folder / "stack", request.param, workers=workers) as stack:
            yield stack
    finally:
        if drop is not None:
            drop()


@pytest.fixture(scope="module", params=backends())
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from stack_for(request, tmp_path_factory)


# The browser tests here drive the same Chromium as tests/browser/, with its launch arguments and
# its check that no page asks any host but this machine.
from tests.browser.conftest import (  # noqa: E402,F401
    CHROMIUM,
    browser_type_launch_args,
    no_third_party_requests,
)


def _mark_browser_tests(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM:
                item.add_marker(pytest.mark.skip(reason="no Chromium found (install Debian's chromium)"))
