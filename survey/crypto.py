"""Encryption at rest for what residents write, with keys kept outside the database.

Authenticated encryption (AES-256-GCM) whose stored form says nothing but which key sealed it:

    b"\\x01" | key id (4 bytes) | nonce (12 random bytes) | ciphertext and tag

The column's name (``table.column``) is the associated data, so a ciphertext copied into another
column, or from a complaint's narrative into its contact details, fails to open. Nothing in the
stored form depends on the time (Fernet, used before, wrote the creation second in clear).

Keys live in a file (``SURVEY_COMPLAINT_KEY_FILE``, by default ``instance/complaint_keys``), one
``aead1:<key id hex>:<key base64url>`` line per key, newest first. The newest key seals; opening
picks the key by its id, so a rotation can add a new key, re-encrypt every row, then drop the old
one. A line without the ``aead1:`` prefix is a Fernet key of the old scheme, kept only until
``flask complaints migrate-encryption`` has converted the rows it sealed.

Survey drafts are sealed the same way under a key derived from the resident's cookie, which the
server never stores (:func:`seal_with_token`).
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
HEADER_BYTES = len(VERSION) + KEY_ID_BYTES + NONCE_BYTES
PREFIX = "aead1"


class KeyFileError(RuntimeError):
    """The complaint key file is missing (in production), unreadable, or cannot open a value."""


@dataclass(frozen=True)
class Key:
    id: bytes
    secret: bytes

    @classmethod
    def generate(cls) -> Key:
        return cls(secrets.token_bytes(KEY_ID_BYTES), AESGCM.generate_key(bit_length=256))

    def line(self) -> str:
        return f"{PREFIX}:{self.id.hex()}:{base64.urlsafe_b64encode(self.secret).decode('ascii')}"

    @classmethod
    def parse(cls, line: str) -> Key:
        _prefix, key_id, secret = line.split(":")
        key = cls(bytes.fromhex(key_id), base64.urlsafe_b64decode(secret))
        if len(key.id) != KEY_ID_BYTES or len(key.secret) != 32:
            raise ValueError("bad key length")
        return key


@dataclass(frozen=True)
class KeyRing:
    keys: list[Key]
    #: Fernet keys of the old scheme still in the file (only ``migrate-encryption`` uses them).
    legacy: list[bytes]

    @property
    def newest(self) -> Key:
        if not self.keys:
            raise KeyFileError(
                "The complaint key file holds only keys of the old (Fernet) scheme. "
                "Run `flask --app wsgi complaints migrate-encryption`."
            )
        return self.keys[0]

    def find(self, key_id: bytes) -> Key | None:
        return next((k for k in self.keys if k.id == key_id), None)


def key_path() -> Path:
    """Where this app's complaint keys are (``SURVEY_COMPLAINT_KEY_FILE``)."""
    return Path(current_app.config["COMPLAINT_KEY_FILE"])


def read_ring(path: Path | None = None) -> KeyRing:
    path = path or key_path()
    if not path.exists():
        if current_app.config.get("ENV_MODE") == "production":
            raise KeyFileError(
                f"The complaint key file {path} does not exist. Create it with "
                "`flask --app wsgi complaints new-key` and keep a copy outside the database backups."
            )
        write_lines([Key.generate().line()], path)
    keys: list[Key] = []
    legacy: list[bytes] = []
    for line in path.read_text(encoding="ascii").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith(PREFIX + ":"):
                keys.append(Key.parse(line))
            else:
                legacy.append(line.encode("ascii"))
        except ValueError:
            raise KeyFileError(f"The complaint key file {path} has a line that is not a key.") from None
    if not keys and not legacy:
        raise KeyFileError(f"The complaint key file {path} holds no key.")
    return KeyRing(keys, legacy)


def write_ring(ring: KeyRing, path: Path | None = None) -> None:
    write_lines([k.line() for k in ring.keys] + [k.decode("ascii") for k in ring.legacy], path)


def write_lines(lines: list[str], path: Path | None = None) -> None:
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    forget()


def forget() -> None:
    """Drop the cached key ring (after the file was rewritten)."""
    current_app.extensions.pop("survey.crypto", None)


def ring() -> KeyRing:
    cache = current_app.extensions.setdefault("survey.crypto", {})
    path = key_path()
    stamp = path.stat().st_mtime_ns if path.exists() else None
    if cache.get("stamp") != stamp or "ring" not in cache:
        cache["ring"] = read_ring(path)
        cache["stamp"] = path.stat().st_mtime_ns
    return cache["ring"]


def column_name(column: Any) -> str:
    """``table.column`` for a mapped attribute (``Complaint.narrative_enc``) or a plain string."""
    if isinstance(column, str):
        return column
    expression = column.expression
    return f"{expression.table.name}.{expression.name}"


def _seal(key: Key, data: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return VERSION + key.id + nonce + AESGCM(key.secret).encrypt(nonce, data, aad)


def _open(key: Key, blob: bytes, aad: bytes) -> bytes:
    nonce = blob[len(VERSION) + KEY_ID_BYTES : HEADER_BYTES]
    return AESGCM(key.secret).decrypt(nonce, blob[HEADER_BYTES:], aad)


def encrypt(text: str | None, column: Any) -> bytes | None:
    """Seal ``text`` for ``column`` under the newest key; empty text is stored as NULL."""
    if text is None or text == "":
        return None
    return _seal(ring().newest, text.encode("utf-8"), column_name(column).encode("ascii"))


def decrypt(blob: bytes | None, column: Any) -> str | None:
    if blob is None:
        return None
    blob = bytes(blob)
    key = ring().find(blob[len(VERSION) : len(VERSION) + KEY_ID_BYTES]) if blob[:1] == VERSION else None
    if key is None:
        raise KeyFileError(
            "A complaint field was sealed with a key that is not in the key file (or under the old "
            "Fernet scheme: run `flask --app wsgi complaints migrate-encryption`)."
        )
    try:
        return _open(key, blob, column_name(column).encode("ascii")).decode("utf-8")
    except InvalidTag:
        raise KeyFileError(f"A value in {column_name(column)} fails its integrity check.") from None


def reencrypt(blob: bytes | None, column: Any) -> bytes | None:
    """Seal again under the newest key (key rotation)."""
    return encrypt(decrypt(blob, column), column) if blob is not None else None


def is_legacy(blob: bytes | None) -> bool:
    """True for a Fernet token of the old scheme (base64 text; its version byte 0x80 reads "gA")."""
    return blob is not None and bytes(blob)[:2] == b"gA"


def open_legacy(blob: bytes) -> str:
    """The text of a Fernet token, with any Fernet key in the file (``migrate-encryption`` only)."""
    from cryptography.fernet import Fernet, InvalidToken, MultiFernet

    legacy = ring().legacy
    if not legacy:
        raise KeyFileError("A value is sealed under the old Fernet scheme but the key file has no Fernet key.")
    try:
        return MultiFernet([Fernet(k) for k in legacy]).decrypt(bytes(blob)).decode("utf-8")
    except InvalidToken:
        raise KeyFileError("A Fernet value cannot be opened with any Fernet key in the key file.") from None


# ------------------------------------------------------------------ keys held by the browser


def token_key(token: str) -> bytes:
    """A 256-bit key derived from a cookie token the server does not keep (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"survey draft v1").derive(token.encode())


def seal_with_token(token: str, data: bytes, aad: str) -> bytes:
    return _seal(Key(b"\0" * KEY_ID_BYTES, token_key(token)), data, aad.encode("ascii"))


def open_with_token(token: str, blob: bytes, aad: str) -> bytes | None:
    """The data, or None when the token does not open it (another cookie, a tampered row)."""
    try:
        return _open(Key(b"\0" * KEY_ID_BYTES, token_key(token)), bytes(blob), aad.encode("ascii"))
    except (InvalidTag, ValueError):
        return None
