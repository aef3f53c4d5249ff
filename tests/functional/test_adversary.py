"""Adversarial review of the money path: each test here pins a defect found by attacking main.

Each test failed on the code the review attacked and passes since its fix.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from orders.lifecycle import MAX_ATTEMPTS_KEPT
from orders.model import Attempt, OrderStatus, PaymentSession
from orders.sessions import bank_reference
from tests.support.aws import event
from tests.support.fakebank import FakeBank
from tests.support.merchant import (
    ACK_OK,
    BILLING,
    SAMPLE,
    age_pending_operation,
    call,
    confirm,
    create_request,
    registered,
    stored_order,
)

CAPTURE = "/orders/{reference}/capture"
REFUND = "/orders/{reference}/refund"


def test_retrying_a_request_told_the_previous_one_applied_never_captures_twice(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "ADV1")
    bank.lose_answer_next = 1  # the first capture is applied by the bank, its answer lost
    first = {"Idempotency-Key": "capture-attempt-1"}
    assert call(aws, lambda_context, "POST", CAPTURE, "ADV1", {"amount": "10.00"}, headers=first)[0] == 502
    age_pending_operation(aws, "ADV1")
    # The caller, not knowing, sends the capture again under a new key: told the earlier one applied.
    second = {"Idempotency-Key": "capture-attempt-2"}
    told = call(aws, lambda_context, "POST", CAPTURE, "ADV1", {"amount": "10.00"}, headers=second)
    assert told[0] == 409
    assert "found applied" in told[1]["error"]["message"]
    # A client retries a 409 (the API answers 409 for "in flight, retry later"), same key, same request: an
    # Idempotency-Key promises the same answer, never a second capture.
    again = call(aws, lambda_context, "POST", CAPTURE, "ADV1", {"amount": "10.00"}, headers=second)
    assert bank.accounts["ADV100"].captured == Decimal("10.00")
    assert bank.captures() == 1
    assert again == told


def test_a_second_payment_under_another_session_is_flagged_whatever_its_authorisation_number(
    aws: Any, lambda_context: Any
) -> None:
    opened = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    sessions = tuple(PaymentSession(n, bank_reference(SAMPLE, n), opened + timedelta(hours=n)) for n in (0, 1))
    stored_order(aws, SAMPLE, sessions=sessions)
    # The buyer paid in two tabs (session 00, then session 01 opened after the first one's 45 minutes): two
    # payments, two debits. Authorisation numbers are the issuer's 6 characters: two payments can share one.
    assert confirm(aws, lambda_context, "paiement", reference=SAMPLE + "00")["body"] == ACK_OK
    assert (
        confirm(aws, lambda_context, "paiement", reference=SAMPLE + "01", date="27/11/2026_a_10:20:00")["body"]
        == ACK_OK
    )
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.PAID
    assert [r.reason.value for r in order.reviews] == ["second_acceptance"]
    assert [a.bank_reference for a in order.attempts] == [SAMPLE + "00", SAMPLE + "01"]


def test_a_key_reused_after_it_expired_is_not_answered_200_without_doing_anything(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    registered(aws, lambda_context, "ADV3")
    headers = {"Idempotency-Key": "weekly-capture-key"}
    assert call(aws, lambda_context, "POST", CAPTURE, "ADV3", {"amount": "10.00"}, headers=headers)[0] == 200
    # A day later the key's item has expired (the table's TTL may not have removed it yet): the key is free.
    aws.dynamodb.update_item(
        TableName=aws.store.table_name,
        Key={"pk": {"S": "IDEMPOTENCY#weekly-capture-key"}, "sk": {"S": "IDEMPOTENCY"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int((datetime.now(UTC) - timedelta(hours=1)).timestamp()))}},
    )
    status, answer = call(aws, lambda_context, "POST", CAPTURE, "ADV3", {"amount": "5.00"}, headers=headers)
    # Either it is a new request and captures 5.00, or it is refused as a reused key: never a 200 for nothing.
    done = status == 200 and answer["captured"] == "15.00"
    refused = status in (409, 422) and answer["error"]["field"] == "Idempotency-Key"
    assert done or refused, (status, answer)
    assert bank.accounts["ADV300"].captured == Decimal("15.00" if done else "10.00")


def refuse_oversized_keys_as_dynamodb_does(aws: Any) -> None:
    """moto takes any key; DynamoDB refuses a partition key over 2048 bytes with a ValidationException."""

    def check(params: dict[str, Any], model: Any, **_: Any) -> None:
        key = params.get("Key") or params.get("Item") or params.get("ExclusiveStartKey") or {}
        if len(key.get("pk", {}).get("S", "").encode()) > 2048:
            error = {"Code": "ValidationException", "Message": "Hash primary key values must be under 2048 bytes"}
            raise ClientError({"Error": error}, model.name)

    aws.dynamodb.meta.events.register("provide-client-params.dynamodb.*", check)


@pytest.mark.parametrize("path", ["capture", "cancel", "refund"])
def test_an_oversized_reference_on_the_console_is_a_404_not_a_store_outage(
    aws: Any, lambda_context: Any, bank: FakeBank, path: str
) -> None:
    refuse_oversized_keys_as_dynamodb_does(aws)
    status, answer = call(aws, lambda_context, "POST", f"/orders/{{reference}}/{path}", "A" * 3000, {})
    assert (status, answer["error"].get("field")) == (404, "reference")


def test_an_acceptance_of_the_wrong_amount_is_flagged_even_after_many_refusals(aws: Any, lambda_context: Any) -> None:
    # A hundred refused trips (card testing through the buyer's checkout link: each refusal opens a new session)
    refusals = tuple(
        Attempt("Annulation", datetime(2026, 11, 27, 9, 1, tzinfo=UTC), "Refus", confirmation_id=f"{n:040x}")
        for n in range(MAX_ATTEMPTS_KEPT)
    )
    stored_order(aws, SAMPLE, attempts=refusals)
    # then the bank confirms a payment of another amount: the buyer was debited, the order is not paid.
    assert confirm(aws, lambda_context, "paiement", amount="6273.00EUR")["body"] == ACK_OK
    order = aws.store.get(SAMPLE)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert [r.reason.value for r in order.reviews] == ["amount_mismatch"]
    raw = aws.dynamodb.get_item(TableName="orders-test", Key={"pk": {"S": f"ORDER#{SAMPLE}"}, "sk": {"S": "ORDER"}})
    assert "expires_at" not in raw["Item"]  # else the TTL deletes the only trace of that debit


@pytest.mark.parametrize(("path", "amount"), [("capture", "0.00"), ("refund", "0"), ("capture", "0")])
def test_a_zero_amount_is_a_400_naming_it_and_leaves_the_key_free(
    aws: Any, lambda_context: Any, bank: FakeBank, path: str, amount: str
) -> None:
    registered(aws, lambda_context, "ADV7")
    assert call(aws, lambda_context, "POST", CAPTURE, "ADV7", {"amount": "20.00"})[0] == 200
    headers = {"Idempotency-Key": f"zero-{path}-1"}
    status, answer = call(
        aws, lambda_context, "POST", f"/orders/{{reference}}/{path}", "ADV7", {"amount": amount}, headers
    )
    assert (status, answer["error"].get("field")) == (400, "amount")
    status, _ = call(aws, lambda_context, "POST", f"/orders/{{reference}}/{path}", "ADV7", {"amount": "1.00"}, headers)
    assert status == 200  # the corrected request, with the same key: nothing was done the first time


def _created(aws: Any, lambda_context: Any, **fields: Any) -> dict[str, Any]:
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING, **fields}
    response = aws.invoke("cgi1", create_request(body), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    return json.loads(response["body"])  # type: ignore[no-any-return]


@pytest.mark.parametrize("option", [{"three_ds_challenge": "challenge_preferred"}, {"card_alias": "client7"}])
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("free_text", "x*code-retour=paiement*montant=62.73EUR*reference={session}*zz="),
        ("email", "x*code-retour=paiement*d=@example.com"),
    ],
)
def test_no_order_can_carry_a_value_that_splits_its_seal(
    aws: Any, lambda_context: Any, option: dict[str, str], field: str, value: str
) -> None:
    # The attack: a value holding "*" is sealed with the form; its sealed string, split at those "*", reads as a
    # confirmation ("code-retour=paiement", the victim's reference) under the same MAC. No such value is taken.
    victim = _created(aws, lambda_context)["reference"]
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING, **option}
    body[field] = value.format(session=victim + "00")
    response = aws.invoke("cgi1", create_request(body), lambda_context)
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["field"] == field
    assert aws.store.get(victim).status is OrderStatus.AWAITING_PAYMENT


def test_a_buyers_own_checkout_form_posted_as_a_confirmation_is_refused(aws: Any, lambda_context: Any) -> None:
    created = _created(aws, lambda_context, card_alias="client7")
    form = created["form"]["fields"]  # what GET /checkout/{token} shows the buyer, sealed with the same key
    forged = [*form.items(), ("code-retour", "paiement")]  # even re-sealing is out of reach: the MAC stays the form's
    post = event("confirmation_accepted.json")
    post["body"] = base64.b64encode(urlencode(forged).encode()).decode()
    assert aws.invoke("cgi2", post, lambda_context)["body"] == "version=2\ncdr=1\n"
    assert aws.store.get(created["reference"]).status is OrderStatus.AWAITING_PAYMENT


def test_an_oversized_cursor_is_a_400_naming_it(aws: Any, lambda_context: Any) -> None:
    refuse_oversized_keys_as_dynamodb_does(aws)
    day = datetime.now(UTC).date().isoformat()
    key = {"pk": {"S": "ORDER#" + "A" * 3000}, "sk": {"S": "ORDER"}, "order_day": {"S": day}, "created_at": {"S": "x"}}
    cursor = base64.urlsafe_b64encode(json.dumps({"day": day, "key": key}).encode()).decode().rstrip("=")
    status, answer = call(aws, lambda_context, "GET", "/orders", cursor=cursor)
    assert (status, answer["error"].get("field")) == (400, "cursor")


def test_a_replayed_refusal_changes_nothing_on_a_full_order(aws: Any, lambda_context: Any) -> None:
    refusals = tuple(
        Attempt("Annulation", datetime(2026, 11, 27, 9, 1, tzinfo=UTC), "Refus", confirmation_id=f"{n:040x}")
        for n in range(MAX_ATTEMPTS_KEPT)
    )
    stored_order(aws, SAMPLE, attempts=refusals)
    assert confirm(aws, lambda_context, "Annulation", "", reason="Refus")["body"] == ACK_OK
    before = aws.store.get(SAMPLE)
    for _ in range(3):  # the bank (or anyone who saw it) posts the same confirmation again
        assert confirm(aws, lambda_context, "Annulation", "", reason="Refus")["body"] == ACK_OK
    after = aws.store.get(SAMPLE)
    assert (after.attempts_not_kept, after.version) == (before.attempts_not_kept, before.version)
