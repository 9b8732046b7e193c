"""Compiled interface catalogs: made from translations/<lang>/LC_MESSAGES/messages.po at start.

git keeps only the ``.po`` sources. A deployer who installs with pip and starts gunicorn never runs
``make``, so without this every page would be English under ``<html lang="ar" dir="rtl">``. The
app compiles a catalog that is missing or older than its source when it starts (every worker may;
each writes a file of its own and renames it into place), and refuses to start, naming the
language, when a language it offers has no source or its catalog cannot be written there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .config import ConfigError

#: The language the interface is written in: it needs no catalog.
SOURCE_LANGUAGE = "en"


def compile_catalog(po: Path) -> Path:
    """Write ``messages.mo`` beside ``po`` (fuzzy entries left out, as ``pybabel compile``)."""
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    mo = po.with_suffix(".mo")
    fd, tmp = tempfile.mkstemp(dir=po.parent, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return mo


def is_current(po: Path) -> bool:
    mo = po.with_suffix(".mo")
    return mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime


def ensure_compiled(directory: Path, languages: Iterable[str]) -> list[str]:
    """Compile every offered language's catalog that is missing or outdated; the codes compiled.

    Raises :class:`ConfigError` naming the language when it has no ``messages.po`` or when its
    catalog is missing or outdated and cannot be written (a read-only install: run
    ``pybabel compile -d translations`` when building it).
    """
    compiled = []
    for code in languages:
        if code == SOURCE_LANGUAGE:
            continue
        po = directory / code / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            raise ConfigError(
                f"SURVEY_LANGUAGES offers {code!r}, but there is no catalog for it "
                f"({po} does not exist). "
                "Remove the language from SURVEY_LANGUAGES or add its translation."
            )
        if is_current(po):
            continue
        try:
            compile_catalog(po)
        except OSError as exc:
            raise ConfigError(
                f"The interface catalog for {code!r} is not compiled or is older than {po}, and it "
                f"cannot be compiled here ({exc.strerror or exc}). Run `pybabel compile -d "
                f"{directory}` as part of installing, or make that folder writable."
            ) from None
        compiled.append(code)
    return compiled
