"""The deployment settings that the production shape depends on, each shown able to fail:
forwarding headers believed only from the configured proxies, forms from another site refused
over HTTPS while a same-site form with or without a Referer goes through, and interface catalogs
compiled at start (or the app refuses to start, naming the language)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, request

from survey import catalogs
from survey.config import ConfigError
from tests.conftest import ROOT, make_test_app


@pytest.fixture
def apps() -> Iterator[list[Flask]]:
    """Apps a test makes, their database connections closed afterwards."""
    made: list[Flask] = []
    yield made
    for app in made:
        app.extensions["survey.db"]["engine"].dispose()


def _echo_app(apps: list[Flask], database_url: str, tmp_path: Path, **overrides) -> Flask:
    app = make_test_app(database_url, tmp_path, **overrides)
    apps.append(app)

    @app.route("/__whoami", methods=["GET", "POST"])
    def whoami():
        return f"{request.remote_addr} {request.scheme}"

    return app


# ------------------------------------------------------------------ the client address


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        # No proxy configured (the default): the header is nobody's word.
        ("", "127.0.0.1", "198.51.100.7", "127.0.0.1 http"),
        # The configured proxy: the client it names, and the scheme it saw.
        ("127.0.0.1", "127.0.0.1", "198.51.100.7", "198.51.100.7 https"),
        ("10.0.0.0/24", "10.0.0.9", "198.51.100.7", "198.51.100.7 https"),
        # A client at another address forging the headers gains nothing.
        ("127.0.0.1", "203.0.113.5", "198.51.100.7", "203.0.113.5 http"),
        # A client that prepends a fake address through the proxy: the proxy's own entry counts.
        ("127.0.0.1", "127.0.0.1", "1.2.3.4, 198.51.100.7", "198.51.100.7 https"),
    ],
)
def test_forwarded_for_is_believed_only_from_trusted_proxies(apps, database_url, tmp_path, proxies, peer,
                                                            forwarded, expected):
    app = _echo_app(apps, database_url, tmp_path, TRUSTED_PROXIES=proxies)
    response = app.test_client().get(
        "/__whoami", environ_base={"REMOTE_ADDR": peer},
        headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"},
    )
    assert response.get_data(as_text=True) == expected


def test_trusted_proxies_setting_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="SURVEY_TRUSTED_PROXIES"):
        make_test_app("sqlite://", tmp_path, TRUSTED_PROXIES="not-an-address")


# ------------------------------------------------------------------ CSRF over HTTPS


@pytest.fixture
def https_form(apps, database_url, tmp_path):
    """A page with a real form, CSRF on, served as if behind the TLS proxy."""
    app = _echo_app(apps, database_url, tmp_path, TRUSTED_PROXIES="127.0.0.1", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    proxy = {"environ_base": {"REMOTE_ADDR": "127.0.0.1"},
             "headers": {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}}
    page = client.get("/complaints/new", **proxy)
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    def post(extra_headers: dict[str, str], with_token: bool = True):
        headers = {**proxy["headers"], **extra_headers}
        data = {"csrf_token": token} if with_token else {}
        return client.post("/__whoami", data=data, headers=headers, environ_base=proxy["environ_base"])

    return post


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://localhost"},
        {"Referer": "https://localhost/complaints/new"},
        {},  # a browser that sends neither: the token alone decides
        {"Origin": "null", "Referer": "https://localhost/complaints/new"},
    ],
)
def test_a_form_from_this_site_is_accepted_over_https(https_form, headers):
    response = https_form(headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://localhost"},  # the same host over plain HTTP is another origin
        {"Referer": "https://evil.example/page"},
        {"Origin": "https://evil.example", "Referer": "https://localhost/complaints/new"},
    ],
)
def test_a_form_from_another_site_is_refused_even_with_a_token(https_form, headers):
    response = https_form(headers)
    assert response.status_code == 400
    assert "Your session has expired" in response.get_data(as_text=True)


def test_a_form_without_its_token_is_refused(https_form):
    assert https_form({"Origin": "https://localhost"}, with_token=False).status_code == 400


def test_no_page_sends_a_referrer_to_another_site(client, agency):
    response = client.get("/")
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in response.get_data(as_text=True)


# ------------------------------------------------------------------ compiled catalogs


@pytest.fixture
def sources(tmp_path) -> Path:
    """A copy of the catalog sources without any compiled catalog."""
    folder = tmp_path / "translations"
    shutil.copytree(ROOT / "translations", folder, ignore=shutil.ignore_patterns("*.mo"))
    return folder


def test_catalogs_are_compiled_at_start_and_used(apps, database_url, agency, tmp_path, sources):
    assert not list(sources.glob("*/LC_MESSAGES/*.mo"))
    app = make_test_app(database_url, tmp_path,
                        BABEL_TRANSLATION_DIRECTORIES=str(sources), LANGUAGES=["en", "es", "ar"])
    apps.append(app)
    assert (sources / "es/LC_MESSAGES/messages.mo").exists()
    assert (sources / "ar/LC_MESSAGES/messages.mo").exists()
    assert not (sources / "fr/LC_MESSAGES/messages.mo").exists()  # not offered, not compiled
    page = app.test_client().get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="es"' in page
    assert "Ir al contenido principal" in page and "Skip to main content" not in page


def test_an_outdated_catalog_is_compiled_again(sources):
    catalogs.ensure_compiled(sources, ["es"])
    mo = sources / "es/LC_MESSAGES/messages.mo"
    old = time.time() - 3600
    os.utime(mo, (old, old))
    assert catalogs.ensure_compiled(sources, ["es"]) == ["es"]
    assert catalogs.ensure_compiled(sources, ["es"]) == []  # now current: left alone


def test_production_refuses_a_language_without_a_catalog(tmp_path, sources):
    shutil.rmtree(sources / "ko")
    with pytest.raises(ConfigError, match="'ko'"):
        make_test_app("sqlite://", tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(sources), LANGUAGES=["en", "ko"])


def test_refuses_to_start_when_an_outdated_catalog_cannot_be_written(tmp_path, sources):
    # A folder where the compiled file should go: writing it fails even for root.
    po = sources / "vi/LC_MESSAGES/messages.po"
    blocker = po.with_suffix(".mo")
    (blocker / "x").mkdir(parents=True)
    old = po.stat().st_mtime - 3600
    os.utime(blocker, (old, old))
    with pytest.raises(ConfigError, match="'vi'"):
        make_test_app("sqlite://", tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(sources), LANGUAGES=["en", "vi"])
