"""The production shape, as the README deploys it: gunicorn with the shipped config in production
mode (secrets from the environment) behind nginx terminating TLS with the shipped server block
(deploy/nginx.conf), on 127.0.0.1 only, with a throwaway self-signed certificate.

Tests talk to nginx over HTTPS; a client may bind its source address anywhere in 127.0.0.0/8
(127.0.0.2, 127.0.0.3, ...) so that nginx sees distinct residents, as on the internet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from tests.reliability.harness import ROOT, Deployment, Gunicorn, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
STAFF_PASSWORD = "production shape password 2026"
#: One staff member per role, as ``role: email``.
STAFF = {
    "admin": "admin@loadville.example",
    "survey_manager": "manager@loadville.example",
    "analyst": "analyst@loadville.example",
    "investigator": "investigator@loadville.example",
}


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A two-day certificate for 127.0.0.1, made with ``cryptography`` (no openssl binary needed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def render_nginx_conf(folder: Path, *, https_port: int, upstream_port: int, cert: Path, key: Path) -> Path:
    """deploy/nginx.conf with this test's ports and certificate, inside a minimal nginx.conf.

    Only addresses, ports and paths change: every proxy directive is the shipped one. The plain
    HTTP server (port 80, a redirect) is left out, and so are IPv6 listeners.
    """
    block = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    block = re.sub(r"server\s*\{\s*listen 80;.*?\n\}\n", "", block, count=1, flags=re.S)
    block = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", block)
    replacements = [
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        (r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
        (r"ssl_certificate\s+\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key\s+\S+;", f"ssl_certificate_key {key};"),
    ]
    for pattern, replacement in replacements:
        block, count = re.subn(pattern, replacement, block)
        assert count == 1, f"deploy/nginx.conf no longer has {pattern!r}: update tests/production/stack.py"
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                            "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"{user}worker_processes 1;\ndaemon off;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'nginx-error.log'} warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n{temp}\n    access_log off;\n    default_type application/octet-stream;\n{block}\n}}\n",
        encoding="utf-8",
    )
    return conf


@dataclass
class Stack:
    deployment: Deployment
    https_port: int
    gunicorn: Gunicorn
    folder: Path
    backend: str
    staff: dict[str, str] = field(default_factory=lambda: dict(STAFF))

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"


def add_staff(deployment: Deployment) -> None:
    """One account per role (the demo's shape), with a known password."""
    from survey.auth import hash_password
    from survey.db import db
    from survey.models import Agency, StaffUser

    app = deployment.app()
    try:
        with app.app_context():
            agency = db.session.query(Agency).one()
            for role, email in STAFF.items():
                db.session.add(StaffUser(agency_id=agency.id, email=email, name=role.replace("_", " ").title(),
                                         password_hash=hash_password(STAFF_PASSWORD), roles=[role]))
            db.session.commit()
    finally:
        app.extensions["survey.db"]["engine"].dispose()


def production_env(workers: int) -> dict[str, str]:
    return {"SURVEY_ENV": "production", "SURVEY_TRUSTED_PROXIES": "127.0.0.1", "SURVEY_WORKERS": str(workers)}


@contextlib.contextmanager
def serve_behind_tls(deployment: Deployment, folder: Path, backend: str, *, workers: int = 2,
                     env: dict[str, str] | None = None) -> Iterator[Stack]:
    """gunicorn (production mode, ``workers`` workers, ``env`` added) behind nginx with TLS."""
    if NGINX is None:
        raise RuntimeError("nginx is not installed (Debian: apt-get install nginx-light)")
    folder.mkdir(parents=True, exist_ok=True)
    server = Gunicorn(deployment, folder / "gunicorn.log", production_env(workers) | (env or {}), workers=workers)
    server.start()
    nginx = None
    try:
        cert, key = self_signed_certificate(folder)
        https_port = free_port()
        conf = render_nginx_conf(folder, https_port=https_port, upstream_port=server.port, cert=cert, key=key)
        nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while True:
            try:
                status, _body, _headers = https_request(https_port, "GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if nginx.poll() is not None or time.time() > deadline:
                log = (folder / "nginx-error.log").read_text() if (folder / "nginx-error.log").exists() else ""
                raise RuntimeError(f"nginx did not serve the app: {log[-2000:]}")
            time.sleep(0.2)
        yield Stack(deployment, https_port, server, folder, backend)
    finally:
        if nginx is not None:
            nginx.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                nginx.wait(timeout=10)
            if nginx.poll() is None:
                nginx.kill()
        server.stop()


_UNVERIFIED = ssl.create_default_context()
_UNVERIFIED.check_hostname = False
_UNVERIFIED.verify_mode = ssl.CERT_NONE  # the test's own throwaway certificate


def https_request(port: int, method: str, path: str, form: dict | None = None, *, source: str = "127.0.0.1",
                  cookies: dict[str, str] | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, list[str]]]:
    """One request over TLS to nginx from ``source`` (any 127.x address); (status, body, headers)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=_UNVERIFIED,
                                       source_address=(source, 0))
    sent = {"Connection": "close", **(headers or {})}
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    body = None
    if form is not None:
        body = urlencode(form, doseq=True)
        sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.setdefault("Origin", f"https://127.0.0.1:{port}")
    try:
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        got: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            got.setdefault(name.lower(), []).append(value)
        return response.status, text, got
    finally:
        conn.close()


class Browserless:
    """A resident without a browser: its own source address and cookies, over HTTPS."""

    CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

    def __init__(self, stack: Stack, source: str, *, keep_cookies: bool = True) -> None:
        self.stack, self.source, self.keep_cookies = stack, source, keep_cookies
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        status, text, headers = https_request(self.stack.https_port, method, path, form, source=self.source,
                                              cookies=self.cookies)
        if self.keep_cookies:
            for header in headers.get("set-cookie", []):
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        location = re.sub(r"^https?://[^/]+", "", (headers.get("location") or [""])[0])
        return status, text, location

    def token(self, path: str) -> str:
        status, text, _ = self.request("GET", path)
        assert status == 200, f"GET {path}: {status}"
        return self.CSRF.search(text).group(1)

    def post_form(self, path: str, fields: dict) -> tuple[int, str, str]:
        """GET the form for its token, then POST it (a fresh session each time without cookies)."""
        if not self.keep_cookies:
            self.cookies = {}
            self.keep_cookies = True
            try:
                token = self.token(path)
                return self.request("POST", path, {"csrf_token": token, **fields})
            finally:
                self.keep_cookies = False
                self.cookies = {}
        return self.request("POST", path, {"csrf_token": self.token(path), **fields})
