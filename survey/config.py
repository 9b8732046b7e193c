"""Settings from the environment (prefix SURVEY_), with safe defaults for a single machine."""

from __future__ import annotations

import os
import secrets
import zoneinfo
from pathlib import Path
from typing import Any

import pytz  # comes with Flask-Babel, which looks the zone up in it

#: The smallest secret key we accept in production (Indico refuses shorter than 16; we ask more).
MIN_SECRET_LENGTH = 32

DEFAULT_LANGUAGES = "en,es,zh_Hans,zh_Hant,tl,vi,ar,fr,ko,ru,ht,pt"


class ConfigError(RuntimeError):
    """The app cannot start with these settings; the message says how to fix them."""


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _timezone(name: str) -> str:
    """Check an IANA time zone name against both databases the app uses: the standard library's
    (the agency's calendar day) and pytz's (Flask-Babel's times on staff pages)."""
    if name != "UTC":  # the default needs no time zone database
        try:
            zoneinfo.ZoneInfo(name)
            pytz.timezone(name)
        except (LookupError, ValueError, OSError):
            raise ConfigError(
                f"SURVEY_TIMEZONE={name!r} is not a time zone name. Use the IANA name of the agency's "
                "time zone, for example 'America/Chicago' or 'America/New_York' (the default is UTC)."
            ) from None
    return name


def _instance_secret(instance_path: Path, name: str, nbytes: int = 32) -> str:
    """Read a secret from the instance folder, creating it on first use (development only)."""
    path = instance_path / name
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    # Owner-only permissions: the file is a key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value


def from_environment(
    instance_path: Path, environ: dict[str, str] | None = None, provided: Any = None
) -> dict[str, Any]:
    """Build the Flask config mapping from SURVEY_* environment variables.

    In production (``SURVEY_ENV=production``) every secret must come from the environment and
    be strong; in development missing secrets are generated into the instance folder.
    """
    env = dict(os.environ if environ is None else environ)

    def get(name: str, default: str) -> str:
        return env.get(f"SURVEY_{name}", default)

    mode = get("ENV", "development")
    if mode not in {"development", "production"}:
        raise ConfigError(f"SURVEY_ENV must be 'development' or 'production', not {mode!r}.")
    production = mode == "production"

    provided = provided or {}
    keys: dict[str, str] = {}
    for setting, env_name, file_name in (
        ("SECRET_KEY", "SECRET_KEY", "secret_key"),
        ("CODE_HASH_KEY", "CODE_HASH_KEY", "code_hash_key"),
    ):
        value = provided.get(setting) or env.get(f"SURVEY_{env_name}", "")
        if production:
            if len(value) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    f"SURVEY_{env_name} is missing or shorter than {MIN_SECRET_LENGTH} characters. "
                    "Set it to a long random value, for example the output of "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
        elif not value:
            value = _instance_secret(instance_path, file_name)
        keys[setting] = value

    default_db = f"sqlite:///{instance_path / 'survey.sqlite3'}"
    if "DATABASE_URL" in provided:
        default_db = provided["DATABASE_URL"]
    languages = provided.get("LANGUAGES") or [
        code.strip() for code in get("LANGUAGES", DEFAULT_LANGUAGES).split(",") if code.strip()
    ]
    default_language = provided.get("DEFAULT_LANGUAGE") or get("DEFAULT_LANGUAGE", "en")
    if default_language not in languages:
        raise ConfigError(
            f"SURVEY_DEFAULT_LANGUAGE={default_language!r} is not in SURVEY_LANGUAGES ({', '.join(languages)})."
        )

    # The agency's time zone: which calendar day a complaint or response falls on, and how staff
    # pages show times. One deployment serves one agency, so it is one setting for the process.
    timezone = _timezone(provided.get("TIMEZONE") or get("TIMEZONE", "UTC").strip())

    try:
        small_count = int(get("SMALL_COUNT_THRESHOLD", "10"))
        results_min_n = int(get("RESULTS_MIN_N", "50"))
        retention_days = int(get("RETENTION_DAYS", "365"))
        max_upload = int(get("MAX_CONTENT_LENGTH", str(256 * 1024)))
    except ValueError as exc:
        raise ConfigError(f"A numeric SURVEY_ setting is not a whole number: {exc}") from None

    return {
        "ENV_MODE": mode,
        "SECRET_KEY": keys["SECRET_KEY"],
        "CODE_HASH_KEY": keys["CODE_HASH_KEY"],
        "COMPLAINT_KEY_FILE": get("COMPLAINT_KEY_FILE", str(instance_path / "complaint_keys")),
        "DATABASE_URL": get("DATABASE_URL", default_db),
        "LANGUAGES": languages,
        "DEFAULT_LANGUAGE": default_language,
        "TIMEZONE": timezone,
        "BABEL_DEFAULT_TIMEZONE": timezone,
        "SMALL_COUNT_THRESHOLD": small_count,
        "RESULTS_MIN_N": results_min_n,
        # Empty: instance/cache/results. Point several app servers at one shared folder if wanted.
        "RESULTS_CACHE_DIR": get("RESULTS_CACHE_DIR", ""),
        # Empty: instance/letters. Where a batch of invitation letters waits, encrypted, to be printed.
        "LETTERS_DIR": get("LETTERS_DIR", ""),
        "RETENTION_DAYS": retention_days,
        "INSTRUMENTS_DIR": get("INSTRUMENTS_DIR", str(Path(__file__).resolve().parent.parent / "instruments")),
        "PUBLIC_BASE_URL": get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "MAX_CONTENT_LENGTH": max_upload,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _bool(get("SECURE_COOKIES", "false")),
        "SESSION_COOKIE_NAME": "s",
        "PERMANENT_SESSION_LIFETIME": int(get("SESSION_MINUTES", "240")) * 60,
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own lifetime bounds it; a resident may be slow
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "TESTING": False,
    }
