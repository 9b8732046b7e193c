"""The agency's name, city and address in each language (``flask agency set --lang``)."""

from __future__ import annotations

from survey import context
from tests.pagetext import text_of


def _set(runner, *args: str):
    result = runner.invoke(args=["agency", "set", "--slug", "testville", *args])
    return result


def test_a_language_shows_its_own_name_city_and_address(app, runner, client, agency, monkeypatch):
    monkeypatch.setattr(context, "AGENCY_CACHE_SECONDS", 0.0)
    result = _set(runner, "--lang", "ar", "--name", "شرطة تستفيل", "--city", "تستفيل", "--address", "١٠٠ الشارع الرئيسي")
    assert result.exit_code == 0, result.output
    client.post("/language", data={"lang": "ar", "next": "/"})
    page = text_of(client.get("/"))
    assert "شرطة تستفيل" in page and "Testville Police Department" not in page
    assert "تستفيل" in page
    # A language without its own texts shows the agency's own.
    client.post("/language", data={"lang": "es", "next": "/"})
    page = text_of(client.get("/"))
    assert "Testville Police Department" in page and "شرطة" not in page


def test_an_empty_value_removes_a_translation_and_other_settings_are_refused(app, runner, agency):
    assert _set(runner, "--lang", "es", "--name", "Policía de Testville").exit_code == 0
    assert "'name': 'Policía de Testville'" in _set(runner, "--lang", "es", "--city", "Testville").output
    assert _set(runner, "--lang", "es", "--name", "").output.endswith("in es: {'city': 'Testville'}\n")
    refused = _set(runner, "--lang", "es", "--phone", "555")
    assert refused.exit_code != 0 and "only --name, --city and --address" in refused.output
    refused = _set(runner, "--lang", "xx", "--name", "X")
    assert refused.exit_code != 0 and "--lang must be one this site offers" in refused.output
