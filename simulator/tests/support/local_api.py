"""The merchant API of a running local stack, over HTTP, as a shop and the bank call it.

Seals are computed with hmac/hashlib directly, not with the `sealing` package, so the checks are independent of
the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

KEY = bytes.fromhex("1234567890123456789012345678901234567890")  # the public test key, decoded by hand
ORDER = {
    "amount": "62.73",
    "currency": "EUR",
    "email": "buyer@example.com",
    "billing": {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
}

Answer = tuple[int, str, dict[str, str]]


def request(method: str, url: str, body: bytes | None = None, content_type: str = "") -> Answer:
    sent = urllib.request.Request(url, data=body, method=method)  # noqa: S310 - 127.0.0.1 only
    if content_type:
        sent.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(sent, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


class Form(HTMLParser):
    """The payment form of a checkout page: where it posts, and its hidden fields in order."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.action:  # the first form: the payment form of a checkout page
            self.action = values.get("action", "")
        if tag == "input" and values.get("type") == "hidden":
            self.fields.append((values["name"], values["value"]))


def dsp2_mac(fields: list[tuple[str, str]]) -> str:
    sealed = "*".join(f"{name}={value}" for name, value in sorted(fields) if name != "MAC")
    return hmac.new(KEY, sealed.encode(), hashlib.sha1).hexdigest()


def confirmation(
    reference: str, code: str, numauto: str, amount: str = "62.73EUR", reason: str = "", tpe: str = "0900157"
) -> bytes:
    fields = [
        ("TPE", tpe), ("date", "27/11/2026_a_10:15:00"), ("montant", amount), ("reference", reference),
        ("texte-libre", ""), ("code-retour", code), ("cvx", "oui"), ("vld", "1228"), ("brand", "MC"),
        ("status3ds", "1"), ("numauto", numauto), ("motifrefus", reason), ("originecb", "FRA"),
        ("bincb", "555555"), ("hpancb", "00"), ("ipclient", "203.0.113.9"), ("originetr", "FRA"),
    ]  # fmt: skip
    return urlencode([*fields, ("MAC", dsp2_mac(fields))]).encode()


def create_order(base_url: str, **extra: Any) -> dict[str, Any]:
    return create_order_on(base_url, "0900157", **extra)


def create_order_on(base_url: str, tpe: str, **extra: Any) -> dict[str, Any]:
    body = {**ORDER, "tpe": tpe, **extra}
    status, text, _ = request("POST", f"{base_url}/orders", json.dumps(body).encode(), "application/json")
    assert status == 201, text
    return json.loads(text)  # type: ignore[no-any-return]


def order(base_url: str, reference: str) -> dict[str, Any]:
    status, text, _ = request("GET", f"{base_url}/orders/{reference}")
    assert status == 200, text
    return json.loads(text)  # type: ignore[no-any-return]


def confirm(base_url: str, body: bytes) -> str:
    status, text, headers = request("POST", f"{base_url}/confirmation", body, "application/x-www-form-urlencoded")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    return text
