"""Helpers for complaint tests: filing through the form, following up with a receipt code."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.pagetext import receipt_code


@pytest.fixture
def file_complaint(client: FlaskClient, agency) -> Callable[..., str]:
    """``file_complaint(categories=["force"], narrative="...")`` files through the web form and
    returns the receipt code from the receipt page."""

    def do(**data) -> str:
        data.setdefault("contact_method", "none")
        response = client.post("/complaints/new", data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        assert response.headers["Location"].endswith("/complaints/receipt")
        page = client.get("/complaints/receipt")
        return receipt_code(page.get_data(as_text=True))

    return do


@pytest.fixture
def follow(client: FlaskClient) -> Callable[[str], str]:
    """Enter a receipt code and return the status page's HTML."""

    def do(code: str) -> str:
        response = client.post("/complaints/follow-up", data={"code": code})
        assert response.status_code == 303, response.get_data(as_text=True)[:1000]
        assert code not in response.headers["Location"]
        return client.get("/complaints/status").get_data(as_text=True)

    return do
