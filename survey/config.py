"""Settings from the environment (prefix SURVEY_), with safe defaults for a single machine."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytz  # comes with Flask-Babel, which looks the zone up in it

#: The smallest secret key we accept in production (Indico refuses shorter than 16; we ask more).
MIN_SECRET_LENGTH = 32

DEFAULT_LANGUAGES = "en,es,zh_Hans,zh_Hant,tl,vi,ar,fr,ko,ru,ht,pt"


class ConfigError(RuntimeError):
    """The app cannot start with these settings; the message says how to fix them."""


@dataclass(frozen=True)
class ThrottleRule:
    """One rate limit (see survey/throttle.py and SECURITY.md "Rate limits").

    At most ``per_address`` counted events from one client address and ``per_prefix`` from its
    network (IPv4 /24, IPv6 /64) in any ``window`` seconds (a sliding window). Sign-in also counts
    per account and address, and per account and prefix: that is what locks an account out, and
    only from where the wrong passwords came. 0 means no limit of that kind.
    """

    kind: str
    window: int
    per_address: int
    per_prefix: int
    per_account_address: int = 0
    per_account_prefix: int = 0


#: The throttled events and their defaults: (kind, environment name, window seconds, per address,
#: per prefix, per account and address, per account and prefix). Only failures count, except for
#: complaint filing, where every complaint sent counts.
THROTTLE_DEFAULTS = (
    ("access_code", "CODE", 600, 10, 50, 0, 0),  # wrong survey access codes
    ("receipt", "RECEIPT", 900, 10, 50, 0, 0),  # wrong complaint receipt codes
    ("complaint", "COMPLAINT", 86400, 10, 30, 0, 0),  # complaints filed
    ("signin", "SIGNIN", 900, 20, 50, 5, 10),  # failed staff sign-ins (password or code)
)


def throttle_rules(get: Any) -> dict[str, ThrottleRule]:
    """The rules from SURVEY_THROTTLE_<NAME>_{WINDOW_SECONDS,PER_ADDRESS,PER_PREFIX,...}."""
    rules = {}
    for kind, name, window, address, prefix, account_address, account_prefix in THROTTLE_DEFAULTS:
        fields = {"window": ("WINDOW_SECONDS", window), "per_address": ("PER_ADDRESS", address),
                  "per_prefix": ("PER_PREFIX", prefix)}
        if account_address:
            fields["per_account_address"] = ("PER_ACCOUNT_ADDRESS", account_address)
            fields["per_account_prefix"] = ("PER_ACCOUNT_PREFIX", account_prefix)
        values = {}
        for field_name, (suffix, default) in fields.items():
            env_name = f"THROTTLE_{name}_{suffix}"
            try:
                values[field_name] = int(get(env_name, str(default)))
            except ValueError:
                raise ConfigError(f"SURVEY_{env_name} must be a whole number (default {default}).") from None
            if values[field_name] < 0 or (field_name == "window" and values[field_name] < 1):
                raise ConfigError(f"SURVEY_{env_name} must be positive (default {default}).")
        rules[kind] = ThrottleRule(kind, **values)
    return rules


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose derived from a configured secret (HMAC-SHA256 of the purpose)."""
    return hmac.new(secret.encode(), f"survey key for {purpose}".encode(), hashlib.sha256).digest()


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


def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses or networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``), comma-separated."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(
            f"SURVEY_TRUSTED_PROXIES={text!r} is not a list of addresses or networks ({exc}). "
            "Give the addresses of the reverse proxies in front of the app, e.g. '127.0.0.1' or '10.0.0.0/24'."
        ) from None


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


def _benchmark_min_agencies(get: Any) -> int:
    """Benchmarks across the agencies of a campaign: a pooled or peer-group figure needs this many
    agencies besides the one looking (respondents: SMALL_COUNT_THRESHOLD, as on every page)."""
    try:
        value = int(get("BENCHMARK_MIN_AGENCIES", "5"))
    except ValueError:
        raise ConfigError("SURVEY_BENCHMARK_MIN_AGENCIES must be a whole number of agencies, e.g. 5.") from None
    if value < 1:
        raise ConfigError("SURVEY_BENCHMARK_MIN_AGENCIES must be at least 1 (default 5).")
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
        proxy_hops = int(get("PROXY_HOPS", "1"))
        staff_idle = int(get("STAFF_IDLE_MINUTES", "30"))
    except ValueError as exc:
        raise ConfigError(f"A numeric SURVEY_ setting is not a whole number: {exc}") from None
    # The public page withholds a model-based small-area estimate whose root mean squared error
    # (points on the 0-100 scale) is above this: too uncertain to be useful.
    try:
        area_max_rmse = float(get("AREA_MAX_RMSE", "5"))
    except ValueError:
        raise ConfigError("SURVEY_AREA_MAX_RMSE must be a number of points, e.g. 5.") from None
    if not area_max_rmse > 0:
        raise ConfigError("SURVEY_AREA_MAX_RMSE must be above 0.")

    # How a request finds its agency: "single" (one agency at today's addresses; SURVEY_AGENCY
    # names it when the database holds several), "path" (/a/<slug>/...) or "host" (the agency's
    # own host name; the campaign's pages on SURVEY_CAMPAIGN_HOST).
    addresses = get("AGENCY_ADDRESSES", "single").strip().lower()
    if addresses not in {"single", "path", "host"}:
        raise ConfigError(f"SURVEY_AGENCY_ADDRESSES must be 'single', 'path' or 'host', not {addresses!r}.")
    campaign_host = get("CAMPAIGN_HOST", "").strip().lower()
    if addresses == "host" and not campaign_host:
        raise ConfigError("SURVEY_AGENCY_ADDRESSES=host needs SURVEY_CAMPAIGN_HOST: the host name of the campaign's own pages.")

    return {
        "ENV_MODE": mode,
        "AGENCY": get("AGENCY", "").strip() or None,
        "AGENCY_ADDRESSES": addresses,
        "CAMPAIGN_HOST": campaign_host,
        "CAMPAIGN_NAME": get("CAMPAIGN_NAME", "Trust Building Campaign").strip(),
        # The name in other languages: SURVEY_CAMPAIGN_NAME_ES, SURVEY_CAMPAIGN_NAME_ZH_HANS...
        "CAMPAIGN_NAMES": {code: name.strip() for code in languages
                           if (name := get(f"CAMPAIGN_NAME_{code.upper()}", "")).strip()},
        "SECRET_KEY": keys["SECRET_KEY"],
        "CODE_HASH_KEY": keys["CODE_HASH_KEY"],
        # Throttle counters are keyed by an HMAC of the client address under this key: the same in
        # every worker and app server (so limits hold whatever their number), never the address.
        "THROTTLE_KEY": derive_key(keys["CODE_HASH_KEY"], "throttle counters"),
        "THROTTLE_RULES": throttle_rules(get),
        "STAFF_IDLE_MINUTES": staff_idle,
        "COMPLAINT_KEY_FILE": get("COMPLAINT_KEY_FILE", str(instance_path / "complaint_keys")),
        "DATABASE_URL": get("DATABASE_URL", default_db),
        "LANGUAGES": languages,
        "DEFAULT_LANGUAGE": default_language,
        "TIMEZONE": timezone,
        "BABEL_DEFAULT_TIMEZONE": timezone,
        "SMALL_COUNT_THRESHOLD": small_count,
        "RESULTS_MIN_N": results_min_n,
        "AREA_MAX_RMSE": area_max_rmse,
        # Empty: instance/cache/results. Point several app servers at one shared folder if wanted.
        "RESULTS_CACHE_DIR": get("RESULTS_CACHE_DIR", ""),
        # Empty: instance/letters. Where a batch of invitation letters waits, encrypted, to be printed.
        "LETTERS_DIR": get("LETTERS_DIR", ""),
        "RETENTION_DAYS": retention_days,
        "INSTRUMENTS_DIR": get("INSTRUMENTS_DIR", str(Path(__file__).resolve().parent.parent / "instruments")),
        "PUBLIC_BASE_URL": get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "MAX_CONTENT_LENGTH": max_upload,
        # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (default:
        # none), and how many of them a request passes through. Everyone else's are dropped.
        "TRUSTED_PROXIES": _networks(get("TRUSTED_PROXIES", "")),
        "PROXY_HOPS": max(1, proxy_hops),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production or _bool(get("SECURE_COOKIES", "false")),
        "SESSION_COOKIE_NAME": "s",
        "PERMANENT_SESSION_LIFETIME": int(get("SESSION_MINUTES", "240")) * 60,
        "WTF_CSRF_TIME_LIMIT": None,  # the session's own lifetime bounds it; a resident may be slow
        # Flask-WTF's HTTPS check demands a Referer; survey.security checks Origin, else Referer,
        # instead, so that a browser that sends neither still works (SECURITY.md, "CSRF").
        "WTF_CSRF_SSL_STRICT": False,
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).resolve().parent.parent / "translations"),
        "TESTING": False,
        "BENCHMARK_MIN_AGENCIES": _benchmark_min_agencies(get),
    }
