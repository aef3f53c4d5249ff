"""The order events, seen locally: moto keeps buses and rules, but delivers nothing to an API destination.

``LocalEventBridge`` (a service of the local stack) puts a rule of its own on every bus of the template, to an
SQS queue, and keeps what arrives for the ``/_local/events`` page. For every rule of the template whose target
is an API destination (the shop's webhook, when ``ShopWebhookUrl`` is set) it does what EventBridge does:
a queue of that rule's events, each POSTed as EventBridge would (the event as JSON, the connection's API key
header), a failed delivery retried a few times, then given up (EventBridge's dead-letter queue).
"""

from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from devhttp import HttpRequest, HttpResponse, Match

from .polling import Loops
from .templating import render

if TYPE_CHECKING:
    from .host import Host

KEEP = 500  # events and deliveries kept for the page


@dataclass(frozen=True)
class Webhook:
    rule: str  # the template's rule
    bus: str
    pattern: dict[str, Any]
    url: str
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FunctionRule:
    """A function's ``Type: EventBridgeRule`` event: EventBridge invokes it (asynchronously) for each match."""

    function: str
    event: str
    bus: str
    pattern: dict[str, Any]


@dataclass
class Delivery:
    event_id: str
    type: str
    reference: str
    url: str
    status: str  # "delivered" (2xx) / "retrying: ..." / "given up: ..."
    attempts: int
    at: datetime


def _target(value: Any) -> str | None:
    """The logical id in ``!GetAtt X.Arn``."""
    att = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    parts = att.split(".", 1) if isinstance(att, str) else att
    return str(parts[0]) if isinstance(parts, list) and len(parts) == 2 else None


def webhooks(stack: Host) -> list[Webhook]:
    """The template's rules to an API destination, as they are with the stack's parameters (conditions held)."""
    template, resolver = stack.template, stack.resolver()
    found = []
    for name, rule in template.resources_of_type("AWS::Events::Rule").items():
        if "Condition" in rule and not resolver.condition(rule["Condition"]):
            continue
        properties = rule.get("Properties") or {}  # resolved field by field: moto has no API destinations
        for target in properties.get("Targets") or []:
            destination = _target(target.get("Arn"))
            if template.resources.get(destination or "", {}).get("Type") != "AWS::Events::ApiDestination":
                continue
            assert destination is not None
            api = template.properties_of(destination)
            connection = template.properties_of(_target(api.get("ConnectionArn")) or "")
            key = (connection.get("AuthParameters") or {}).get("ApiKeyAuthParameters") or {}
            headers = ((str(resolver.resolve(key["ApiKeyName"])), str(resolver.resolve(key["ApiKeyValue"]))),)
            found.append(
                Webhook(
                    rule=name,
                    bus=str(resolver.resolve(properties.get("EventBusName", "default"))),
                    pattern=resolver.resolve(properties.get("EventPattern") or {}),
                    url=str(resolver.resolve(api["InvocationEndpoint"])),
                    headers=headers,
                )
            )
    return found


def function_rules(stack: Host) -> list[FunctionRule]:
    """The template's functions with an ``EventBridgeRule`` event (enabled), as this stack resolves them."""
    resolver = stack.resolver()
    found = []
    for spec in stack.template.functions():
        for name, event in (spec.properties.get("Events") or {}).items():
            props = event.get("Properties") or {}
            if event.get("Type") != "EventBridgeRule" or props.get("State", "ENABLED") != "ENABLED":
                continue
            bus = str(resolver.resolve(props.get("EventBusName", "default")))
            found.append(FunctionRule(spec.logical_id, name, bus, resolver.resolve(props.get("Pattern") or {})))
    return found


def subscribe(region: str, bus: str, name: str, pattern: dict[str, Any]) -> str:
    """A queue of its own (``name``) that gets the bus's events matching ``pattern``: its URL."""
    sqs: Any = boto3.client("sqs", region_name=region)
    events: Any = boto3.client("events", region_name=region)
    url = sqs.create_queue(QueueName=name[:80])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name[:64], EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name[:64], EventBusName=bus, Targets=[{"Id": "local", "Arn": arn}])
    return str(url)


# Every event of a bus matches it.
EVERY_EVENT = {"source": [{"prefix": ""}]}


class LocalEventBridge:
    name = "eventbridge"

    def __init__(self, interval_seconds: float = 0.5, max_attempts: int = 3) -> None:
        self.interval_seconds = interval_seconds
        self.max_attempts = max_attempts
        self.events: list[dict[str, Any]] = []
        self.deliveries: list[Delivery] = []
        # (queue URL, what it feeds: a webhook, a function's rule, or None for the page's log)
        self._queues: list[tuple[str, Webhook | FunctionRule | None]] = []
        self._attempts: dict[tuple[str, str], int] = {}
        self._stack: Host | None = None
        self._loops = Loops()
        self._lock = threading.Lock()

    def start(self, stack: Host) -> None:
        self._stack = stack
        for bus, _ in stack.buses.values():
            self._queues.append((self._subscribe(bus, f"local-log-{bus}", EVERY_EVENT), None))
        for hook in webhooks(stack):
            self._queues.append((self._subscribe(hook.bus, f"local-{hook.rule}", hook.pattern), hook))
        for rule in function_rules(stack):
            name = f"local-{rule.function}-{rule.event}"
            self._queues.append((self._subscribe(rule.bus, name, rule.pattern), rule))
        stack.add_route("GET", "/_local/events", self._page)
        stack.add_route("GET", "/_local/events.json", self._json)
        self._loops.start(
            "local-eventbridge", self.poll_once, idle_seconds=self.interval_seconds, what="reading the order events"
        )

    def stop(self) -> None:
        self._loops.stop()
        self._queues.clear()

    def describe(self) -> list[str]:
        if self._stack is None:
            return []
        hooks = ", ".join(hook.url for _, hook in self._queues if isinstance(hook, Webhook)) or "no webhook"
        return [f"  events       {self._stack.base_url}/_local/events   (order events; {hooks})"]

    def _subscribe(self, bus: str, name: str, pattern: dict[str, Any]) -> str:
        assert self._stack is not None
        return subscribe(self._stack.config.region, bus, name, pattern)

    def poll_once(self) -> int:
        """Read every queue once: log the events, deliver the webhooks' (the number of messages handled)."""
        assert self._stack is not None
        sqs: Any = boto3.client("sqs", region_name=self._stack.config.region)
        handled = 0
        with self._lock:
            for url, hook in self._queues:
                answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)
                for message in answer.get("Messages") or []:
                    handled += 1
                    event = json.loads(message["Body"])
                    if self._handle(hook, event):
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    if hook is None:
                        self.events = [event, *self.events][:KEEP]
        return handled

    def _handle(self, hook: Webhook | FunctionRule | None, event: dict[str, Any]) -> bool:
        """Whether the event is done with (the message can go)."""
        if isinstance(hook, Webhook):
            return self._deliver(hook, event)
        if isinstance(hook, FunctionRule):
            return self._invoke(hook, event)
        return True

    def _attempt(self, name: str, event: dict[str, Any]) -> int:
        key = (name, str(event.get("id")))
        self._attempts[key] = self._attempts.get(key, 0) + 1
        return self._attempts[key]

    def _invoke(self, hook: FunctionRule, event: dict[str, Any]) -> bool:
        """Run the rule's function as Lambda's asynchronous invocation would: retried, then given up."""
        assert self._stack is not None
        attempts = self._attempt(f"{hook.function}.{hook.event}", event)
        try:
            self._stack.invoke(hook.function, event)
        except Exception as exc:
            done = attempts >= self.max_attempts
            print(
                f"local: {hook.function} failed on an event ({'given up' if done else 'retrying'}): {exc}",
                file=sys.stderr,
            )
            return done
        return True

    def _deliver(self, hook: Webhook, event: dict[str, Any]) -> bool:
        """POST the event; whether it is done with (delivered, or given up after ``max_attempts``)."""
        attempts = self._attempt(hook.rule, event)
        request = urllib.request.Request(  # noqa: S310 - the URL the template's destination names
            hook.url,
            data=json.dumps(event).encode(),
            method="POST",
            headers={"Content-Type": "application/json", **dict(hook.headers)},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                status, done = f"delivered ({answer.status})", True
        except urllib.error.HTTPError as error:
            status, done = f"HTTP {error.code}", False
        except OSError as exc:
            status, done = f"unreachable ({exc})", False
        if not done:
            done = attempts >= self.max_attempts
            status = f"given up: {status}" if done else f"retrying: {status}"
            print(f"local: webhook {hook.url}: {status}", file=sys.stderr)
        detail = event.get("detail") or {}
        delivery = Delivery(
            str(detail.get("event_id", event.get("id"))),
            str(event.get("detail-type")),
            str(detail.get("reference", "")),
            hook.url,
            status,
            attempts,
            datetime.now(UTC),
        )
        self.deliveries = [delivery, *self.deliveries][:KEEP]
        return done

    def _json(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        deliveries = [{**asdict(d), "at": d.at.isoformat()} for d in self.deliveries]
        return HttpResponse.json(200, {"events": self.events, "deliveries": deliveries})

    def _page(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        events = [_event_row(event) for event in self.events]
        deliveries = [
            [str(cell) for cell in (d.at.isoformat(), d.type, d.reference, d.url, d.status, d.attempts)]
            for d in self.deliveries
        ]
        page = render("events.html", title="Order events", events=events, deliveries=deliveries)
        return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8")], page)


def _event_row(event: dict[str, Any]) -> list[str]:
    """The page's cells for an event: when, its type, the order, its status, and the whole detail; a cell the
    event does not fill (an event put on the bus by hand, a detail that is not an order's) stays empty."""
    detail = event.get("detail") or {}
    cells = (event.get("time"), event.get("detail-type"), detail.get("reference"), detail.get("status"))
    return [*("" if cell is None else str(cell) for cell in cells), json.dumps(event.get("detail"), sort_keys=True)]
