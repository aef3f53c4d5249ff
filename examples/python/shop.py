"""A shop's calls to the merchant kit, in Python with requests, signed with AWS SigV4 (botocore's signer).

    python shop.py create 62.73            # prints the order's reference and its checkout_url
    python shop.py read <reference>        # the return page's check: the order's status, from the API
    python shop.py refund <reference> [amount]
    python shop.py webhook 4242 <directory>  # the order events' receiver, on 127.0.0.1:4242

Settings: MERCHANT_API_URL (the stack's ApiUrl output), AWS_REGION, and AWS credentials as botocore finds them
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the role it runs under); SHOP_WEBHOOK_TOKEN for the receiver.
"""

import hashlib
import hmac
import json
import os
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.session
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

API_URL = os.environ.get("MERCHANT_API_URL", "http://127.0.0.1:3000").rstrip("/")
REGION = os.environ.get("AWS_REGION", "eu-west-3")


def call(method: str, path: str, body: dict | None = None, headers: dict | None = None) -> dict:
    """One merchant API call, signed for API Gateway (service execute-api). An error answer ends the program."""
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        sys.exit("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    data = json.dumps(body) if body is not None else None
    request = AWSRequest(method, f"{API_URL}{path}", {"Content-Type": "application/json", **(headers or {})}, data)
    SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    answer = requests.request(method, request.url, headers=dict(request.headers), data=data, timeout=30)
    if not answer.ok:  # the kit's {"error": {"message", "field"}}, or API Gateway's {"message"} (403: the signature)
        sys.exit(f"{answer.status_code} {answer.text}")
    return answer.json()


def create(amount: str) -> None:
    order = call(
        "POST",
        "/orders",
        {
            "amount": amount,
            "currency": "EUR",
            "email": "buyer@example.com",
            "billing": {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"},
        },
    )
    # Keep order["reference"] with the basket, then redirect the buyer: a 303 to order["checkout_url"].
    print(order["reference"], order["checkout_url"])


def read(reference: str) -> None:
    order = call("GET", f"/orders/{reference}")  # the return page trusts this, never the return URL alone
    print(order["reference"], order["status"], "refunded", order["refunded"])


def refund(reference: str, amount: str | None = None) -> None:
    # One Idempotency-Key per refund: sent again with the same key, a retry is never refunded twice.
    key = {"Idempotency-Key": str(uuid.uuid4())}
    order = call("POST", f"/orders/{reference}/refund", {"amount": amount} if amount else {}, key)
    print(order["reference"], order["status"], "refunded", order["refunded"])


class Webhook(BaseHTTPRequestHandler):
    """The order events: the shop token checked, each event_id kept once (a file named by its hash), 2xx."""

    directory = Path("webhook-events")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        token = os.environ.get("SHOP_WEBHOOK_TOKEN", "").encode()
        given = self.headers.get("X-Merchant-Kit-Token", "").encode()
        if not token or not hmac.compare_digest(given, token):
            return self.answer(401)
        try:
            event = json.loads(body)
            event_id, kind, reference = event["detail"]["event_id"], event["detail-type"], event["detail"]["reference"]
        except (ValueError, KeyError, TypeError):
            return self.answer(400)
        kept = self.directory / (hashlib.sha256(event_id.encode()).hexdigest() + ".json")
        try:
            with kept.open("xb") as file:  # exclusive: a second delivery of the event finds it there
                file.write(body)
        except FileExistsError:
            print("duplicate", event_id, flush=True)
            return self.answer(204)
        print("received", kind, reference, event_id, flush=True)  # act here: OrderPaid ships the basket
        return self.answer(204)

    def answer(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def webhook(port: str, directory: str) -> None:
    Webhook.directory = Path(directory)
    Webhook.directory.mkdir(parents=True, exist_ok=True)
    print(f"listening on http://127.0.0.1:{port}/", flush=True)
    ThreadingHTTPServer(("127.0.0.1", int(port)), Webhook).serve_forever()


if __name__ == "__main__":
    commands = {"create": create, "read": read, "refund": refund, "webhook": webhook}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: shop.py {'|'.join(commands)} ...")
    commands[sys.argv[1]](*sys.argv[2:])
