"""The template's part for what happens after the payment: the stream outbox, the bus, the webhook, mails,
reconciliation, go-live; every new way to fail has its alarm."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from orders.events import EVENT_TYPES
from stacktools.template import Template

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def _alarms(template: Template) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in template.resources_of_type("AWS::CloudWatch::Alarm").values()]


def _alarmed_metrics(template: Template) -> set[str]:
    names = set()
    for alarm in _alarms(template):
        names.add(str(alarm.get("MetricName")))
        for metric in alarm.get("Metrics") or []:
            names.add(str(((metric.get("MetricStat") or {}).get("Metric") or {}).get("MetricName")))
    return names


def test_the_orders_table_streams_both_images(template: Template) -> None:
    assert template.properties_of("OrdersTable")["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_the_stream_consumer_loses_nothing(template: Template) -> None:
    (stream,) = template.function("OrderEventsFunction").streams
    assert (stream.table, stream.partial_failures) == ("OrdersTable", True)
    event = template.function("OrderEventsFunction").properties["Events"]["Stream"]["Properties"]
    assert event["MaximumRetryAttempts"] == -1
    assert event["BisectBatchOnFunctionError"] is True
    assert event["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["OrderEventsDeadLetterQueue", "Arn"]
    }


@pytest.mark.parametrize(
    "function",
    [
        "functions/order_events/app.py",
        "functions/order_mail/app.py",
        "layers/orders/orders/reconciliation_runs.py",  # the reconciliation's reports, from either function
    ],
)
def test_every_failure_metric_of_the_new_functions_is_alarmed(template: Template, function: str) -> None:
    emitted = set(re.findall(r'name="(\w+)"', (ROOT / function).read_text()))
    failures = {name for name in emitted if re.search(r"Not|Differences|Failures", name)}
    assert failures
    assert failures <= _alarmed_metrics(template)


@pytest.mark.parametrize(
    "queue",
    [
        "OrderEventsDeadLetterQueue",
        "OrderMailDeadLetterQueue",
        "ShopWebhookDeadLetterQueue",
        "ReconciliationDeadLetterQueue",
    ],
)
def test_every_new_dead_letter_queue_is_alarmed(template: Template, queue: str) -> None:
    watched = [
        alarm
        for alarm in _alarms(template)
        if any(d.get("Value") == {"Fn::GetAtt": [queue, "QueueName"]} for d in alarm.get("Dimensions") or [])
    ]
    assert len(watched) == 1
    assert watched[0]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_webhook_exists_only_with_its_url(template: Template) -> None:
    conditional = {
        name for name, resource in template.resources.items() if resource.get("Condition") == "HasShopWebhook"
    }
    assert {"ShopWebhookConnection", "ShopWebhookDestination", "ShopWebhookRule", "ShopWebhookDeadLetterQueue"} <= (
        conditional
    )
    url = re.compile(template.parameters["ShopWebhookUrl"]["AllowedPattern"])
    assert url.fullmatch("")
    assert url.fullmatch("https://shop.example/webhook")
    assert not url.fullmatch("http://shop.example/webhook")
    assert template.parameters["ShopWebhookToken"]["NoEcho"] is True


def test_the_mails_hear_only_what_they_mail(template: Template) -> None:
    pattern = template.function("OrderMailFunction").properties["Events"]["OrderEvents"]["Properties"]["Pattern"]
    assert pattern["detail-type"] == [
        "OrderPaid", "OrderAuthorized", "PaymentRefused", "OrderNeedsReview", "InstalmentRefused",
        "SecondPaymentGivenBack",
    ]  # fmt: skip


def test_the_new_console_routes_are_signed(template: Template) -> None:
    routes = {(r.method, r.path): r for r in template.routes() if r.api == "Api"}
    for key in [
        ("POST", "/reconciliation"), ("POST", "/reconciliation/captures"), ("GET", "/terminals/{tpe}/golive"),
        ("POST", "/terminals/{tpe}/smoke"),
    ]:  # fmt: skip
        assert routes[key].authorizer == "AWS_IAM"


def test_the_webhook_gets_every_order_event_and_nothing_else(template: Template) -> None:
    pattern = template.properties_of("ShopWebhookRule")["EventPattern"]
    assert sorted(pattern["detail-type"]) == sorted(EVENT_TYPES)


# -- docs/events.md against the code and the template ------------------------------------------------------------

EVENTS_DOC = ROOT / "docs" / "events.md"
TYPE_NAME = re.compile(r"`([A-Z]\w+)`")


def _doc_section(heading: str) -> str:
    text = EVENTS_DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _first_cells(heading: str) -> list[str]:
    """The first cell of each body row of the tables under ``heading``."""
    rows = [line for line in _doc_section(heading).splitlines() if line.startswith("| ")]
    return [row.split(" | ")[0].strip("| ") for row in rows if not row.startswith(("| detail-type |", "|---"))]


def _listed_types() -> list[str]:
    """The detail-types of the document's Types table."""
    listed = []
    for cell in _first_cells("Types"):
        match = TYPE_NAME.fullmatch(cell)
        assert match, f"not one detail-type: {cell}"
        listed.append(match.group(1))
    return listed


def test_the_events_document_lists_every_type_the_code_publishes_and_no_other() -> None:
    assert sorted(_listed_types()) == sorted(EVENT_TYPES), "docs/events.md's types are the ones orders.events publishes"


def test_every_type_has_its_detail_in_the_events_document() -> None:
    described = [name for cell in _first_cells("Detail (schema_version 1)") for name in TYPE_NAME.findall(cell)]
    assert sorted(described) == sorted(EVENT_TYPES), "each type's own part of the detail, once"


def test_the_events_document_names_every_review_reason() -> None:
    from orders.model import ReviewReason

    (row,) = [line for line in _doc_section("Detail (schema_version 1)").splitlines() if "`OrderNeedsReview` |" in line]
    documented = set(re.findall(r"`([a-z_]+)`", row)) - {"review", "reason", "detail"}
    assert documented == {reason.value for reason in ReviewReason}


def test_the_templates_listeners_hear_the_types_the_events_document_says(template: Template) -> None:
    text = EVENTS_DOC.read_text(encoding="utf-8")
    webhook = template.properties_of("ShopWebhookRule")["EventPattern"]["detail-type"]
    assert "webhook (`ShopWebhookRule`" in text
    assert sorted(webhook) == sorted(_listed_types())
    (sentence,) = re.findall(r"the mail function \(`OrderMailFunction`.*?\) hears (.*?), and mails", text, re.DOTALL)
    mail = template.function("OrderMailFunction").properties["Events"]["OrderEvents"]["Properties"]["Pattern"]
    assert sorted(mail["detail-type"]) == sorted(TYPE_NAME.findall(sentence))
