"""Payment sessions: an order stays payable while it awaits payment, each trip to the bank with its own reference."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from orders.actors import NAME_KEPT, Actor, ActorKind
from orders.lifecycle import MAX_ATTEMPTS_KEPT, MAX_REVIEWS_KEPT, MAX_TEXT_KEPT
from orders.model import Attempt, OperationRecord, OrderStatus, PaymentSession, Review, ReviewReason
from orders.payment import open_checkout
from orders.sessions import (
    CARD_ATTEMPTS_PER_REFERENCE,
    MAX_SESSIONS,
    SERVED_AT_STEP,
    SESSION_LIFETIME,
    bank_reference,
    order_reference_of,
    session_may_be_live,
)
from orders.store import order_key
from sealing import Money
from tests.support.aws import event
from tests.support.instances import at_once
from tests.support.item_size import ITEM_LIMIT, item_size
from tests.support.merchant import ACK_OK, BILLING, CheckoutForm, confirm, create, stored_order


class Clock:
    """The time every handler a test invokes sees; the test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def new_order(aws: Any, lambda_context: Any) -> tuple[str, str, dict[str, str]]:
    created = create(aws, lambda_context)["json"]
    return created["reference"], created["checkout_url"].rsplit("/", 1)[-1], created["form"]["fields"]


def checkout_form(aws: Any, lambda_context: Any, token: str) -> dict[str, str]:
    request = event("checkout.json")
    request["pathParameters"] = {"token": token}
    response = aws.invoke("checkout", request, lambda_context)
    assert response["statusCode"] == 200, response["body"]
    page = CheckoutForm()
    page.feed(response["body"])
    return dict(page.fields)


def refuse(aws: Any, lambda_context: Any, bank_reference: str, times: int = 4, start: int = 0) -> None:
    for attempt in range(start, start + times):
        date = f"27/11/2026_a_10:15:{attempt:02}"
        answer = confirm(
            aws, lambda_context, "Annulation", numauto="", reason="Refus", reference=bank_reference, date=date
        )
        assert answer["body"] == ACK_OK


def test_after_refusals_the_next_checkout_opens_a_session_with_a_new_bank_reference(
    aws: Any, lambda_context: Any
) -> None:
    reference, token, first = new_order(aws, lambda_context)
    assert checkout_form(aws, lambda_context, token) == first  # nothing came back yet: the same form, the same seal
    refuse(aws, lambda_context, first["reference"])
    second = checkout_form(aws, lambda_context, token)
    assert second["reference"] == reference + "01"  # never a reference the bank has seen
    assert second["reference"] != first["reference"]
    assert second["MAC"] != first["MAC"]
    assert confirm(aws, lambda_context, reference=second["reference"], amount=second["montant"])["body"] == ACK_OK
    order = aws.store.get(reference)
    assert order.status is OrderStatus.PAID
    assert order.reference == reference  # the merchant's reference never changes
    assert order.bank_reference == second["reference"]  # what back-office calls will name
    shown = order.as_json()
    assert [s["bank_reference"] for s in shown["sessions"]] == [first["reference"], second["reference"]]
    assert [a["bank_reference"] for a in shown["attempts"]] == [first["reference"]] * 4 + [second["reference"]]


def test_a_session_is_not_reused_once_idle_past_the_banks_time(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    opened = aws.store.get(reference).sessions[0].opened_at
    terminals = aws.deps.terminals()
    same = open_checkout(token, terminals, aws.store, opened + SERVED_AT_STEP - timedelta(seconds=1))
    assert same.form is not None
    assert dict(same.form.fields) == first
    # A form served less than SERVED_AT_STEP after the one recorded is not recorded: the bank may have restarted
    # its clock until then.
    later = open_checkout(token, terminals, aws.store, opened + SERVED_AT_STEP + SESSION_LIFETIME)
    assert later.form is not None
    assert dict(later.form.fields)["reference"] == reference + "01"
    assert len(aws.store.get(reference).sessions) == 2


def test_an_acceptance_on_an_older_session_after_payment_is_a_second_acceptance(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    refuse(aws, lambda_context, first["reference"])
    second = checkout_form(aws, lambda_context, token)
    assert confirm(aws, lambda_context, reference=second["reference"], numauto="222222")["body"] == ACK_OK
    # An acceptance under the first session arrives anyway (a late confirmation, a retry on the bank's side).
    assert confirm(aws, lambda_context, reference=first["reference"], numauto="111111")["body"] == ACK_OK
    order = aws.store.get(reference)
    assert order.status is OrderStatus.PAID
    assert order.authorisation_number == "222222"
    assert [r.reason for r in order.reviews] == [ReviewReason.SECOND_ACCEPTANCE]


def test_a_paid_order_opens_no_session(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    confirm(aws, lambda_context, reference=first["reference"])
    request = event("checkout.json")
    request["pathParameters"] = {"token": token}
    assert aws.invoke("checkout", request, lambda_context)["statusCode"] == 409
    assert len(aws.store.get(reference).sessions) == 1


def test_a_confirmation_for_a_session_never_opened_is_kept_unmatched(aws: Any, lambda_context: Any) -> None:
    reference, _, _ = new_order(aws, lambda_context)
    assert confirm(aws, lambda_context, reference=reference + "05")["body"] == ACK_OK
    assert aws.store.get(reference).status is OrderStatus.AWAITING_PAYMENT
    items = aws.dynamodb.scan(TableName="orders-test")["Items"]
    assert any(item["pk"]["S"] == f"UNMATCHED#0900157#{reference}05" for item in items)


def test_concurrent_checkouts_open_one_session(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    refuse(aws, lambda_context, first["reference"])
    forms = at_once([lambda: checkout_form(aws, lambda_context, token)] * 5)
    assert {form["reference"] for form in forms} == {reference + "01"}
    assert len({form["MAC"] for form in forms}) == 1
    assert len(aws.store.get(reference).sessions) == 2


def test_creating_an_order_writes_no_shared_item(aws: Any, lambda_context: Any) -> None:
    aws.writes.clear()
    references = {new_order(aws, lambda_context)[0] for _ in range(5)}
    assert len(references) == 5
    assert aws.writes == ["PutItem"] * 5  # one conditional put each: no counter every order updates
    keys = {item["pk"]["S"] for item in aws.dynamodb.scan(TableName="orders-test")["Items"]}
    assert keys == {f"ORDER#{reference}" for reference in references}


def test_bank_references_name_their_order() -> None:
    assert order_reference_of("ABCDEFGHIJ01") == "ABCDEFGHIJ"
    for not_a_session in ("", "A1", "ABCDEFGHIJ0é", "ABC-DEFGHI01"):
        assert order_reference_of(not_a_session) is None
    assert len(bank_reference("ABCDEFGHIJ", MAX_SESSIONS - 1)) == 12  # two base36 digits number every session


def test_the_deadline_counts_from_the_paid_sessions_date(aws: Any, lambda_context: Any) -> None:
    created = create(aws, lambda_context, tpe="0900158")["json"]
    reference, token = created["reference"], created["checkout_url"].rsplit("/", 1)[-1]
    order = aws.store.get(reference)
    later = order.sessions[0].opened_at + timedelta(days=3)
    checkout = open_checkout(token, aws.deps.terminals(), aws.store, later)
    assert checkout.form is not None
    fields = dict(checkout.form.fields)
    confirm(aws, lambda_context, reference=fields["reference"], tpe="0900158")
    paid = aws.store.get(reference)
    assert paid.status is OrderStatus.AUTHORIZED
    assert paid.deadline is not None
    assert paid.deadline > later  # from the second session's day, not the order's creation
    assert paid.bank_ordered_at == later  # the date_commande of back-office calls


def test_a_checkout_writes_only_what_its_role_may_write(aws: Any, lambda_context: Any) -> None:
    # The checkout's IAM role may update `sessions` and `version` and nothing else (template.yaml): its writes must
    # name no other attribute, or DynamoDB would refuse them in AWS.

    from stacktools.template import TEMPLATE_PATH, load_yaml

    policies = load_yaml(TEMPLATE_PATH.read_text())["Resources"]["CheckoutFunction"]["Properties"]["Policies"]
    statements = [s for p in policies if isinstance(p, dict) and "Statement" in p for s in p["Statement"]]
    [update] = [s for s in statements if s["Action"] == "dynamodb:UpdateItem"]
    allowed = set(update["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    named: list[set[str]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        named.append(set(params.get("ExpressionAttributeNames", {}).values()))

    aws.dynamodb.meta.events.register("provide-client-params.dynamodb.UpdateItem", record)
    clock = Clock(START)
    aws.use(clock=clock)
    _, token, first = new_order(aws, lambda_context)
    named.clear()
    clock.now = START + SERVED_AT_STEP
    checkout_form(aws, lambda_context, token)
    assert len(named) == 1  # the time the form was served again
    refuse(aws, lambda_context, first["reference"])
    named.clear()
    checkout_form(aws, lambda_context, token)
    assert len(named) == 1  # a session was opened
    assert all(names <= allowed for names in named), named


# --- one payable session at a time: a new one only when the bank takes the current reference no more -------------


def clocked_order(aws: Any, lambda_context: Any) -> tuple[Clock, str, str, dict[str, str]]:
    clock = Clock(START)
    aws.use(clock=clock)
    return clock, *new_order(aws, lambda_context)


def test_two_tabs_get_one_bank_reference_until_the_bank_has_used_its_attempts(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    assert first["reference"] == reference + "00"
    for refused in range(1, CARD_ATTEMPTS_PER_REFERENCE):
        refuse(aws, lambda_context, first["reference"], times=1, start=refused)
        # The buyer's other tab (or the back button): the bank still takes this reference, so the same form.
        assert checkout_form(aws, lambda_context, token) == first
    assert len(aws.store.get(reference).sessions) == 1
    refuse(aws, lambda_context, first["reference"], times=1, start=CARD_ATTEMPTS_PER_REFERENCE)
    after = checkout_form(aws, lambda_context, token)
    assert after["reference"] == reference + "01"  # its attempts are used: the bank takes it no more
    assert checkout_form(aws, lambda_context, token) == after


def test_an_acceptance_ends_the_session_even_when_it_does_not_pay_the_order(aws: Any, lambda_context: Any) -> None:
    reference, token, first = new_order(aws, lambda_context)
    confirm(aws, lambda_context, "paiement", reference=first["reference"], amount="6.27EUR")  # not the order's
    order = aws.store.get(reference)
    assert (order.status, [r.reason for r in order.reviews]) == (
        OrderStatus.AWAITING_PAYMENT,
        [ReviewReason.AMOUNT_MISMATCH],
    )
    assert checkout_form(aws, lambda_context, token)["reference"] == reference + "01"  # the bank paid …00


def test_a_session_idle_past_the_banks_time_from_its_last_form_is_replaced(aws: Any, lambda_context: Any) -> None:
    clock, reference, token, first = clocked_order(aws, lambda_context)
    clock.now = START + timedelta(minutes=40)
    assert checkout_form(aws, lambda_context, token) == first  # served again at minute 40...
    order = aws.store.get(reference)
    assert session_may_be_live(order, order.sessions[0], clock.now + SESSION_LIFETIME + SERVED_AT_STEP - SECOND)
    clock.now = START + timedelta(minutes=40) + SESSION_LIFETIME + SERVED_AT_STEP
    assert checkout_form(aws, lambda_context, token)["reference"] == reference + "01"  # ...and idle since


def test_a_form_served_at_minute_40_keeps_the_session_alive_at_minute_80(aws: Any, lambda_context: Any) -> None:
    clock, reference, token, first = clocked_order(aws, lambda_context)
    clock.now = START + timedelta(minutes=40)
    assert checkout_form(aws, lambda_context, token) == first
    clock.now = START + timedelta(minutes=80)
    assert checkout_form(aws, lambda_context, token) == first  # the same date, fields and seal
    assert len(aws.store.get(reference).sessions) == 1


def test_a_confirmation_restarts_the_banks_clock(aws: Any, lambda_context: Any) -> None:
    clock, _, token, first = clocked_order(aws, lambda_context)
    clock.now = START + timedelta(minutes=30)
    refuse(aws, lambda_context, first["reference"], times=1)  # received at minute 30: the bank's clock restarted
    clock.now = START + timedelta(minutes=30) + SESSION_LIFETIME - timedelta(seconds=1)
    assert checkout_form(aws, lambda_context, token) == first


def test_a_session_idle_past_the_banks_time_from_its_last_confirmation_is_replaced(
    aws: Any, lambda_context: Any
) -> None:
    clock, reference, token, first = clocked_order(aws, lambda_context)
    clock.now = START + timedelta(minutes=30)
    refuse(aws, lambda_context, first["reference"], times=1)
    clock.now = START + timedelta(minutes=30) + SESSION_LIFETIME
    assert checkout_form(aws, lambda_context, token)["reference"] == reference + "01"


def test_serving_the_same_form_writes_only_when_the_recorded_time_is_a_step_old(aws: Any, lambda_context: Any) -> None:
    clock, reference, token, first = clocked_order(aws, lambda_context)
    aws.writes.clear()
    for minute in range(0, 5):
        clock.now = START + timedelta(minutes=minute)
        assert checkout_form(aws, lambda_context, token) == first
    assert aws.writes == []  # within SERVED_AT_STEP of the session's opening: nothing written
    clock.now = START + SERVED_AT_STEP
    assert checkout_form(aws, lambda_context, token) == first
    assert aws.writes == ["UpdateItem"]
    assert aws.store.get(reference).sessions[0].served_at == clock.now
    clock.now = START + SERVED_AT_STEP + timedelta(minutes=1)
    checkout_form(aws, lambda_context, token)
    assert aws.writes == ["UpdateItem"]


# --- every session used: the order at the most it can hold ----------------------------------------------------------

WORST, SECRET = "WORSTCASE0", "worst-case-secret"


def at_most_it_can_hold(aws: Any, opened: datetime) -> None:
    """An order awaiting payment that used every session it may open, each served again and with every attempt
    the bank gives (the last session's confirmations counted past the attempts listed), holding the most attempts,
    reviews and operations, every text it keeps at its longest, and the merchant's 64 KiB of request."""
    ids = [f"{n:040x}" for n in range(MAX_SESSIONS * CARD_ATTEMPTS_PER_REFERENCE)]
    hour = timedelta(hours=1)
    sessions = tuple(
        PaymentSession(n, bank_reference(WORST, n), opened + n * hour, opened + n * hour + timedelta(minutes=40))
        for n in range(MAX_SESSIONS)
    )
    text = "é" * (MAX_TEXT_KEPT // 2)  # two bytes a character: the most bytes a kept text has
    attempts = tuple(
        Attempt(
            "Annulation", sessions[n // 4].opened_at, text, text, text, "99999999.99EUR", None, ids[n],
            sessions[n // 4].bank_reference, card_saved=False,
        )
        for n in range(MAX_ATTEMPTS_KEPT)
    )  # fmt: skip
    reviews = tuple(
        Review(ReviewReason.TEST_PAYMENT_ON_PRODUCTION, opened, "payetest received on a production terminal " + text)
        for _ in range(MAX_REVIEWS_KEPT)
    )
    merchant = {
        "free_text": "x" * 3200,
        "description": "\U0001f4bf" * 500,
        "email": "b" * 64 + "@" + ".".join(["e" * 60] * 3) + ".com",
    }
    url = "https://shop.example/" + "u" * ((64 * 1024 - sum(len(v.encode()) for v in merchant.values())) // 2 - 40)
    order = stored_order(
        aws, WORST, created_at=opened, sessions=sessions, attempts=attempts, reviews=reviews, amount="99999999.99",
        billing={**BILLING, "addressLine2": "a" * 50, "addressLine3": "a" * 50}, return_ok_url=url,
        return_err_url=url, checkout_token_hash=hashlib.sha256(SECRET.encode()).hexdigest(), **merchant,
    )  # fmt: skip
    aws.dynamodb.update_item(
        TableName=aws.store.table_name,
        Key=order_key(WORST),
        UpdateExpression="ADD confirmation_ids :ids",
        ExpressionAttributeValues={":ids": {"SS": ids[: len(ids) - 1]}},  # the last session's last one is below
    )
    for number in range(100):  # operations: the merchant's, each a call to the bank
        record = OperationRecord(
            f"{number:036d}", "refund_partial", Money(Decimal("99999999.99"), "EUR"), opened, "refused",
            "the bank refused: " + "x" * 280, "123456", opened.date(), actor=Actor(ActorKind.KEY, "é" * NAME_KEPT),
        )  # fmt: skip
        aws.store.finish_operation(order.with_changes(version=number), record, None)


def test_an_order_that_used_every_session_says_so_and_stays_under_dynamodbs_item_limit(
    aws: Any, lambda_context: Any
) -> None:
    opened = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    at_most_it_can_hold(aws, opened)
    clock = Clock(opened + timedelta(hours=MAX_SESSIONS))
    aws.use(clock=clock)
    last = bank_reference(WORST, MAX_SESSIONS - 1)
    refused = {"reference": last, "amount": "99999999.99EUR", "numauto": "", "reason": "é" * 300}
    assert confirm(aws, lambda_context, "Annulation", **refused)["body"] == ACK_OK  # counted, not listed
    order = aws.store.get(WORST)
    assert (len(order.attempts), order.attempts_not_kept) == (MAX_ATTEMPTS_KEPT, 1)
    assert order.last_attempt_not_kept is not None
    assert len(order.last_attempt_not_kept.reason.encode()) <= MAX_TEXT_KEPT
    clock.now += SESSION_LIFETIME  # the last session is over: idle since its refusal
    request = event("checkout.json")
    request["pathParameters"] = {"token": f"{WORST}.{SECRET}"}
    page = aws.invoke("checkout", request, lambda_context)
    assert page["statusCode"] == 409
    assert "ne peut plus être payée en ligne" in page["body"]  # and to contact the merchant
    assert len(aws.store.get(WORST).sessions) == MAX_SESSIONS  # nothing opened, nothing written
    # The bank still pays what it took under the last session: recorded, whatever the order holds.
    assert confirm(aws, lambda_context, **{**refused, "numauto": "123456", "reason": ""})["body"] == ACK_OK
    assert aws.store.get(WORST).status is OrderStatus.PAID
    raw = aws.dynamodb.get_item(TableName=aws.store.table_name, Key=order_key(WORST))["Item"]
    assert 300 * 1024 < item_size(raw) < ITEM_LIMIT
