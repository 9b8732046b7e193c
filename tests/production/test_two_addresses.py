"""Behind the TLS proxy, one client address that guesses cannot lock out a resident or a staff
member at another address: the rate limits key on the client that nginx saw (X-Forwarded-For from
the trusted proxy), not on the proxy's own address.

The attacker at 127.0.0.2 sends 200 wrong guesses without keeping cookies (a fresh session for
every try, as a script would); then a resident at 127.0.0.3 must get in on the first try.
"""

from __future__ import annotations

import secrets
from collections import Counter

from survey.security import generate_code
from tests.pagetext import RECEIPT
from tests.production.stack import STAFF_PASSWORD, Browserless, Stack

GUESSES = 200


def _guess(attacker: Browserless, path: str, fields: dict) -> Counter:
    statuses: Counter = Counter()
    for _ in range(GUESSES):
        status, text, _location = attacker.post_form(path, fields())
        assert status < 500, f"{path}: {status} {text[:300]}"
        statuses[status] += 1
    return statuses


def _report(stack: Stack, what: str, statuses: Counter) -> None:
    print(f"\n[{stack.backend}] {what}: {GUESSES} guesses from 127.0.0.2 -> {dict(sorted(statuses.items()))}")


def test_wrong_access_codes_from_one_address_do_not_lock_out_another(stack: Stack):
    attacker = Browserless(stack, "127.0.0.2", keep_cookies=False)
    statuses = _guess(attacker, "/survey/", lambda: {"code": generate_code(72)})
    _report(stack, "wrong access codes", statuses)
    assert statuses[429] > 0, "200 wrong access codes from one address were never refused"
    assert statuses[400] <= 40, f"too many wrong codes were checked before refusing: {statuses}"

    resident = Browserless(stack, "127.0.0.3")
    code = stack.deployment.take_code()
    status, _text, location = resident.post_form("/survey/", {"code": code.lower()})
    assert (status, location.split("/q/")[0]) == (303, "/survey"), f"resident refused: {status} {location}"


def test_wrong_receipt_codes_from_one_address_do_not_lock_out_another(stack: Stack):
    resident = Browserless(stack, "127.0.0.3")
    status, _text, location = resident.post_form("/complaints/new", {
        "categories": ["force"], "narrative": "Shouted at me at the bus stop", "contact_method": "none",
        "language": "en"})
    assert status == 303, status
    status, receipt_page, _ = resident.request("GET", location)
    receipt = RECEIPT.search(receipt_page).group(1)

    attacker = Browserless(stack, "127.0.0.2", keep_cookies=False)
    statuses = _guess(attacker, "/complaints/follow-up", lambda: {"code": generate_code(90)})
    _report(stack, "wrong receipt codes", statuses)
    assert statuses[429] > 0, "200 wrong receipt codes from one address were never refused"

    follower = Browserless(stack, "127.0.0.3")
    status, _text, location = follower.post_form("/complaints/follow-up", {"code": receipt})
    assert (status, location) == (303, "/complaints/status"), f"resident refused: {status} {location}"


def test_wrong_passwords_from_one_address_do_not_lock_out_the_owner(stack: Stack):
    email = stack.staff["investigator"]
    attacker = Browserless(stack, "127.0.0.2", keep_cookies=False)
    statuses = _guess(attacker, "/staff/sign-in",
                      lambda: {"email": email, "password": secrets.token_urlsafe(12)})
    _report(stack, "wrong staff passwords", statuses)
    # A refused try looks exactly like a wrong password, so count by the page, not the status.
    owner = Browserless(stack, "127.0.0.3")
    status, text, location = owner.post_form("/staff/sign-in", {"email": email, "password": STAFF_PASSWORD})
    assert status in (302, 303) and location.startswith("/staff"), f"owner refused: {status} {text[:300]}"
