"""The console API and the scheduled sweeper, through their Lambda handlers, under moto and a fake bank."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orders.model import OrderStatus
from tests.support.aws import terminals_config
from tests.support.fakebank import Account, FakeBank
from tests.support.merchant import BILLING, age_pending_operation, call, confirm, registered, stored_order


def test_capture_partial_then_all_then_refund(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "BO1")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/capture", "BO1", {"amount": "10.00"})
    assert (status, order["status"], order["captured"]) == (200, "partially_captured", "10.00")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/capture", "BO1", {})
    assert (status, order["status"], order["captured"]) == (200, "captured", "62.73")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/refund", "BO1", {"amount": "5.00"})
    assert (status, order["status"], order["refunded"]) == (200, "partially_refunded", "5.00")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/refund", "BO1")
    assert (status, order["status"], order["refunded"]) == (200, "refunded", "62.73")
    assert [op["outcome"] for op in order["operations"]] == ["done"] * 4


def test_cancel_what_remains(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "BO2", "0900158")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/cancel", "BO2")
    assert (status, order["status"], order["cancelled"]) == (200, "cancelled", "62.73")
    assert bank.accounts["BO200"].cancelled


@pytest.mark.parametrize(
    ("tpe", "path", "body", "status", "words"),
    [
        ("0900157", "capture", None, 409, "immediate"),
        ("0900159", "refund", {"amount": "1.00"}, 409, "refund"),
        ("0900159", "capture", {"amount": "70.00"}, 409, "more than"),
        ("0900159", "capture", {"amount": "1,50"}, 400, "amount"),
        ("0900159", "capture", {"amount": 10}, 400, "amount"),
        (
            "0900159",
            "capture",
            {"amount": "10"},
            400,
            'amount: "10" is not an amount in EUR like 62.73 (exactly 2 decimals)',
        ),
        ("0900157", "refund", {"amount": "5.5"}, 400, 'amount: "5.5" is not an amount in EUR like 62.73 (exactly 2'),
        ("0900159", "capture", {"amount": "0.00"}, 400, "amount: must be more than zero"),
        ("0900159", "capture", {"amont": "1.00"}, 400, "amont"),
    ],
)
def test_operations_the_state_or_input_does_not_allow(
    aws: Any, lambda_context: Any, bank: FakeBank, tpe: str, path: str, body: Any, status: int, words: str
) -> None:
    registered(aws, lambda_context, "BO3", tpe)
    before = aws.store.get("BO3")
    answer_status, answer = call(aws, lambda_context, "POST", f"/orders/{{reference}}/{path}", "BO3", body)
    assert answer_status == status
    assert words in answer["error"]["message"]
    assert aws.store.get("BO3") == before
    assert [cgi for cgi, _ in bank.calls if cgi != "etatpaiement.cgi"] == []


DEEP = b'{"amount": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"


@pytest.mark.parametrize(
    ("tpe", "path", "body", "field"),
    [
        ("0900158", "cancel", b"{not json", "body"),
        ("0900158", "cancel", b"[]", "body"),
        ("0900158", "cancel", {"amount": "1.00"}, "amount"),
        ("0900158", "cancel", {"reason": "buyer asked"}, "reason"),
        ("0900158", "cancel", DEEP, "body"),
        ("0900159", "capture", {"amount": None}, "amount"),
        ("0900159", "capture", DEEP, "body"),
        ("0900159", "capture", b'{"amount": "1.00", "amount": "62.73"}', "body"),
        ("0900157", "refund", {"amount": None}, "amount"),
        ("0900157", "refund", b"{not json", "body"),
    ],
)
def test_a_body_that_cannot_be_read_exactly_does_nothing(
    aws: Any, lambda_context: Any, bank: FakeBank, tpe: str, path: str, body: Any, field: str
) -> None:
    registered(aws, lambda_context, "BO5", tpe)
    before = aws.store.get("BO5")
    status, answer = call(aws, lambda_context, "POST", f"/orders/{{reference}}/{path}", "BO5", body)
    assert (status, answer["error"]["field"]) == (400, field)
    assert aws.store.get("BO5") == before
    assert bank.calls == []


def test_cancel_takes_an_empty_object_as_no_body(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "BO6", "0900158")
    status, order = call(aws, lambda_context, "POST", "/orders/{reference}/cancel", "BO6", {})
    assert (status, order["status"]) == (200, "cancelled")


def test_unknown_order_is_a_404(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    assert call(aws, lambda_context, "POST", "/orders/{reference}/cancel", "NOPE")[0] == 404


def test_bank_refusal_and_silence_are_502_and_never_half_applied(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "BO4")
    capture = "/orders/{reference}/capture"
    bank.refuse_next = 1
    status, answer = call(aws, lambda_context, "POST", capture, "BO4", {"amount": "10.00"})
    assert status == 502
    assert "refused" in answer["error"]["message"]
    bank.lose_answer_next = 1
    status, answer = call(aws, lambda_context, "POST", capture, "BO4", {"amount": "10.00"})
    assert status == 502
    assert "checked with the bank" in answer["error"]["message"]
    status, answer = call(aws, lambda_context, "POST", capture, "BO4", {"amount": "10.00"})
    assert (status, "in progress" in answer["error"]["message"]) == (409, True)
    age_pending_operation(aws, "BO4")
    status, answer = call(aws, lambda_context, "POST", capture, "BO4", {"amount": "10.00"})
    assert status == 409
    assert "found applied" in answer["error"]["message"]
    status, order = call(aws, lambda_context, "POST", capture, "BO4", {"amount": "5.00"})
    assert status == 200
    assert order["captured"] == "15.00"
    assert str(bank.accounts["BO400"].captured) == "15.00"


def test_idempotency_key_header(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "BO5")
    capture = "/orders/{reference}/capture"
    headers = {"Idempotency-Key": "order-BO5-capture-1"}
    bank.lose_answer_next = 1
    assert call(aws, lambda_context, "POST", capture, "BO5", {"amount": "10.00"}, headers=headers)[0] == 502
    age_pending_operation(aws, "BO5")
    status, order = call(aws, lambda_context, "POST", capture, "BO5", {"amount": "10.00"}, headers=headers)
    assert (status, order["captured"]) == (200, "10.00")
    status, again = call(aws, lambda_context, "POST", capture, "BO5", {"amount": "10.00"}, headers=headers)
    assert (status, again) == (200, order)
    assert bank.captures() == 1
    status, answer = call(
        aws, lambda_context, "POST", capture, "BO5", {"amount": "1.00"}, headers={"Idempotency-Key": "x"}
    )
    assert (status, answer["error"]["field"]) == (400, "Idempotency-Key")


def test_list_orders_newest_first_paginated_and_filtered(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    today = datetime.now(UTC)
    for number, days_ago in enumerate([0, 0, 1, 3, 130]):
        reference = f"LS{number}"
        stored_order(aws, reference, created_at=today - timedelta(days=days_ago, minutes=number))
    confirm(aws, lambda_context, reference="LS100")
    status, page = call(aws, lambda_context, "GET", "/orders", limit="2")
    assert status == 200
    assert [o["reference"] for o in page["orders"]] == ["LS0", "LS1"]
    status, page = call(aws, lambda_context, "GET", "/orders", limit="2", cursor=page["next"])
    assert [o["reference"] for o in page["orders"]] == ["LS2", "LS3"]
    status, page = call(aws, lambda_context, "GET", "/orders", limit="2", cursor=page["next"])
    assert (page["orders"], page["next"]) == ([], None)  # LS4 is older than the default 120 days
    old_day = (today - timedelta(days=130, minutes=4)).astimezone(ZoneInfo("Europe/Paris")).date().isoformat()
    status, page = call(aws, lambda_context, "GET", "/orders", **{"from": old_day, "to": old_day})
    assert [o["reference"] for o in page["orders"]] == ["LS4"]
    status, page = call(aws, lambda_context, "GET", "/orders", status="paid")
    assert [o["reference"] for o in page["orders"]] == ["LS1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"from": "27/11/2026"}, "from"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
        ({"limit": "0"}, "limit"),
        ({"limit": "\u00b2"}, "limit"),
        ({"cursor": "eyJkYXkiOiIyMDI2LTExLTI3Iiwia2V5Ijp7InBrIjp7Ik4iOiIxIn19fQ"}, "cursor"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"[" * 20_000).decode()}, "cursor"),
    ],
)
def test_list_orders_bad_query_is_a_400(aws: Any, lambda_context: Any, query: dict[str, str], field: str) -> None:
    status, answer = call(aws, lambda_context, "GET", "/orders", **query)
    assert (status, answer["error"]["field"]) == (400, field)


def test_scheduled_sweep_at_a_given_time(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "SW1", "0900158")  # deferred, validate at the end
    registered(aws, lambda_context, "SW2", "0900159")  # deferred authorisation, cancel at the end
    scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "time": "2026-11-28T09:00:00Z"}
    early = aws.invoke("deferred_sweeper", scheduled, lambda_context)
    assert early["outcomes"] == {}
    late = aws.invoke("deferred_sweeper", {**scheduled, "time": "2026-12-24T08:00:00Z"}, lambda_context)
    assert late["outcomes"] == {"SW1": "capture_full", "SW2": "cancel"}
    assert late["items_read"] == 2
    assert aws.store.get("SW1").status is OrderStatus.CAPTURED
    assert aws.store.get("SW2").status is OrderStatus.CANCELLED


# --- Idempotency-Key: one request per key, across the whole stack ------------------------------------------------

CAPTURE = "/orders/{reference}/capture"


def test_a_key_replays_a_bank_refusal_without_calling_the_bank_again(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "IK1")
    headers = {"Idempotency-Key": "refused-capture-1"}
    bank.refuse_next = 1
    first = call(aws, lambda_context, "POST", CAPTURE, "IK1", {"amount": "10.00"}, headers=headers)
    assert first[0] == 502
    again = call(aws, lambda_context, "POST", CAPTURE, "IK1", {"amount": "10.00"}, headers=headers)
    assert again == first
    assert bank.captures() == 1
    assert aws.store.get("IK1").captured == 0


def test_a_key_sent_with_another_request_is_a_422(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "IK2")
    registered(aws, lambda_context, "IK3")
    headers = {"Idempotency-Key": "one-request-only"}
    assert call(aws, lambda_context, "POST", CAPTURE, "IK2", {"amount": "10.00"}, headers=headers)[0] == 200
    for reference, body in (("IK2", {"amount": "5.00"}), ("IK3", {"amount": "10.00"})):
        status, answer = call(aws, lambda_context, "POST", CAPTURE, reference, body, headers=headers)
        assert (status, answer["error"]["field"]) == (422, "Idempotency-Key")
    status, answer = call(
        aws, lambda_context, "POST", "/orders/{reference}/refund", "IK2", {"amount": "10.00"}, headers
    )
    assert status == 422
    assert bank.captures() == 1
    assert aws.store.get("IK3").captured == 0
    # The same request with the body written differently is the same request.
    status, order = call(aws, lambda_context, "POST", CAPTURE, "IK2", {"amount": "10.00"}, headers=headers)
    assert (status, order["captured"]) == (200, "10.00")


def test_a_key_whose_first_request_is_in_flight_is_a_409(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "IK4")
    headers = {"Idempotency-Key": "slow-capture-1"}
    inside, release = threading.Event(), threading.Event()

    def slow_bank(url: str, body: bytes, timeout: float) -> bytes:
        if url.endswith("capture_paiement.cgi"):
            inside.set()
            release.wait(10)
        return bank(url, body, timeout)

    aws.use(bank_transport=slow_bank)
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(call(aws, lambda_context, "POST", CAPTURE, "IK4", {"amount": "10.00"}, headers))
    )
    first.start()
    try:
        assert inside.wait(10)
        status, answer = call(aws, lambda_context, "POST", CAPTURE, "IK4", {"amount": "10.00"}, headers=headers)
        assert (status, answer["error"]["field"]) == (409, "Idempotency-Key")
    finally:
        release.set()
        first.join(10)
    assert answers[0][0] == 200
    assert call(aws, lambda_context, "POST", CAPTURE, "IK4", {"amount": "10.00"}, headers=headers) == answers[0]
    assert bank.captures() == 1


def test_a_retry_performs_a_first_request_found_not_applied(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "IK5")
    headers = {"Idempotency-Key": "never-reached-1"}
    bank.timeout_next = 1  # the capture never reached the bank
    assert call(aws, lambda_context, "POST", CAPTURE, "IK5", {"amount": "10.00"}, headers=headers)[0] == 502
    age_pending_operation(aws, "IK5")
    status, order = call(aws, lambda_context, "POST", CAPTURE, "IK5", {"amount": "10.00"}, headers=headers)
    assert (status, order["captured"]) == (200, "10.00")
    assert [op["outcome"] for op in order["operations"]] == ["not_applied", "done"]
    assert bank.accounts["IK500"].captured == Decimal("10.00")
    assert call(aws, lambda_context, "POST", CAPTURE, "IK5", {"amount": "10.00"}, headers=headers) == (status, order)
    assert bank.captures() == 2  # the one that never arrived, and its retry


def test_bad_input_does_not_use_up_the_key(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "IK6")
    headers = {"Idempotency-Key": "fix-and-retry-1"}
    assert call(aws, lambda_context, "POST", CAPTURE, "IK6", {"amount": "1,00"}, headers=headers)[0] == 400
    status, order = call(aws, lambda_context, "POST", CAPTURE, "IK6", {"amount": "1.00"}, headers=headers)
    assert (status, order["captured"]) == (200, "1.00")


# --- drift with the bank's own dashboard ------------------------------------------------------------------------


def test_a_validation_in_the_banks_dashboard_is_recorded_then_refunds_work(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "DR1", "0900158")
    bank.accounts["DR100"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), captured_on=date(2026, 11, 30))
    status, answer = call(aws, lambda_context, "POST", CAPTURE, "DR1", {})
    assert status == 409
    assert "capture_full of 62.73 EUR done outside this API" in answer["error"]["message"]
    order = aws.store.get("DR1")
    assert (order.status, order.captured) == (OrderStatus.CAPTURED, Decimal("62.73"))
    assert [(op.outcome, op.bank_day) for op in order.operations] == [
        ("refused", None),
        ("applied_outside_api", date(2026, 11, 30)),
    ]
    status, refunded = call(aws, lambda_context, "POST", "/orders/{reference}/refund", "DR1", {"amount": "5.00"})
    assert (status, refunded["refunded"]) == (200, "5.00")
    refund = next(fields for cgi, fields in bank.calls if cgi == "recredit_paiement.cgi")
    assert refund["date_remise"] == "30/11/2026"  # the bank's capture day


def test_a_refund_in_the_banks_dashboard_is_recorded_then_refunds_work(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "DR2", "0900157")
    bank.accounts["DR200"] = Account(Decimal("62.73"), "EUR", captured=Decimal("62.73"), refunded=Decimal("20.00"))
    refund = "/orders/{reference}/refund"
    status, answer = call(aws, lambda_context, "POST", refund, "DR2", {"amount": "5.00"})
    assert status == 409
    assert "refund_partial of 20.00 EUR" in answer["error"]["message"]
    order = aws.store.get("DR2")
    assert (order.status, order.refunded) == (OrderStatus.PARTIALLY_REFUNDED, Decimal("20.00"))
    status, answer = call(aws, lambda_context, "POST", refund, "DR2", {"amount": "5.00"})
    assert (status, answer["refunded"]) == (200, "25.00")
    assert bank.accounts["DR200"].refunded == Decimal("25.00")


def test_a_plain_refusal_is_still_a_502(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    registered(aws, lambda_context, "DR3", "0900158")
    bank.refuse_next = 1
    status, answer = call(aws, lambda_context, "POST", CAPTURE, "DR3", {})
    assert (status, answer["error"]["message"]) == (502, "the bank refused: capture: refus")
    assert [op.outcome for op in aws.store.get("DR3").operations] == ["refused"]


# --- dates in the terminal's time zone ------------------------------------------------------------------------


def test_order_days_are_the_terminals(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    from orders.payment import create_order
    from orders.terminals import Terminals

    martinique = terminals_config(**{"0900158": {"timezone": "America/Martinique"}})
    aws.set_terminals(martinique)
    late_evening = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)  # Thursday 26 November, 22:30 in Martinique
    payload = {"tpe": "0900158", "amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    created = create_order(payload, Terminals.from_mapping(martinique), aws.store, late_evening)
    status, page = call(aws, lambda_context, "GET", "/orders", **{"from": "2026-11-26", "to": "2026-11-26"})
    assert (status, [o["reference"] for o in page["orders"]]) == (200, [created.order.reference])


def test_the_default_list_ends_on_the_latest_today_of_the_terminals(aws: Any) -> None:
    from orders.listing import list_orders
    from orders.payment import create_order
    from orders.terminals import Terminals

    kiritimati = Terminals.from_mapping(terminals_config(**{"0900158": {"timezone": "Pacific/Kiritimati"}}))
    noon = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # already Saturday 28 at Kiritimati (UTC+14)
    payload = {"tpe": "0900158", "amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    created = create_order(payload, kiritimati, aws.store, noon)
    zones = {terminal.terminal.timezone for terminal in kiritimati.by_tpe.values()}
    page = list_orders(aws.store, {}, noon, zones)
    assert [order.reference for order in page.orders] == [created.order.reference]


def test_the_console_lists_each_orders_description(aws: Any, lambda_context: Any, bank: FakeBank) -> None:
    now = datetime.now(UTC)
    stored_order(aws, "DESC1", created_at=now, description="2 BIC Bleu (par 10), 7 Calvados")
    stored_order(aws, "DESC2", created_at=now - timedelta(minutes=1))
    status, page = call(aws, lambda_context, "GET", "/orders", limit="2")
    assert status == 200
    assert [(o["reference"], o["description"]) for o in page["orders"]] == [
        ("DESC1", "2 BIC Bleu (par 10), 7 Calvados"),
        ("DESC2", None),
    ]
