"""Invitation codes for a mailed address sample: generated once, shown once, stored as keyed hashes.

Making letters is post/redirect/get, so that a reload or the Back button never makes codes: the
POST makes the codes and holds the batch (codes and strata) encrypted in a file under the
instance folder, with a fresh key that only the staff member's session cookie carries; it then
redirects to the batch's page, which decrypts and shows the letters (or the mail-merge CSV) as
often as it is reloaded. The batch is deleted when the staff member says the letters are printed,
and in any case after ``LETTERS_MINUTES``. Neither the database nor the server's disk alone can
show a code: the disk holds a ciphertext whose key never reaches the server's storage, and the
database keeps only keyed hashes.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from flask import Response as FlaskResponse
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from .. import crypto
from ..auth import roles_required
from ..db import db
from ..i18n import KNOWN, direction, html_lang
from ..models import Invitation, InvitationStatus, Role, Wave, WaveMode, today
from ..qr import qr_svg
from ..security import generate_code, is_well_formed, keyed_hash, normalize_code
from ..spreadsheet import csv_safe
from .blueprint import bp
from .forms import UndeliverableForm, invitations_form
from .waves import get_wave

INVITATION_BITS = 72
#: How long a batch of letters can be shown again (reloaded, printed) after it was made.
LETTERS_MINUTES = 60
#: What a held batch is sealed for (the associated data of its AES-GCM seal).
LETTERS_AAD = "invitation letters"

#: One line per language, printed on every letter whatever the interface language, so that a
#: household can see at once that it may answer in its own language. Drafts by the project team:
#: have each reviewed by a fluent speaker before mailing (as with questionnaire translations).
HOW_TO_ANSWER: dict[str, str] = {
    "en": "To answer in English, open the address above or scan the square code, then choose “English”.",
    "es": "Para responder en español, abra la dirección de arriba o escanee el código cuadrado y elija «Español».",
    "ar": "للإجابة باللغة العربية، افتح العنوان أعلاه أو امسح الرمز المربع، ثم اختر «العربية».",
    "zh_Hans": "如需用简体中文作答，请打开上面的网址或扫描二维码，然后选择“简体中文”。",
    "zh_Hant": "如需用繁體中文作答，請打開上面的網址或掃描二維碼，然後選擇「繁體中文」。",
    "tl": "Para sumagot sa Tagalog, buksan ang address sa itaas o i-scan ang kuwadradong code, at piliin ang “Tagalog”.",
    "vi": "Để trả lời bằng tiếng Việt, hãy mở địa chỉ ở trên hoặc quét mã vuông, rồi chọn “Tiếng Việt”.",
    "fr": "Pour répondre en français, ouvrez l’adresse ci-dessus ou scannez le code carré, puis choisissez « Français ».",
    "ko": "한국어로 응답하시려면 위의 주소를 열거나 사각형 코드를 스캔한 후 “한국어”를 선택하세요.",
    "ru": "Чтобы ответить на русском языке, откройте адрес выше или отсканируйте квадратный код и выберите «Русский».",
    "ht": "Pou reponn an kreyòl ayisyen, louvri adrès ki anwo a oswa eskane kòd kare a, epi chwazi “Kreyòl ayisyen”.",
    "pt": "Para responder em português, abra o endereço acima ou digitalize o código quadrado e escolha “Português”.",
}


@dataclass(frozen=True)
class IssuedCode:
    code: str
    stratum: str | None
    start_url: str


def start_url(code: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/survey/start?code={quote(code)}"


def default_probability(count: int, population: int | None) -> float | None:
    if not population:
        return None
    return min(1.0, count / population)


def generate(wave: Wave, stratum: str | None, count: int, probability: float | None, area: str | None = None) -> list[IssuedCode]:
    """Create ``count`` invitations; return the codes (the caller commits; they are never stored).

    ``area``: the small area (neighborhood or beat) the letters go to, for waves whose invitation
    sets it; the invitation forgets it when its code is used.
    """
    if wave.mode != WaveMode.INVITATION:
        raise ValueError(f"{wave.slug} is an open-link wave: it has no invitations.")
    if area is not None:
        areas = {a.name: a.stratum for a in wave.areas}
        if area not in areas:
            raise ValueError(f"{wave.slug} has no small area {area!r}; declare its areas with flask areas first.")
        if areas[area] and stratum and areas[area] != stratum:
            raise ValueError(f"{area} lies in {areas[area]}, not {stratum}.")
    names = {s.name: s.population for s in wave.strata}
    if stratum is not None and names and stratum not in names:
        raise ValueError(f"{wave.slug} has no stratum {stratum!r}; it has {', '.join(sorted(names))}.")
    if probability is None:
        probability = default_probability(count, names.get(stratum) if stratum else None)
    batch = f"{today().isoformat()}-{secrets.token_hex(3)}"
    issued: list[IssuedCode] = []
    seen: set[str] = set()
    while len(issued) < count:
        code = generate_code(INVITATION_BITS)
        digest = keyed_hash("invitation", normalize_code(code))
        if digest in seen:  # 72 bits make this vanishingly rare; never issue a duplicate anyway
            continue
        seen.add(digest)
        db.session.add(
            Invitation(
                wave_id=wave.id, code_hash=digest, stratum=stratum, area=area, selection_probability=probability,
                status=InvitationStatus.SENT, batch=batch,
            )
        )
        issued.append(IssuedCode(code, stratum, start_url(code)))
    db.session.flush()
    return issued


def codes_csv(issued: Iterable[IssuedCode]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["code", "stratum", "start_url"])
    for row in issued:
        writer.writerow([row.code, csv_safe(row.stratum or ""), row.start_url])
    return out.getvalue()


def letter_lines(languages: Iterable[str]) -> list[dict[str, str]]:
    lines = []
    for code in languages:
        text = HOW_TO_ANSWER.get(code)
        if text is None:
            continue
        lines.append({"code": code, "lang": html_lang(code), "dir": direction(code), "text": text,
                      "name": KNOWN[code].native if code in KNOWN else code})
    return lines


def _strata(wave: Wave) -> list[tuple[str, int | None]]:
    return [(s.name, s.population) for s in wave.strata]


def _batches() -> Path:
    folder = Path(current_app.config.get("LETTERS_DIR") or Path(current_app.instance_path) / "letters")
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in folder.glob("*.bin"):  # forget batches past their time, whoever made them
        if now - old.stat().st_mtime > LETTERS_MINUTES * 60:
            old.unlink(missing_ok=True)
    return folder


def hold_batch(issued: list[IssuedCode]) -> str:
    """Keep a batch for showing: ciphertext on disk, its key in the staff session. Returns its token."""
    key = secrets.token_urlsafe(32)
    token = secrets.token_urlsafe(16)
    payload = json.dumps([[row.code, row.stratum] for row in issued]).encode()
    (_batches() / f"{token}.bin").write_bytes(crypto.seal_with_token(key, payload, LETTERS_AAD))
    held = dict(session.get("letters") or {})
    held[token] = key
    session["letters"] = held
    return token


def held_batch(token: str) -> list[IssuedCode] | None:
    """The batch's codes, or None when it is gone (printed, expired, or made in another session)."""
    key = (session.get("letters") or {}).get(token)
    path = _batches() / f"{token}.bin"
    if not key or not token.replace("-", "").replace("_", "").isalnum() or not path.exists():
        return None
    opened = crypto.open_with_token(key, path.read_bytes(), LETTERS_AAD)
    if opened is None:
        return None
    rows = json.loads(opened)
    return [IssuedCode(code, stratum, start_url(code)) for code, stratum in rows]


def forget_batch(token: str) -> None:
    held = dict(session.get("letters") or {})
    held.pop(token, None)
    session["letters"] = held
    if token.replace("-", "").replace("_", "").isalnum():
        (_batches() / f"{token}.bin").unlink(missing_ok=True)


@bp.route("/waves/<slug>/invitations", methods=["GET", "POST"])
@roles_required(Role.SURVEY_MANAGER)
def invitations(slug: str):
    wave = get_wave(slug)
    form = invitations_form(_strata(wave))()
    blocked = None
    if wave.mode != WaveMode.INVITATION:
        blocked = _("This is an open-link wave: residents answer without codes, so there are no invitations.")
    elif wave.status() == "closed":
        blocked = _("This wave has closed: no new invitations can be made.")
    if blocked is None and form.validate_on_submit():
        issued: list[IssuedCode] = []
        for name, _pop, count, probability in form.stratum_fields():
            if count.data:
                issued += generate(wave, name, count.data, probability.data)
        db.session.commit()
        token = hold_batch(issued)
        if request.form.get("output") == "csv":
            return redirect(url_for("staff.letters_csv", slug=wave.slug, token=token), code=303)
        return redirect(url_for("staff.letters", slug=wave.slug, token=token), code=303)
    return render_template("staff/invitations.html", wave=wave, form=form, blocked=blocked)


def _gone(wave: Wave):
    """The page for a batch that is not (or no longer) held in this session."""
    return render_template("staff/letters_gone.html", wave=wave, minutes=LETTERS_MINUTES), 410


@bp.get("/waves/<slug>/letters/<token>")
@roles_required(Role.SURVEY_MANAGER)
def letters(slug: str, token: str):
    wave, issued = get_wave(slug), held_batch(token)
    if issued is None:
        return _gone(wave)
    letters = [
        {"code": row.code, "stratum": row.stratum, "url": row.start_url,
         "qr": qr_svg(row.start_url, _("QR code of the survey address with your code"), scale=3)}
        for row in issued
    ]
    return render_template("staff/letters.html", wave=wave, letters=letters, lines=letter_lines(wave.languages),
                           token=token, minutes=LETTERS_MINUTES)


@bp.get("/waves/<slug>/letters/<token>.csv")
@roles_required(Role.SURVEY_MANAGER)
def letters_csv(slug: str, token: str):
    wave, issued = get_wave(slug), held_batch(token)
    if issued is None:
        return _gone(wave)
    response = FlaskResponse(codes_csv(issued), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{wave.slug}-invitations.csv"'
    return response


@bp.post("/waves/<slug>/letters/<token>/done")
@roles_required(Role.SURVEY_MANAGER)
def letters_done(slug: str, token: str):
    wave = get_wave(slug)
    forget_batch(token)
    flash(_("The codes of that batch are forgotten: only the printed letters have them now."), "success")
    return redirect(url_for("staff.wave", slug=wave.slug), code=303)


def read_codes(text: str) -> list[str]:
    """Codes from pasted text or an uploaded file: one a line, or a CSV whose first column is the code."""
    codes = []
    for line in text.splitlines():
        first = line.split(",")[0].strip().strip('"')
        if first and first.lower() != "code":
            codes.append(first)
    return codes


def mark_undeliverable(wave: Wave, typed: Iterable[str]) -> tuple[int, list[str], list[str]]:
    """Mark returned letters; return (marked, codes not found, codes already used)."""
    marked, unknown, used = 0, [], []
    for raw in typed:
        normalized = normalize_code(raw)
        invitation = None
        if is_well_formed(normalized, INVITATION_BITS):
            invitation = db.session.scalars(
                select(Invitation).where(
                    Invitation.wave_id == wave.id, Invitation.code_hash == keyed_hash("invitation", normalized)
                )
            ).first()
        if invitation is None:
            unknown.append(raw)
        elif invitation.used:
            used.append(raw)
        elif invitation.status != InvitationStatus.UNDELIVERABLE:
            invitation.status = InvitationStatus.UNDELIVERABLE
            marked += 1
    return marked, unknown, used


@bp.route("/waves/<slug>/undeliverable", methods=["GET", "POST"])
@roles_required(Role.SURVEY_MANAGER)
def undeliverable(slug: str):
    wave = get_wave(slug)
    form = UndeliverableForm()
    if form.validate_on_submit():
        text = form.codes.data or ""
        if form.upload.data:
            try:
                text += "\n" + form.upload.data.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                form.upload.errors.append(_("The file is not plain text. Save it as CSV or text (UTF-8) and try again"))
        codes = read_codes(text)
        if not form.upload.errors and not codes:
            form.codes.errors.append(_("Enter at least one code, or upload a file of codes"))
        if not form.errors:
            marked, unknown, used = mark_undeliverable(wave, codes)
            db.session.commit()
            flash(ngettext("%(num)d letter is marked undeliverable.", "%(num)d letters are marked undeliverable.", marked), "success")
            if unknown:
                flash(_("These codes are not invitations of this wave (check for typing mistakes): %(codes)s", codes=", ".join(unknown[:50])), "error")
            if used:
                flash(_("These codes were already used to answer, so they stay counted as delivered: %(codes)s", codes=", ".join(used[:50])), "error")
            return redirect(url_for("staff.rates", slug=wave.slug), code=303)
    return render_template("staff/undeliverable.html", wave=wave, form=form)
