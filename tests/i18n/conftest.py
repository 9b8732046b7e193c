"""The resident and public pages in every known language, rendered once per session on a demo
database (SQLite: what is checked here is text, not storage)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.residentpages import demo_app, tour


@pytest.fixture(scope="session")
def tour_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = demo_app(tmp_path_factory.mktemp("tour"))
    yield app
    app.extensions["survey.db"]["engine"].dispose()


@pytest.fixture(scope="session")
def tours(tour_app: Flask) -> dict[str, dict[str, str]]:
    """``tours[lang]``: page name -> HTML, each language walked once when first asked for."""

    class Tours(dict):
        def __missing__(self, lang: str) -> dict[str, str]:
            self[lang] = tour(tour_app, lang)
            return self[lang]

    return Tours()
