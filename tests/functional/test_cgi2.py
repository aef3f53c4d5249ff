"""CGI2 under moto: every confirmation rule of docs/protocol.md, Confirmation, and one write round trip per
confirmation."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orders.exceptions import ConcurrentUpdateError
from orders.model import Order, OrderStatus
from orders.sessions import new_order_reference
from sealing import Instalment, Money
from tests.support.aws import event
from tests.support.instances import at_once
from tests.support.merchant import ACK_BAD, ACK_OK, SAMPLE, confirm, stored_order


def status(aws: Any, reference: str = SAMPLE) -> OrderStatus:
    return aws.store.get(reference).status  # type: ignore[no-any-return]


def test_sample_accepted_event_pays_the_order_in_one_write(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.writes.clear()
    response = aws.invoke("cgi2", event("confirmation_accepted.json"), lambda_context)
    assert response["statusCode"] == 200
    assert response["body"] == ACK_OK
    assert response["headers"]["Content-Type"] == "text/plain"
    assert response["headers"]["Pragma"] == "no-cache"
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert order.authorisation_number == "123456"
    assert order.captured == Decimal("62.73")
    assert aws.writes == ["UpdateItem"]  # ONE conditional write round trip


def test_refusal_keeps_the_order_payable_then_a_payment_pays_it(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    assert aws.invoke("cgi2", event("confirmation_refused.json"), lambda_context)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [(a.return_code, a.reason) for a in order.attempts] == [("Annulation", "Refus")]
    assert aws.invoke("cgi2", event("confirmation_accepted.json"), lambda_context)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [a.return_code for a in order.attempts] == ["Annulation", "payetest"]


def test_replay_is_acknowledged_and_changes_nothing(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.invoke("cgi2", event("confirmation_accepted.json"), lambda_context)
    before = aws.store.get(SAMPLE)
    aws.writes.clear()
    assert aws.invoke("cgi2", event("confirmation_accepted.json"), lambda_context)["body"] == ACK_OK
    assert aws.store.get(SAMPLE) == before
    assert aws.writes == []


def test_same_acceptance_resent_with_another_date_changes_nothing(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    before = aws.store.get(SAMPLE)
    assert confirm(aws, lambda_context, date="27/11/2026_a_10:16:00")["body"] == ACK_OK
    assert aws.store.get(SAMPLE) == before


def test_a_second_different_acceptance_is_flagged(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    confirm(aws, lambda_context)
    assert confirm(aws, lambda_context, numauto="999999")["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert order.authorisation_number == "123456"
    assert [r.reason.value for r in order.reviews] == ["second_acceptance"]


def test_tampered_confirmation_gets_cdr_1_and_changes_nothing(aws: Any, lambda_context: Any) -> None:
    before = stored_order(aws, SAMPLE)
    aws.writes.clear()
    response = aws.invoke("cgi2", event("confirmation_tampered.json"), lambda_context)
    assert response["body"] == ACK_BAD
    assert aws.store.get(SAMPLE) == before
    assert aws.writes == []


def test_wrong_key_gets_cdr_1(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    assert confirm(aws, lambda_context, key="0" * 40)["body"] == ACK_BAD
    assert status(aws) is OrderStatus.AWAITING_PAYMENT


@pytest.mark.parametrize("amount", ["6273.00EUR", "62.73USD", "62.72EUR"])
def test_amount_or_currency_mismatch_is_acknowledged_not_paid_and_flagged(
    aws: Any, lambda_context: Any, amount: str
) -> None:
    stored_order(aws, SAMPLE)
    assert confirm(aws, lambda_context, amount=amount)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [r.reason.value for r in order.reviews] == ["amount_mismatch"]
    raw = aws.dynamodb.get_item(TableName="orders-test", Key={"pk": {"S": f"ORDER#{SAMPLE}"}, "sk": {"S": "ORDER"}})
    assert "expires_at" not in raw["Item"]  # an order a human must look at is never expired by TTL


def test_payetest_on_a_production_terminal_is_not_a_payment(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, tpe="0900160")
    assert confirm(aws, lambda_context, tpe="0900160")["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [r.reason.value for r in order.reviews] == ["test_payment_on_production"]
    assert confirm(aws, lambda_context, "paiement", tpe="0900160")["body"] == ACK_OK
    assert status(aws) is OrderStatus.PAID


def test_unknown_reference_with_a_valid_seal_is_kept_for_reconciliation(aws: Any, lambda_context: Any) -> None:
    assert confirm(aws, lambda_context, reference="NOSUCHORDER1")["body"] == ACK_OK
    item = aws.dynamodb.query(
        TableName="orders-test",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "UNMATCHED#0900157#NOSUCHORDER1"}},
    )["Items"]
    assert len(item) == 1
    assert item[0]["fields"]["M"]["code-retour"]["S"] == "payetest"


def test_order_of_another_terminal_is_kept_for_reconciliation(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, tpe="0900158")
    assert confirm(aws, lambda_context, tpe="0900157")["body"] == ACK_OK
    assert status(aws) is OrderStatus.AWAITING_PAYMENT


def test_unconfigured_terminal_cannot_be_verified(aws: Any, lambda_context: Any) -> None:
    assert confirm(aws, lambda_context, tpe="1234567")["body"] == ACK_BAD


@pytest.mark.parametrize(
    "body", [b"", b"garbage", b"TPE=0900157&TPE=0900157&MAC=00", b"\xff\xfe=\x00", b"a=1&" * 40000]
)
def test_malformed_bodies_get_cdr_1(aws: Any, lambda_context: Any, body: bytes) -> None:
    post = event("confirmation_accepted.json")
    post["body"] = base64.b64encode(body).decode()
    response = aws.invoke("cgi2", post, lambda_context)
    assert (response["statusCode"], response["body"]) == (200, ACK_BAD)


def test_new_fields_from_the_bank_are_sealed_too(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    extra = (("motifrefusautorisation", ""), ("nouveau_champ_2027", "x"))
    assert confirm(aws, lambda_context, extra=extra)["body"] == ACK_OK
    assert status(aws) is OrderStatus.PAID


def test_deferred_terminal_authorizes_with_a_deadline(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, tpe="0900158")
    assert confirm(aws, lambda_context, tpe="0900158")["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AUTHORIZED
    # Ordered Friday 27/11/2026 at 10:00 Paris: 3 working days end on Wednesday 2/12 at midnight.
    assert order.deadline == datetime(2026, 12, 3, 0, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_deferred_authorization_terminal_registers_the_card(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE, tpe="0900159")
    assert confirm(aws, lambda_context, tpe="0900159")["body"] == ACK_OK
    assert status(aws) is OrderStatus.CARD_REGISTERED


def test_instalment_confirmations_are_recorded(aws: Any, lambda_context: Any) -> None:
    thirds = [Instalment(date(2026, 11 + n, 27) if n < 2 else date(2027, 1, 27), Money(Decimal("20.91"), "EUR"))
              for n in range(3)]  # fmt: skip
    stored_order(aws, SAMPLE, instalments=tuple(thirds))
    confirm(aws, lambda_context, "paiement")
    confirm(aws, lambda_context, "paiement_pf2", numauto="222222", date="27/12/2026_a_10:15:00")
    confirm(aws, lambda_context, "Annulation_pf3", numauto="", date="27/01/2027_a_10:15:00")
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [(a.return_code, a.instalment) for a in order.attempts] == [
        ("paiement", None), ("paiement_pf2", 2), ("Annulation_pf3", 3),
    ]  # fmt: skip
    assert [r.reason.value for r in order.reviews] == ["instalment_refused"]
    assert order.captured == Decimal("41.82")  # the first and the second: the bank refused the third


def test_concurrent_duplicates_make_exactly_one_transition(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    confirmation = event("confirmation_accepted.json")
    answers = at_once([lambda: aws.invoke("cgi2", dict(confirmation), lambda_context)["body"]] * 6)
    assert answers == [ACK_OK] * 6
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert len(order.attempts) == 1
    assert order.version == 1


def test_a_lost_race_rereads_and_decides_again(aws: Any, lambda_context: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stored_order(aws, SAMPLE)
    real_apply = aws.store.apply
    calls: list[int] = []

    def apply_after_a_competitor(order: Order, decision: Any) -> None:
        if not calls:
            calls.append(1)
            confirm(aws, lambda_context, "Annulation", numauto="", reason="Refus")  # the competitor wins first
            raise ConcurrentUpdateError("lost")
        real_apply(order, decision)

    monkeypatch.setattr(aws.store, "apply", apply_after_a_competitor)
    assert confirm(aws, lambda_context)["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [a.return_code for a in order.attempts] == ["Annulation", "payetest"]


def test_reference_can_never_be_stored_twice(aws: Any) -> None:
    reference = new_order_reference(datetime.now(UTC))
    stored_order(aws, reference)
    with pytest.raises(ConcurrentUpdateError):
        stored_order(aws, reference)


def test_a_refusal_keeps_the_expiry_of_an_unpaid_order(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, SAMPLE)
    aws.invoke("cgi2", event("confirmation_refused.json"), lambda_context)
    raw = aws.dynamodb.get_item(TableName="orders-test", Key={"pk": {"S": f"ORDER#{SAMPLE}"}, "sk": {"S": "ORDER"}})
    assert "expires_at" in raw["Item"]


@pytest.mark.parametrize("code", ["annulation", "ANNULATION"])
def test_a_refusal_in_lower_case_is_a_refusal(aws: Any, lambda_context: Any, code: str) -> None:
    stored_order(aws, SAMPLE)
    assert confirm(aws, lambda_context, code, "", reason="Refus")["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [(a.return_code, a.reason) for a in order.attempts] == [("Annulation", "Refus")]


@pytest.mark.parametrize(("value", "saved"), [("1", True), ("0", False)])
def test_cbenregistree_is_recorded_on_the_attempt(aws: Any, lambda_context: Any, value: str, saved: bool) -> None:
    stored_order(aws, SAMPLE, card_alias="client7")
    assert confirm(aws, lambda_context, extra=(("cbenregistree", value),))["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert order.attempts[-1].card_saved is saved
    assert order.as_json()["attempts"][-1]["card_saved"] is saved
    assert order.as_json()["card_alias"] == "client7"


def test_behind_a_base_path_mapping_the_bank_s_post_is_acknowledged_and_nothing_else_is_cgi2(
    aws: Any, lambda_context: Any
) -> None:
    # A custom domain's base path leaves its prefix in ``path``: routed on the resource, the POST pays the order.
    stored_order(aws, SAMPLE)
    for method in ("GET", "HEAD", "PUT"):  # the same resource, another method: the API's 404, nothing written
        request = {**event("confirmation_accepted.json"), "httpMethod": method, "path": "/pay/confirmation"}
        answer = aws.invoke("cgi2", request, lambda_context)
        assert answer["statusCode"] == 404, method
        assert "cdr" not in answer["body"]
    assert status(aws) is OrderStatus.AWAITING_PAYMENT
    request = {**event("confirmation_accepted.json"), "path": "/pay/confirmation"}
    assert request["isBase64Encoded"] is True  # API Gateway's binary media types: the exact bytes, base64
    answer = aws.invoke("cgi2", request, lambda_context)
    assert (answer["statusCode"], answer["body"]) == (200, ACK_OK)
    assert status(aws) is OrderStatus.PAID
