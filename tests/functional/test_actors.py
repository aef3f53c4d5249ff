"""Who did each back-office operation, as the order's history shows it (``GET /orders/{reference}``): the IAM
principal that signed the console call, the shop key's label (never the key), the deferred sweeper, the bank's
dashboard for what the reconciliation finds done there, the give-back of a second payment."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders.actors import NAME_KEPT
from orders.reconciliation import Reconciler
from tests.support.aws import event
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import SAMPLE, SESSION, call, confirm, registered, stored_order

CAPTURE = "/orders/{reference}/capture"
PRINCIPAL = "arn:aws:iam::123456789012:user/back-office"
SIGNED = {"identity": {"sourceIp": "203.0.113.7", "userArn": PRINCIPAL, "caller": "AIDAEXAMPLE"}}
WITH_KEY = {
    "identity": {"sourceIp": "203.0.113.7", "userArn": None, "caller": None},
    "authorizer": {"principalId": "key_7f3a", "key_id": "key_7f3a", "label": "PrestaShop back office"},
}


def history(aws: Any, lambda_context: Any, reference: str) -> list[dict[str, Any]]:
    """The order's operations as ``GET /orders/{reference}`` shows them."""
    get = event("get_order.json")
    get["pathParameters"] = {"reference": reference}
    response = aws.invoke("cgi1", get, lambda_context)
    assert response["statusCode"] == 200
    return json.loads(response["body"])["operations"]  # type: ignore[no-any-return]


def test_a_capture_signed_by_an_iam_principal_records_its_arn(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "AC1")
    status, _ = call(aws, lambda_context, "POST", CAPTURE, "AC1", {"amount": "10.00"}, context=SIGNED)
    assert status == 200
    [capture] = history(aws, lambda_context, "AC1")
    assert (capture["event"], capture["actor"]) == ("capture_partial", {"kind": "iam", "name": PRINCIPAL})


def test_a_capture_made_with_a_shop_key_records_its_label_and_id_only(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "AC2")
    status, _ = call(aws, lambda_context, "POST", CAPTURE, "AC2", {}, context=WITH_KEY)
    assert status == 200
    [capture] = history(aws, lambda_context, "AC2")
    assert capture["actor"] == {"kind": "key", "name": "PrestaShop back office (key_7f3a)"}


def test_an_actors_name_is_kept_to_its_bound_cut_between_characters(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "AC3")
    long_label = {**WITH_KEY, "authorizer": {"label": "x" + "é" * NAME_KEPT, "key_id": "key_7f3a"}}
    call(aws, lambda_context, "POST", CAPTURE, "AC3", {}, context=long_label)
    [capture] = history(aws, lambda_context, "AC3")
    # The label cut between characters to leave room for the id, which is always kept.
    room = NAME_KEPT - len(" (key_7f3a)")
    assert capture["actor"]["name"] == "x" + "é" * ((room - 1) // 2) + " (key_7f3a)"


def test_the_end_of_a_deferral_period_records_the_sweeper(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "AC4", "0900158")  # deferred: validated at the end of its period
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-12-24T08:00:00Z"}
    assert aws.invoke("deferred_sweeper", scheduled, lambda_context)["outcomes"] == {"AC4": "capture_full"}
    [capture] = history(aws, lambda_context, "AC4")
    assert (capture["event"], capture["actor"]["kind"]) == ("capture_full", "sweeper")


def test_a_refund_the_reconciliation_finds_done_in_the_dashboard_records_the_banks_dashboard(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    bank.accounts[SESSION] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), refunded=Decimal("20.00"))
    now = datetime.now(UTC)
    reconciler = Reconciler(aws.store, aws.deps.terminals(), aws.deps.bank_client)
    report = reconciler.run([now.date()], now + timedelta(hours=2), "test")
    assert [(d.kind, d.repaired) for d in report.differences] == [("done_at_the_bank", True)]
    [refund] = history(aws, lambda_context, SAMPLE)
    assert (refund["outcome"], refund["actor"]) == (
        "applied_outside_api", {"kind": "bank_dashboard", "name": "the bank's dashboard"},
    )  # fmt: skip


def test_a_refusal_records_who_asked_and_the_dashboards_capture_its_own_actor(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "AC5", "0900158")
    # Validated in the bank's dashboard, on a day before the end of its period.
    bank.accounts["AC500"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), captured_on=date(2026, 11, 30))
    status, _ = call(aws, lambda_context, "POST", CAPTURE, "AC5", {}, context=SIGNED)
    assert status == 409
    refused, found = history(aws, lambda_context, "AC5")
    assert (refused["outcome"], refused["actor"]["name"]) == ("refused", PRINCIPAL)
    assert (found["outcome"], found["actor"]["kind"]) == ("applied_outside_api", "bank_dashboard")


def test_two_people_signing_with_the_same_long_role_are_told_apart(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    # IAM Identity Center users: one role, the person in its session name, at the end of an ARN longer than a name.
    role = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_MerchantBackOffice_0123456789abcdef"
    names = []
    for reference, person in (("AC6", "alice.martin@example.com"), ("AC7", "bob.durand@example.com")):
        registered(aws, lambda_context, reference)
        signed = {"identity": {"sourceIp": "203.0.113.7", "userArn": f"{role}/{person}", "caller": "AROAEXAMPLE"}}
        status, _ = call(aws, lambda_context, "POST", CAPTURE, reference, {}, context=signed)
        assert status == 200
        [capture] = history(aws, lambda_context, reference)
        assert capture["actor"]["kind"] == "iam"
        assert len(capture["actor"]["name"].encode()) <= NAME_KEPT
        assert capture["actor"]["name"].endswith(f"/{person}")
        names.append(capture["actor"]["name"])
    assert names[0] != names[1]


def test_one_idempotency_key_sent_by_two_callers_applies_once_and_records_the_first(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "AC8")
    retried = {"Idempotency-Key": "capture-AC8-0001"}
    first = call(aws, lambda_context, "POST", CAPTURE, "AC8", {"amount": "10.00"}, headers=retried, context=SIGNED)
    again = call(aws, lambda_context, "POST", CAPTURE, "AC8", {"amount": "10.00"}, headers=retried, context=WITH_KEY)
    assert first == again
    [capture] = history(aws, lambda_context, "AC8")
    assert capture["actor"] == {"kind": "iam", "name": PRINCIPAL}
    assert bank.captures() == 1
