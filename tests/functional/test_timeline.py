"""An order's timeline (``orders.timeline``): everything that happened to it, oldest first, with who did it, read in
two requests (the order and its mails)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics

from orders.actors import Actor, ActorKind
from orders.timeline import Kind, Party, timeline
from orders.web.operations import OperationRequest, operate
from tests.support.fakebank import FakeBank
from tests.support.merchant import confirm, stored_order

USER = Actor(ActorKind.CONSOLE_USER, "ops@shop.example")


def test_a_deferred_authorisation_refused_then_paid_then_captured_in_part(
    aws: Any, lambda_context: Any, bank: FakeBank
) -> None:
    stored_order(aws, "TL1", tpe="0900159")
    confirm(aws, lambda_context, "Annulation", "", reference="TL100", tpe="0900159", reason="3DSecure")
    confirm(aws, lambda_context, reference="TL100", tpe="0900159", date="27/11/2026_a_10:16:00")
    operate(aws.deps, OperationRequest("capture", "TL1", "10.00", USER), Logger(), Metrics())
    bank.refuse_next = 1
    operate(aws.deps, OperationRequest("capture", "TL1", "5.00", USER), Logger(), Metrics())
    order = aws.store.get("TL1")
    aws.calls.clear()
    entries = timeline(order, aws.store.mails_of("TL1")).entries
    assert aws.calls == ["Query"]  # the mails: the order was read once, before
    kinds = [entry.kind for entry in entries]
    assert kinds == [
        Kind.CREATED, Kind.SESSION_OPENED, Kind.ATTEMPT, Kind.ATTEMPT, Kind.PAYMENT_CONFIRMED, Kind.OPERATION,
        Kind.OPERATION,
    ]  # fmt: skip
    assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    refused, accepted = entries[2], entries[3]
    assert (refused.details["outcome"], refused.details["reason"], refused.event) == (
        "refused", "3DSecure", "PaymentRefused",
    )  # fmt: skip
    assert (accepted.details["outcome"], accepted.event) == ("accepted", None)
    assert (entries[4].who, entries[4].event) == (Party.BANK, "OrderAuthorized")
    done, refusal = entries[5], entries[6]
    assert (done.details["operation"], done.details["amount"], done.details["outcome"]) == (
        "capture_partial", "10.00", "done",
    )  # fmt: skip
    assert (done.who, done.actor, done.event) == (Party.ACTOR, USER, "OrderCaptured")
    assert (refusal.details["outcome"], refusal.event) == ("refused", None)


def test_mails_are_on_the_timeline_with_their_event(aws: Any, lambda_context: Any) -> None:
    stored_order(aws, "TL2")
    aws.store.claim_mail("TL2", "TL2/3/0/OrderPaid", "buyer", aws.store.get("TL2").created_at)
    (mail,) = [e for e in timeline(aws.store.get("TL2"), aws.store.mails_of("TL2")).entries if e.kind is Kind.MAIL]
    assert mail.details == {"recipient": "buyer", "event": "OrderPaid", "rejected": ""}
