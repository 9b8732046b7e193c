"""Security helpers: response headers, readable random codes, keyed hashes and safe redirects."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

#: Letters and digits that cannot be mistaken for one another when read aloud or typed on a phone:
#: no 0/O, 1/I/L, and no U (so that codes spell no common words).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


def _inline_stylesheet(path: Path) -> str:
    """site.css without its comments and runs of white space, as every page carries it in <style>.

    Inline, the page is styled the moment its HTML is parsed. Linked, the stylesheet arrived a
    round trip after the HTML, and by then Chromium had already laid out the whole unstyled page
    once at DOMContentLoaded (its autofill scans any page with a text field, select or textarea),
    looking up a second set of fonts for the twelve language names; that doubled the complaint
    form's style and layout time (bench/LIGHTHOUSE.md).
    """
    text = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    text = re.sub(r"\s+", " ", text).strip()
    # No space is needed around braces and semicolons, nor after a declaration's colon or a comma
    # (a space before a colon is kept: "tr :first-child" is not "tr:first-child").
    text = re.sub(r"([:,]) ", r"\1", re.sub(r" ?([{};]) ?", r"\1", text)).replace(";}", "}")
    if re.search(r"</style|<!--", text, re.I):
        raise ValueError(f"{path} cannot be put inside a <style> element")
    return text


#: The stylesheet of every page, and the CSP hash that lets exactly this text run and no other.
STYLESHEET = _inline_stylesheet(Path(__file__).parent / "static" / "site.css")
STYLESHEET_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        f"style-src 'self' '{STYLESHEET_HASH}'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)


def code_length(bits: int) -> int:
    """How many characters of :data:`CODE_ALPHABET` carry at least ``bits`` bits of randomness."""
    return math.ceil(bits / math.log2(len(CODE_ALPHABET)))


def generate_code(bits: int, group: int = 5) -> str:
    """A random code from :mod:`secrets`, grouped with dashes for reading aloud ("7KQ2M-...")."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(code_length(bits)))
    return "-".join(chars[i : i + group] for i in range(0, len(chars), group))


def normalize_code(typed: str) -> str:
    """Upper-case, drop spaces and dashes; a typed 0, 1 or L cannot be in a code and stays invalid."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def is_well_formed(normalized: str, bits: int) -> bool:
    return len(normalized) == code_length(bits) and all(ch in CODE_ALPHABET for ch in normalized)


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of a code under the deployment's code key: what the database stores instead."""
    key = current_app.config["CODE_HASH_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def is_safe_next(target: str | None) -> bool:
    """Only a local path may be a redirect target (no scheme, no host, no '//' or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    # Our own pages get the referrer (the CSRF check below reads it when a browser sends no
    # Origin); another site never does, not even our host name.
    ("Referrer-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000")


def add_security_headers(response: Response) -> Response:
    """The design's headers on every response; a view that set one of them itself keeps its own.

    One pass over the headers already set, then one extend: ``Headers.setdefault`` scans the list
    again for each of the eight (17 us against 4 us a response, measured).
    """
    wanted = _SECURITY_HEADERS + (_HSTS,) if current_app.config.get("SESSION_COOKIE_SECURE") else _SECURITY_HEADERS
    present = {key.lower() for key, _ in response.headers}
    response.headers.extend([(key, value) for key, value in wanted if key.lower() not in present])
    return response


def refuse_oversized_body() -> None:
    """413 for any body over MAX_CONTENT_LENGTH, before any view runs.

    Werkzeug enforces the limit only when a view reads the form, so a view that redirects first
    (e.g. an expired follow-up) would otherwise accept the upload and quietly drop it.
    """
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        abort(413)


_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def refuse_cross_site_post() -> None:
    """Refuse a form sent from another site, in addition to the CSRF token.

    Browsers name the page a form came from in ``Origin`` (every modern browser, on every POST)
    or, failing that, in ``Referer`` (our ``same-origin`` policy sends it to our own pages only).
    When one is given it must be this site; when neither is (an old browser with referrers turned
    off) the token alone decides, as over plain HTTP. Flask-WTF's own HTTPS check would refuse
    that resident outright, so it is off (``WTF_CSRF_SSL_STRICT``) and this check replaces it.
    """
    if request.method not in _UNSAFE_METHODS:
        return
    source = request.headers.get("Origin")
    if not source or source == "null":  # "null": an opaque origin; it names no site to compare
        source = request.referrer
    if source and _origin(source) != _origin(request.host_url):
        raise CSRFError("The form was sent from another site.")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Believe ``X-Forwarded-For``/``-Proto`` only from the configured reverse proxies.

    A request whose peer is one of ``networks`` goes through Werkzeug's ``ProxyFix`` (the client
    is the address ``hops`` entries from the right of ``X-Forwarded-For``); anyone else's
    forwarding headers are removed, so a client that talks to the app directly and forges them
    gains nothing. The address is only ever used in memory (rate limits hash it).
    """

    _FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                  "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")

    def __init__(self, wsgi_app: Callable[..., Any], networks: Iterable[Network], hops: int = 1) -> None:
        self.plain = wsgi_app
        self.networks = tuple(networks)
        self.fixed = ProxyFix(wsgi_app, x_for=hops, x_proto=hops)

    def _trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.networks and self._trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        for key in self._FORWARDED:
            environ.pop(key, None)
        return self.plain(environ, start_response)


def init_app(app: Flask) -> None:
    proxies = app.config.get("TRUSTED_PROXIES", ())
    if isinstance(proxies, str):  # a test's or a script's config may give the setting's text
        from .config import _networks

        proxies = app.config["TRUSTED_PROXIES"] = _networks(proxies)
    app.wsgi_app = TrustedProxies(  # type: ignore[method-assign]
        app.wsgi_app, proxies, int(app.config.get("PROXY_HOPS", 1))
    )
    app.before_request(refuse_oversized_body)
    app.before_request(refuse_cross_site_post)
    app.after_request(add_security_headers)
    # base.html puts it in <style>; the CSP above names its hash. Our own file, refused above if
    # it could close the element, so it is safe as markup.
    app.jinja_env.globals["inline_stylesheet"] = Markup(STYLESHEET)  # noqa: S704  # nosec B704 - our own stylesheet, checked above
