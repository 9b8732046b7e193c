"""Languages: the list we know, how a visitor's language is chosen, and which are right-to-left."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from babel import Locale, UnknownLocaleError, support
from flask import current_app, g, has_request_context, request, session
from flask_babel import Babel, Domain, get_locale


@dataclass(frozen=True)
class Language:
    code: str
    native: str  # the language's name in itself, for the switcher
    english: str
    rtl: bool = False

    @property
    def tag(self) -> str:
        """The BCP 47 tag for ``lang`` attributes (see :func:`html_lang`)."""
        return html_lang(self.code)

    @property
    def dir(self) -> str:
        """``rtl`` or ``ltr`` (see :func:`direction`)."""
        return direction(self.code)


#: Every language the platform knows how to present; SURVEY_LANGUAGES picks those offered.
KNOWN: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "English"),
        Language("es", "Español", "Spanish"),
        Language("zh_Hans", "简体中文", "Chinese (Simplified)"),
        Language("zh_Hant", "繁體中文", "Chinese (Traditional)"),
        Language("tl", "Tagalog", "Tagalog"),
        Language("vi", "Tiếng Việt", "Vietnamese"),
        Language("ar", "العربية", "Arabic", rtl=True),
        Language("fr", "Français", "French"),
        Language("ko", "한국어", "Korean"),
        Language("ru", "Русский", "Russian"),
        Language("ht", "Kreyòl ayisyen", "Haitian Creole"),
        Language("pt", "Português", "Portuguese"),
    )
}
RTL = frozenset(code for code, lang in KNOWN.items() if lang.rtl)


def offered_codes() -> list[str]:
    """The languages offered here: the request's agency's own choice among the deployment's."""
    languages_of_agency = current_app.extensions.get("survey.agency_languages")
    if languages_of_agency is not None and has_request_context():
        return languages_of_agency()
    return current_app.config["LANGUAGES"]


def offered() -> list[Language]:
    return [KNOWN[code] for code in offered_codes() if code in KNOWN]


def html_lang(code: str) -> str:
    """The BCP 47 tag for ``<html lang>`` (Babel's ``zh_Hans`` is ``zh-Hans``)."""
    return code.replace("_", "-")


def direction(code: str) -> str:
    return "rtl" if code in RTL else "ltr"


def select_locale() -> str:
    """An explicit choice (kept in the session), else the browser's Accept-Language, else the default."""
    g.lang_code = _choose()
    return g.lang_code


def _choose() -> str:
    codes = offered_codes()
    chosen = session.get("lang")
    if chosen in codes:
        return chosen
    # Werkzeug matches "es-MX" to "es"; tags are compared with dashes.
    tags = {html_lang(c): c for c in codes}
    best = request.accept_languages.best_match(list(tags), default=None)
    if best:
        return tags[best]
    default = current_app.config["DEFAULT_LANGUAGE"]
    return default if default in codes or not codes else codes[0]


def current_code() -> str | None:
    """Our code for the language of this request (Babel may name it otherwise: tl is 'fil')."""
    return g.get("lang_code")


def language_name(code: str, in_language: str) -> str:
    """A language's name in another language ("es" in English: "Spanish"), for staff pages;
    the English name (or the code) when the locale data has none."""
    try:
        display = Locale.parse(in_language)
        name = display.languages.get(code) or Locale.parse(code).get_display_name(display)
    except (UnknownLocaleError, ValueError, TypeError):
        name = None
    if not name:
        known = KNOWN.get(code)
        return known.english if known else code
    return name[:1].upper() + name[1:]


#: Our code for each language under the name Babel gives its locale: Babel parses "tl" as
#: Filipino ("fil_PH"), so Flask-Babel alone would look for translations/fil, find nothing and
#: show English under <html lang="tl">.
_FOLDER_OF_LOCALE = {str(Locale.parse(code)): code for code in KNOWN}


def catalog_folder(locale: Locale | None) -> str:
    """The translations/ folder that holds the catalog of ``locale``."""
    name = str(locale) if locale is not None else "en"
    return _FOLDER_OF_LOCALE.get(name, name)


class Catalogs(Domain):
    """Flask-Babel's message domain, loading each language's catalog from the folder of our code."""

    def get_translations(self) -> Any:
        if not g:
            return support.NullTranslations()
        folder = catalog_folder(get_locale())
        key = (folder, self.domain[0])
        found = self.cache.get(key)
        if found is None:
            found = support.Translations()
            for index, directory in enumerate(self.translation_directories):
                domain = self.domain[0] if len(self.domain) == 1 else self.domain[index]
                catalog = support.Translations.load(directory, [folder], domain)
                found.merge(catalog)
                if hasattr(catalog, "plural"):  # merge() does not copy the plural rule
                    found.plural = catalog.plural
            self.cache[key] = found
        return found


class SurveyBabel(Babel):
    """Flask-Babel whose default domain finds every catalog by our language code."""

    @cached_property
    def domain_instance(self) -> Catalogs:
        return Catalogs(domain=self.domain)
