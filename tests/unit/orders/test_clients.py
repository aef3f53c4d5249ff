"""The orders layer's resources make their boto3 client on first use, once, unless they were given one."""

from __future__ import annotations

import pytest

from orders.clients import LazyClient
from orders.confirmation_queue import ConfirmationQueue
from orders.events import EventPublisher
from orders.mail import MailSender
from orders.reconciliation import ReportBucket
from orders.store import OrderStore


def test_a_given_client_is_the_one_used() -> None:
    given = object()
    resources = [
        OrderStore("t", client=given),  # type: ignore[arg-type]
        ConfirmationQueue("q", client=given),  # type: ignore[arg-type]
        EventPublisher("b", client=given),  # type: ignore[arg-type]
        ReportBucket("r", client=given),
        MailSender(client=given),
    ]
    assert [resource.client for resource in resources] == [given] * len(resources)


@pytest.mark.parametrize(
    ("make", "service"),
    [
        (lambda: OrderStore("t"), "dynamodb"),
        (lambda: ConfirmationQueue("q"), "sqs"),
        (lambda: EventPublisher("b"), "events"),
        (lambda: ReportBucket("r"), "s3"),
        (MailSender, "ses"),
    ],
)
def test_without_one_the_client_is_made_on_first_use_and_kept(
    make: object, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    resource = make()  # type: ignore[operator]
    assert vars(resource)["_client"] is None  # nothing made at construction
    client = resource.client
    assert client.meta.service_model.service_name == service
    assert resource.client is client


def test_the_class_attribute_is_the_descriptor() -> None:
    assert isinstance(OrderStore.client, LazyClient)
    assert OrderStore.client.service == "dynamodb"
