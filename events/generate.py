"""Regenerate the sample API Gateway events: `.venv/bin/python events/generate.py` (needs layers/sealing on the path).

The confirmations are sealed with the kits' public test key for terminal 0900157 and order EVTSAMPLE0, whose
first payment session the bank knows as EVTSAMPLE000 (the order's reference and the session's number).
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "sealing"))

from sealing import MerchantKey, seal

HERE = Path(__file__).resolve().parent
TEST_KEY = "12345678901234567890123456789012345678P0"
REFERENCE = "EVTSAMPLE0"  # the order, as the merchant knows it
BANK_REFERENCE = REFERENCE + "00"  # its first payment session, as the bank knows it


def _event(method: str, resource: str, path: str, body: bytes | None, content_type: str, **extra: object) -> dict:
    headers = {"Host": "abcdef1234.execute-api.eu-west-3.amazonaws.com", "X-Forwarded-Proto": "https"}
    if body is not None:
        headers["Content-Type"] = content_type
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": extra.get("pathParameters"),
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "domainName": "abcdef1234.execute-api.eu-west-3.amazonaws.com",
            "identity": {"sourceIp": "203.0.113.7"},
        },
        "body": base64.b64encode(body).decode("ascii") if body is not None else None,
        "isBase64Encoded": body is not None,
    }


def confirmation_fields(code: str, numauto: str, reason: str = "", amount: str = "62.73EUR") -> list[tuple[str, str]]:
    fields = [
        ("TPE", "0900157"), ("date", "27/11/2026_a_10:15:00"), ("montant", amount), ("reference", BANK_REFERENCE),
        ("texte-libre", ""), ("code-retour", code), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"),
        ("status3ds", "1"), ("numauto", numauto), ("motifrefus", reason), ("originecb", "FRA"),
        ("bincb", "411111"), ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"), ("ipclient", "203.0.113.9"),
        ("originetr", "FRA"), ("modepaiement", "CB"), ("usage", "credit"), ("typecompte", "particulier"),
        ("ecard", "non"), ("motifrefusautorisation", ""),
    ]  # fmt: skip
    fields.append(("MAC", seal(MerchantKey(TEST_KEY), fields)))
    return fields


# The kits' public legacy (3.0) confirmation vector for terminal 1234567 (docs/protocol.md, Test vectors).
LEGACY_CONFIRMATION = [
    ("TPE", "1234567"), ("date", "05/12/2006_a_11:55:23"), ("montant", "62.73EUR"), ("reference", "ABERTPY00145"),
    ("texte-libre", "ExempleTexteLibre"), ("version", "3.0"), ("code-retour", "payetest"), ("cvx", "oui"),
    ("vld", "1208"), ("brand", "VI"), ("status3ds", "-1"), ("numauto", "010101"), ("motifrefus", ""),
    ("originecb", "FRA"), ("bincb", "010101"), ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"),
    ("ipclient", "127.0.0.1"), ("originetr", "FRA"), ("veres", ""), ("pares", ""),
    ("MAC", "2a9198aac1ba0720b3de2d834a4d62dc5b715b1e"),
]  # fmt: skip


def main() -> None:
    create = json.dumps(
        {
            "amount": "62.73",
            "currency": "EUR",
            "email": "buyer@example.com",
            "language": "FR",
            "free_text": "basket 42",
            "billing": {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
        }
    ).encode()
    accepted = confirmation_fields("payetest", "123456")
    refused = confirmation_fields("Annulation", "", "Refus")
    tampered = [(name, "6273.00EUR" if name == "montant" else value) for name, value in accepted]
    form = "application/x-www-form-urlencoded"
    events = {
        "create_order.json": _event("POST", "/orders", "/orders", create, "application/json"),
        "get_order.json": _event(
            "GET", "/orders/{reference}", f"/orders/{REFERENCE}", None, "", pathParameters={"reference": REFERENCE}
        ),
        "checkout.json": _event(
            "GET",
            "/checkout/{token}",
            f"/checkout/{REFERENCE}.sample",
            None,
            "",
            pathParameters={"token": f"{REFERENCE}.sample"},
        ),
    }
    for name, fields in (("accepted", accepted), ("refused", refused), ("tampered", tampered)):
        body = urlencode(fields).encode()
        events[f"confirmation_{name}.json"] = _event("POST", "/confirmation", "/confirmation", body, form)
        (HERE / f"confirmation_{name}.txt").write_bytes(body)  # the bare body, for `python -m sealing verify`
    (HERE / "confirmation_legacy.txt").write_bytes(urlencode(LEGACY_CONFIRMATION).encode())
    for name, event in events.items():
        (HERE / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
