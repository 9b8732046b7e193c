"""The application shell: configuration, languages, page structure, headers, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey import create_app
from survey.config import ConfigError, from_environment


@pytest.mark.parametrize(
    ("accept", "lang", "direction", "h1"),
    [
        ("en-US,en;q=0.9", "en", "ltr", "Have your say about policing in Testville"),
        ("es-MX,es;q=0.9", "es", "ltr", None),
        ("ar-EG,ar;q=0.9", "ar", "rtl", None),
        ("de-DE", "en", "ltr", "Have your say about policing in Testville"),
    ],
)
def test_home_page_language_comes_from_the_browser(client, agency, accept, lang, direction, h1):
    response = client.get("/", headers={"Accept-Language": accept})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{lang}" dir="{direction}">' in html
    if h1:
        assert f"<h1>{h1}</h1>" in html
    else:
        assert "Have your say about policing" not in html, "the page was not translated"


def test_explicit_choice_beats_the_browser_and_returns_to_the_page(client, agency):
    response = client.post("/language", data={"lang": "ar", "next": "/privacy"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/privacy")
    html = client.get("/privacy", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
def test_language_switch_never_redirects_off_site(client, agency, target):
    response = client.post("/language", data={"lang": "es", "next": target})
    assert response.headers["Location"] == "/"


def test_unknown_language_is_refused(client, agency):
    assert client.post("/language", data={"lang": "xx"}).status_code == 400


def test_language_switcher_names_each_language_in_itself(client, agency):
    html = client.get("/").get_data(as_text=True)
    for native in ("English", "Español", "العربية"):
        assert native in html
    assert 'lang="ar" dir="rtl">العربية</button>' in html


@pytest.mark.parametrize("path", ["/", "/privacy", "/survey/", "/complaints/", "/staff/sign-in", "/no-such-page", "/static/site.css", "/healthz"])
def test_security_headers_on_every_response(client, agency, path):
    response = client.get(path)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_flags(client, agency):
    response = client.post("/language", data={"lang": "es", "next": "/"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(("lang", "text"), [("en", "Page not found"), ("es", None), ("ar", None)])
def test_error_pages_speak_the_visitors_language(client, agency, lang, text):
    response = client.get("/missing", headers={"Accept-Language": lang})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    if text:
        assert text in html
    else:
        assert "Page not found" not in html


def test_oversized_body_gets_413(client, agency, app):
    response = client.post("/language", data={"lang": "es", "next": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413


def test_csrf_is_required_when_enabled(database_url, tmp_path, agency):
    from tests.conftest import make_test_app

    app = make_test_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    response = app.test_client().post("/language", data={"lang": "es", "next": "/"})
    app.extensions["survey.db"]["engine"].dispose()
    assert response.status_code == 400
    assert "session has expired" in response.get_data(as_text=True)


def test_database_outage_shows_a_try_again_page(tmp_path, monkeypatch):
    from tests.conftest import make_test_app

    app = make_test_app("sqlite:////nonexistent-dir/none.sqlite3", tmp_path)
    response = app.test_client().get("/")
    app.extensions["survey.db"]["engine"].dispose()
    assert response.status_code == 503
    assert "try again in a moment" in response.get_data(as_text=True)


def test_development_generates_secrets_into_the_instance_folder(tmp_path):
    config = from_environment(tmp_path, environ={})
    assert len(config["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == config["SECRET_KEY"]
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"
    # Stable across restarts.
    assert from_environment(tmp_path, environ={})["SECRET_KEY"] == config["SECRET_KEY"]


@pytest.mark.parametrize("key", [None, "short", "x" * 31])
def test_production_refuses_a_missing_or_weak_secret(tmp_path, key):
    environ = {"SURVEY_ENV": "production", "SURVEY_CODE_HASH_KEY": "k" * 40}
    if key is not None:
        environ["SURVEY_SECRET_KEY"] = key
    with pytest.raises(ConfigError, match="SURVEY_SECRET_KEY .*token_urlsafe"):
        from_environment(tmp_path, environ=environ)
    assert not (tmp_path / "secret_key").exists()


def test_production_starts_with_strong_secrets(tmp_path):
    environ = {"SURVEY_ENV": "production", "SURVEY_SECRET_KEY": "s" * 40, "SURVEY_CODE_HASH_KEY": "k" * 40}
    config = from_environment(tmp_path, environ=environ)
    assert config["SESSION_COOKIE_SECURE"] is True


def test_settings_come_from_the_environment(tmp_path):
    config = from_environment(
        tmp_path,
        environ={"SURVEY_LANGUAGES": "en,es", "SURVEY_DEFAULT_LANGUAGE": "es", "SURVEY_SMALL_COUNT_THRESHOLD": "5",
                 "SURVEY_RETENTION_DAYS": "30", "SURVEY_DATABASE_URL": "sqlite:///x.db"},
    )
    assert config["LANGUAGES"] == ["en", "es"] and config["DEFAULT_LANGUAGE"] == "es"
    assert config["SMALL_COUNT_THRESHOLD"] == 5 and config["RETENTION_DAYS"] == 30
    assert config["DATABASE_URL"] == "sqlite:///x.db"


def test_a_bad_setting_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="SURVEY_DEFAULT_LANGUAGE"):
        from_environment(tmp_path, environ={"SURVEY_LANGUAGES": "en", "SURVEY_DEFAULT_LANGUAGE": "fr"})


def test_routes_cover_the_blueprints_of_the_design(app):
    blueprints = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules() if "." in rule.endpoint}
    assert {"public", "respond", "complaints", "staff"} <= blueprints


def test_staff_pages_require_sign_in(client, agency):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "/staff/sign-in?next=/staff/" in response.headers["Location"]


def test_staff_sign_in_and_out(client, sign_in):
    sign_in("analyst", name="Ana Lyst")
    assert "Ana Lyst" in client.get("/staff/").get_data(as_text=True)
    client.post("/staff/sign-out")
    assert client.get("/staff/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, make_staff):
    user = make_staff("analyst")
    response = client.post("/staff/sign-in", data={"email": user.email, "password": "wrong"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error:" in html and "not right" in html


def test_wsgi_module_builds_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SURVEY_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    app = create_app({"SECRET_KEY": "s" * 40, "CODE_HASH_KEY": "k" * 40})
    assert app.name == "survey"
    assert Path(app.instance_path).exists()


def test_development_server_log_lines_keep_no_address_time_or_query():
    import logging

    from survey import _ScrubClientAddress

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1,
                               '203.0.113.77 - - [25/Nov/2026 12:00:01] "%s" %s %s',
                               ("GET /survey/start?code=ABCDE HTTP/1.1", "302", "-"), None)
    _ScrubClientAddress().filter(record)
    line = record.getMessage()
    assert line == '"GET /survey/start HTTP/1.1" 302 -'
