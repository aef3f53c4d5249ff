"""Regenerate the sample events: `.venv/bin/python events/generate.py` (needs layers/sealing on the path).

The confirmations are sealed with the kits' public test key for terminal 0900157 and order EVTSAMPLE0, whose
first payment session the bank knows as EVTSAMPLE000 (the order's reference and the session's number). The
other events are the ones AWS sends the template's other functions: schedules, SQS batches, the bus's events, an
S3 upload, in the local stack's names (its account, region, queues and bucket). The table's stream record
(order_paid_stream.json) is the one the local stack's table gave for EVTSAMPLE0 paid by
confirmation_accepted.json, kept as it came: regenerate it by paying the sample order and reading its stream.
events/README.md says what each one does, run with `python -m local invoke`.
"""

from __future__ import annotations

import base64
import hashlib
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


ACCOUNT, REGION = "123456789012", "eu-west-3"
AT = "2026-11-27T09:00:00Z"


def authorizer_request(authorization: str) -> dict:
    """API Gateway's REQUEST to the shop keys' authorizer for ``POST /orders`` (the Authorization header given)."""
    request = _event("POST", "/orders", "/orders", None, "")
    del request["body"], request["isBase64Encoded"]
    request["headers"]["Authorization"] = authorization
    request["multiValueHeaders"]["Authorization"] = [authorization]
    request["requestContext"].update(accountId=ACCOUNT, apiId="abcdef1234")
    method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abcdef1234/v1/POST/orders"
    return {"type": "REQUEST", "methodArn": method_arn, **request}


def scheduled(rule: str) -> dict:
    """EventBridge's event for a schedule rule (``Schedule`` events of template.yaml)."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": AT,
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/merchant-kit-{rule}"],
        "detail": {},
    }


def sqs_batch(queue: str, *bodies: str) -> dict:
    """Lambda's SQS event: one record per message body."""
    return {
        "Records": [
            {
                "messageId": f"059f36b4-87a3-44ab-83d2-66197580905{index}",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1796374800000",
                    "SenderId": "AROAEXAMPLE:merchant-kit-Cgi2Function",
                    "ApproximateFirstReceiveTimestamp": "1796374800010",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for index, body in enumerate(bodies)
        ]
    }


def bus_event(source: str, detail_type: str, detail: dict, resources: list[str] | None = None) -> dict:
    """An EventBridge event as a rule's target gets it."""
    return {
        "version": "0",
        "id": "7155be3e-5614-4a5e-b266-bec072b61331",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": AT,
        "region": REGION,
        "resources": resources or [],
        "detail": detail,
    }


# The bank's file of the day's captures, uploaded by the merchant under imports/ (s3_upload.json names it).
CAPTURES_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<recouvrements tpe="0900157" societe="boutiqueducd" date="27/11/2026">
  <paiement><reference>EVTSAMPLE000</reference><date_commande>27/11/2026</date_commande><heure>10:15:00</heure>
    <montant>62.73EUR</montant><montant_recouvre>62.73EUR</montant_recouvre><numauto>123456</numauto>
    <carte>4111 11XX XXXX 1111</carte></paiement>
</recouvrements>
"""

ORDER_PAID = {
    "amount": "62.73", "attempt": {
        "amount": "62.73EUR", "authorisation_number": "123456", "bank_reference": BANK_REFERENCE, "card_brand": "VI",
        "card_saved": None, "instalment": None, "reason": "", "return_code": "payetest",
        "time": "2026-11-27T09:15:00+00:00",
    },
    "authorisation_number": "123456", "bank_reference": BANK_REFERENCE, "cancelled": "0", "captured": "62.73",
    "currency": "EUR", "event_id": f"{REFERENCE}/1/0/OrderPaid", "mode": "immediate", "needs_review": False,
    "previous_status": "awaiting_payment", "reference": REFERENCE, "refunded": "0", "schema_version": 1,
    "status": "paid", "time": "2026-11-27T09:15:00+00:00", "tpe": "0900157",
}  # fmt: skip


def other_events(accepted: bytes) -> dict[str, dict]:
    """The events of the functions API Gateway does not call."""
    bucket = "merchant-kit-reconciliation-bucket"
    body = base64.b64encode(accepted).decode("ascii")
    queued = json.dumps({"body": body, "received_at": "2026-11-27T09:15:00+00:00"})
    upload = {
        "version": "0",
        "bucket": {"name": bucket},
        "object": {
            "key": "imports/captures.xml",
            "size": len(CAPTURES_FILE),
            "etag": "b1946ac92492d2347c6235b4d261118",
        },
        "request-id": "57H08PA84AB1JZW0",
        "requester": ACCOUNT,
        "source-ip-address": "203.0.113.7",
        "reason": "PutObject",
    }
    return {
        "sweep_schedule.json": scheduled("DeferredSweeperFunctionSweep"),
        "reconciliation_schedule.json": scheduled("ReconciliationFunctionDaily"),
        "confirmation_queued.json": sqs_batch("merchant-kit-confirmation-queue", queued),
        "reconciliation_part.json": sqs_batch(
            "merchant-kit-reconciliation-queue",
            json.dumps({"run": "20261127T090000Z-0a1b2c3d", "start": 0, "references": [REFERENCE]}),
        ),
        "order_paid.json": bus_event("merchant-kit.orders", "OrderPaid", ORDER_PAID),
        "s3_upload.json": bus_event("aws.s3", "Object Created", upload, [f"arn:aws:s3:::{bucket}"]),
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
        "list_orders.json": _event("GET", "/orders", "/orders", None, ""),
        "golive.json": _event(
            "GET", "/terminals/{tpe}/golive", "/terminals/0900157/golive", None, "", pathParameters={"tpe": "0900157"}
        ),
        # A browser opening the console's sign-in page (a signed-out visitor: the page, its form's CSRF cookie).
        "console_sign_in.json": _event(
            "GET", "/console/{proxy+}", "/console/sign-in", None, "", pathParameters={"proxy": "sign-in"}
        ),
        # No key of the local stack's (a key is shown once, and never written in a file): denied, saying why.
        "shop_key_authorizer.json": authorizer_request("Bearer not-a-shop-key"),
        "reconciliation_run.json": _event("POST", "/reconciliation", "/reconciliation", b"{}", "application/json"),
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
    events.update(other_events(urlencode(accepted).encode()))
    (HERE / "captures.xml").write_text(CAPTURES_FILE)
    for name, event in events.items():
        (HERE / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
