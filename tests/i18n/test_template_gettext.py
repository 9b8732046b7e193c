"""``_()`` in templates keeps Jinja's new-style gettext rules while calling the catalog directly."""

from __future__ import annotations

import jinja2.ext
from flask import render_template_string
from flask_babel import force_locale

from survey import _request_translations


def _render(app, source: str, lang: str = "en", **context) -> str:
    with app.test_request_context(), force_locale(lang):
        return render_template_string(source, **context)


def test_variables_are_escaped_and_the_translation_is_not(app):
    page = _render(app, '{{ _("Thank you: your answers have been sent") }}|{{ _("%(x)s!", x=value) }}',
                   value="<b>&")
    assert page == "Thank you: your answers have been sent|&lt;b&gt;&amp;!"


def test_the_text_is_translated_in_the_request_language(app):
    assert _render(app, '{{ _("Thank you: your answers have been sent") }}', "es") == _render(
        app, '{{ gettext("Thank you: your answers have been sent") }}', "es"
    )
    assert _render(app, '{{ _("Language") }}', "es") != "Language"


def test_a_percent_sign_is_a_format_string_even_without_variables(app):
    # Jinja's new-style rule: %% is % whether or not variables are given.
    assert _render(app, '{{ _("100%% sure") }}') == "100% sure"


def test_same_output_as_jinjas_own_new_style_gettext(app):
    """Every template string of the thank-you page, rendered both ways, in three languages."""
    source = ('{{ _("Thank you: your answers have been sent") }} {{ _("What happens next") }} '
              '{{ _("When the survey closes, %(agency)s publishes the results for everyone to see, with the '
              'answers of all residents put together.", agency=name) }} {{ _("Skip to main content") }}')
    env = app.jinja_env
    ours = {"_": env.globals["_"], "gettext": env.globals["gettext"]}
    theirs = jinja2.ext._make_new_gettext(lambda s: _request_translations().ugettext(s))
    for lang in ("en", "es", "ar"):
        fast = _render(app, source, lang, name="A & B <PD>")
        env.globals.update({"_": jinja2.ext._gettext_alias, "gettext": theirs})
        try:
            slow = _render(app, source, lang, name="A & B <PD>")
        finally:
            env.globals.update(ours)
        assert fast == slow, lang
        assert "A &amp; B &lt;PD&gt;" in fast
