"""End to end: `python -m local` on a free port, driven over HTTP like a shop, a browser and the bank would.

Seals here are computed with hmac/hashlib directly, not with the `sealing` package, so the check is
independent of the code under test.
"""

from __future__ import annotations

import hmac
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.tests.support.local_api import (
    Form,
    confirm,
    confirmation,
    create_order,
    create_order_on,
    dsp2_mac,
    order,
    request,
)

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "SANDBOX_PORT": "0", "SHOP_PORT": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "local"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the local stack exited: {process.stdout.read() if process.stdout else ''}")
            try:
                status, _, _ = request("GET", f"{url}/orders/NOPE")
                if status == 404:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the local stack did not start within 60 s")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_order_checkout_confirmations_status(base_url: str) -> None:
    created = create_order(base_url)
    reference = created["reference"]
    session = created["form"]["fields"]["reference"]  # the bank knows the order's first payment session

    status, page, headers = request("GET", created["checkout_url"])
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Paiement par carte bancaire" in page
    form = Form()
    form.feed(page)
    assert form.action.endswith("/paiement.cgi")
    fields = dict(form.fields)
    assert fields["reference"] == session == reference + "00"
    assert fields["montant"] == "62.73EUR"
    assert hmac.compare_digest(fields["MAC"], dsp2_mac(form.fields))  # the seal, checked independently

    assert confirm(base_url, confirmation(session, "Annulation", "", reason="Refus")) == "version=2\ncdr=0\n"
    assert order(base_url, reference)["status"] == "awaiting_payment"

    tampered = confirmation(session, "payetest", "654321").replace(b"montant=62.73EUR", b"montant=0.01EUR")
    assert confirm(base_url, tampered) == "version=2\ncdr=1\n"
    assert order(base_url, reference)["status"] == "awaiting_payment"

    assert confirm(base_url, confirmation(session, "payetest", "654321", amount="6.27EUR")) == "version=2\ncdr=0\n"
    flagged = order(base_url, reference)
    assert flagged["status"] == "awaiting_payment"
    assert [r["reason"] for r in flagged["reviews"]] == ["amount_mismatch"]

    accepted = confirmation(session, "payetest", "654321")
    assert confirm(base_url, accepted) == "version=2\ncdr=0\n"
    paid = order(base_url, reference)
    assert paid["status"] == "paid"
    assert confirm(base_url, accepted) == "version=2\ncdr=0\n"  # a replay
    again = order(base_url, reference)
    assert again == paid
    assert [a["return_code"] for a in again["attempts"]] == ["Annulation", "payetest", "payetest"]
    assert again["attempts"][0]["reason"] == "Refus"


def test_the_checkout_of_a_paid_order_is_not_payable(base_url: str) -> None:
    created = create_order(base_url)
    assert (
        confirm(base_url, confirmation(created["form"]["fields"]["reference"], "payetest", "111111"))
        == "version=2\ncdr=0\n"
    )
    status, _, _ = request("GET", created["checkout_url"])
    assert status == 409


def test_local_sweep_runs_the_sweeper_at_the_given_time(base_url: str) -> None:
    created = create_order_on(base_url, "0900158")
    reference = created["reference"]
    accepted = confirmation(created["form"]["fields"]["reference"], "payetest", "222222", tpe="0900158")
    assert confirm(base_url, accepted) == "version=2\ncdr=0\n"
    assert order(base_url, reference)["status"] == "authorized"
    status, text, _ = request("POST", f"{base_url}/_local/sweep", b'{"now": "2020-01-01T09:00:00+01:00"}')
    assert status == 200
    early = json.loads(text)["DeferredSweeperFunction.Sweep"]
    assert early["time"] == "2020-01-01T08:00:00+00:00"
    assert reference not in early["outcomes"]
    assert reference not in early["failures"]
    status, text, _ = request("POST", f"{base_url}/_local/sweep", b'{"now": "2099-01-01T09:00:00+01:00"}')
    late = json.loads(text)["DeferredSweeperFunction.Sweep"]
    assert reference in late["outcomes"] or reference in late["failures"]  # due now: handled, or reported


@pytest.mark.parametrize("body", [b'{"now": "tomorrow"}', b'{"now": "2026-12-24T09:00:00"}', b"not json"])
def test_local_sweep_refuses_a_bad_time(base_url: str, body: bytes) -> None:
    status, text, _ = request("POST", f"{base_url}/_local/sweep", body)
    assert status == 400
    assert json.loads(text)["error"]["field"] == "now"
