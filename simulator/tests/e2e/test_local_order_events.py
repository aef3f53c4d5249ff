"""The order events, locally: the local stack reads the orders table's stream, publishes on its bus, shows the
events at /_local/events and delivers them to the demo shop's webhook as the template's API destination would."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.local_api import confirm, confirmation, create_order, order, request

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def eventually(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def local_events(system: FullStack) -> dict[str, Any]:
    with urllib.request.urlopen(f"{system.api}/_local/events.json", timeout=10) as answer:  # noqa: S310 - local
        return json.loads(answer.read())  # type: ignore[no-any-return]


def test_a_payment_reaches_the_bus_the_events_page_and_the_shop_webhook(system: FullStack) -> None:
    created = create_order(system.api)
    reference = created["reference"]
    session = order(system.api, reference)["sessions"][0]["bank_reference"]
    assert confirm(system.api, confirmation(session, "Annulation", "", reason="Refus")) == "version=2\ncdr=0\n"
    assert confirm(system.api, confirmation(session, "payetest", "123456")) == "version=2\ncdr=0\n"
    assert confirm(system.api, confirmation(session, "payetest", "123456")) == "version=2\ncdr=0\n"  # a replay

    expected = [("PaymentSessionOpened", "awaiting_payment"), ("PaymentRefused", "awaiting_payment"),
                ("OrderPaid", "paid")]  # fmt: skip
    told = eventually(lambda: system.shop.shop.state.notifications.get(reference) == expected)
    assert told, system.shop.shop.state.notifications.get(reference)

    def listed() -> list[str]:
        # The page reads its own copy of the bus (a queue of its own), which may trail the webhook's by a poll.
        return sorted(e["detail-type"] for e in local_events(system)["events"] if e["detail"]["reference"] == reference)

    eventually(lambda: listed() == sorted(kind for kind, _ in expected))
    assert listed() == sorted(kind for kind, _ in expected)

    def delivered() -> set[str]:
        # The shop records a call before it answers; the delivery's status is written once the answer is back.
        deliveries = [d for d in local_events(system)["deliveries"] if d["reference"] == reference]
        statuses = {d["status"] for d in deliveries}
        return statuses if len(deliveries) == len(expected) and statuses == {"delivered (204)"} else set()

    assert eventually(delivered), local_events(system)["deliveries"]
    status, page, _ = request("GET", f"{system.api}/_local/events")
    assert status == 200
    assert "OrderPaid" in page
    assert reference in page


def test_the_shop_refuses_a_webhook_call_without_its_token(system: FullStack) -> None:
    body = json.dumps({"detail-type": "OrderPaid", "detail": {"event_id": "x", "reference": "FAKE", "status": "paid"}})
    status, _, _ = request("POST", system.shop.webhook_url, body.encode(), "application/json")
    assert status == 401
    assert "FAKE" not in system.shop.shop.state.notifications


def test_the_buyer_and_the_merchant_mails_show_on_the_local_mail_page(system: FullStack) -> None:
    created = create_order(system.api)
    reference = created["reference"]
    session = order(system.api, reference)["sessions"][0]["bank_reference"]
    assert confirm(system.api, confirmation(session, "payetest", "654321")) == "version=2\ncdr=0\n"

    def listed() -> str:
        status, page, _ = request("GET", f"{system.api}/_local/mail")
        assert status == 200
        return page if f"Paiement reçu : {reference}" in page else ""

    page = eventually(listed)
    assert "Votre paiement à La boutique du CD est confirmé" in page
    assert "buyer@example.com" in page
    assert "commandes@boutiqueducd.example" in page
    newest = max(int(n) for n in re.findall(r"/_local/mail/ses-(\d+)", page))
    status, shown, _ = request("GET", f"{system.api}/_local/mail/ses-{newest}")
    assert status == 200
    assert "654321" in shown  # the authorisation number, in the text and the sandboxed HTML
    assert "<iframe sandbox" in shown
    assert request("GET", f"{system.api}/_local/mail/ses-9999")[0] == 404


def test_the_reconciliation_runs_on_demand_against_the_sandbox_and_imports_its_xml(system: FullStack) -> None:
    created = create_order(system.api)
    session = order(system.api, created["reference"])["sessions"][0]["bank_reference"]
    confirm(system.api, confirmation(session, "payetest", "111111"))
    status, text, _ = request("POST", f"{system.api}/_local/reconcile", b"")
    assert status == 200, text
    (report,) = json.loads(text).values()
    assert report["source"] == "schedule"
    assert report["report_key"].startswith("reconciliation/")
    assert report["checked"] >= 1
    xml = (
        b'<recouvrements tpe="0900157"><paiement><reference>NOSUCHORDER00</reference>'
        b"<montant_recouvre>10.00EUR</montant_recouvre></paiement></recouvrements>"
    )
    status, text, _ = request("POST", f"{system.api}/reconciliation/captures", xml, "application/xml")
    assert status == 200, text
    assert [d["kind"] for d in json.loads(text)["differences"]] == ["captured_unknown_order"]
