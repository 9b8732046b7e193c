"""Encryption at rest for what residents write in complaints, with keys kept outside the database.

Keys live in a file (``SURVEY_COMPLAINT_KEY_FILE``, by default ``instance/complaint_keys``), one
Fernet key per line, newest first. Decryption tries every key, so a rotation can add a new key,
re-encrypt the rows, then drop the old one.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class KeyFileError(RuntimeError):
    """The complaint key file is missing (in production) or unreadable."""


def _key_path() -> Path:
    return Path(current_app.config["COMPLAINT_KEY_FILE"])


def read_keys(path: Path | None = None) -> list[bytes]:
    path = path or _key_path()
    if not path.exists():
        if current_app.config.get("ENV_MODE") == "production":
            raise KeyFileError(
                f"The complaint key file {path} does not exist. Create it with "
                "`flask --app wsgi complaints new-key` and keep a copy outside the database backups."
            )
        write_keys([Fernet.generate_key()], path)
    keys = [line.strip().encode() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    if not keys:
        raise KeyFileError(f"The complaint key file {path} holds no key.")
    return keys


def write_keys(keys: list[bytes], path: Path | None = None) -> None:
    path = path or _key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("\n".join(k.decode() for k in keys) + "\n")
    os.replace(tmp, path)


def _cipher() -> MultiFernet:
    cache = current_app.extensions.setdefault("survey.crypto", {})
    path = _key_path()
    stamp = path.stat().st_mtime_ns if path.exists() else None
    if cache.get("stamp") != stamp or "cipher" not in cache:
        keys = read_keys(path)
        cache["cipher"] = MultiFernet([Fernet(k) for k in keys])
        cache["stamp"] = path.stat().st_mtime_ns
    return cache["cipher"]


def encrypt(text: str | None) -> bytes | None:
    if text is None or text == "":
        return None
    return _cipher().encrypt(text.encode("utf-8"))


def decrypt(blob: bytes | None) -> str | None:
    if blob is None:
        return None
    try:
        return _cipher().decrypt(bytes(blob)).decode("utf-8")
    except InvalidToken:
        raise KeyFileError("A complaint field cannot be decrypted with any key in the key file.") from None


def reencrypt(blob: bytes | None) -> bytes | None:
    """Encrypt again under the newest key (used by key rotation)."""
    return None if blob is None else _cipher().rotate(bytes(blob))
