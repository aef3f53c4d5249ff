"""``make run``'s reconciliation against the sandbox bank: a payment whose confirmation never reached CGI2 and a
refund made in the bank's dashboard are found and recorded by ``POST /_local/reconcile``; the dashboard's XML
export of captured payments is compared with the books."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simulator.tests.support.full_stack import FullStack, full_stack
from simulator.tests.support.sandbox_stack import call, checkout_and_pay, create, dashboard, merchant_order, paid_order


@pytest.fixture(scope="module")
def system() -> Iterator[FullStack]:
    with full_stack() as running:
        yield running


def reconcile(system: FullStack, at: datetime) -> dict[str, Any]:
    status, _, text = call(f"{system.api}/_local/reconcile", json.dumps({"now": at.isoformat()}).encode())
    assert status == 200, text
    (report,) = json.loads(text).values()
    return dict(report)


def test_a_missed_confirmation_and_a_dashboard_refund_are_repaired(system: FullStack) -> None:
    # A payment the bank accepted whose confirmation CGI2 never got (the bank alerts, the order stays unpaid).
    missed = create(system, tpe="0900157")
    cgi2 = system.stack.functions["Cgi2Function"]
    cgi2.replacement = lambda event, context: {"statusCode": 503, "body": "down", "headers": {}}
    try:
        checkout_and_pay(system, missed)
    finally:
        cgi2.replacement = None
    assert merchant_order(system, missed["reference"])["status"] == "awaiting_payment"
    _, _, mails = call(f"{system.api}/_local/mail")
    assert "Alerte : la confirmation de la commande" in mails  # the bank's alert mail, shown locally
    # A paid order refunded in the bank's dashboard, not through the API.
    refunded, bank_reference = paid_order(system, "0900157")
    browser = dashboard(system, "0900157")
    _, _, page = browser.open(
        f"/test/gestion/commande/{bank_reference}/recredit", {"jeton": browser.token(), "montant": "20.00"}
    )
    assert "effectué" in page

    report = reconcile(system, datetime.now(UTC) + timedelta(hours=1))  # past the missed session's 45 minutes
    found = {(d["reference"], d["kind"], d["repaired"]) for d in report["differences"]}
    assert (missed["reference"], "missed_confirmation", True) in found
    assert (refunded, "done_at_the_bank", True) in found
    paid = merchant_order(system, missed["reference"])
    assert (paid["status"], paid["captured"]) == ("paid", "62.73")
    after = merchant_order(system, refunded)
    assert (after["status"], after["refunded"]) == ("partially_refunded", "20.00")
    assert after["operations"][-1]["outcome"] == "applied_outside_api"
    again = reconcile(system, datetime.now(UTC) + timedelta(hours=1))
    assert not [d for d in again["differences"] if d["reference"] in (missed["reference"], refunded)]


def test_the_dashboard_xml_of_captures_is_compared_with_the_books(system: FullStack) -> None:
    _, bank_reference = paid_order(system, "0900157")
    browser = dashboard(system, "0900157")
    today = datetime.now(ZoneInfo("Europe/Paris")).date()  # the bank files captures by its own day
    status, _, xml = browser.open(f"/test/gestion/xml/{today.isoformat()}.xml")
    assert status == 200, xml
    assert f"<reference>{bank_reference}</reference>" in xml
    extra = "<paiement><reference>NOSUCHORDER00</reference><montant_recouvre>9.99EUR</montant_recouvre></paiement>"
    xml = xml.replace("</recouvrements>", f"{extra}</recouvrements>")
    status, _, text = call(f"{system.api}/reconciliation/captures", xml.encode(), "application/xml")
    assert status == 200, text
    report = json.loads(text)
    assert report["checked"] >= 2
    assert [(d["reference"], d["kind"]) for d in report["differences"]] == [("NOSUCHORDER00", "captured_unknown_order")]
