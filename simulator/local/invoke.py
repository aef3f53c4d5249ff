"""``python -m local invoke <LogicalId> -e events/<file>.json``: one function of the template run with one event,
without Docker (``sam local invoke`` takes the same files in Lambda's containers).

The function runs against the embedded AWS of the local stack, made for this one invocation from template.yaml,
with what the sample events name put in it first (``seed``): the samples' order (``local.samples``), the order a
stream record shows as written, the file an S3 upload names (``events/<its name>``). Nothing else runs meanwhile
(no schedule, no queue or stream poller, no bus rule), and the bank's back office is out of reach (a bank call
fails as the bank being unavailable). Printed: the function's answer, then what changed: the table's items
written, updated or deleted, the messages sent to the template's queues and buses, the objects put in its
buckets, the mails sent. An unknown function or an event file that cannot be read: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from stacktools.template import Template

from .config import LocalConfig
from .eventbridge import EVERY_EVENT, subscribe
from .mail import LocalMail
from .samples import EVENTS, seed
from .stack import LocalStack

# Where the bank's back office would be: nothing listens there, so a bank call fails at once, never leaves the host.
NO_BANK = "http://127.0.0.1:9"
SHOWN = 200  # characters of a value shown


@dataclass(frozen=True)
class Snapshot:
    """What the embedded AWS holds that an invocation may change: table items, bucket keys, mails."""

    items: dict[tuple[str, str, str], dict[str, Any]]  # (table, pk, sk) -> item
    objects: set[tuple[str, str]]  # (bucket, key)
    mails: int

    @classmethod
    def take(cls, stack: LocalStack, mail: LocalMail) -> Snapshot:
        dynamodb: Any = boto3.client("dynamodb", region_name=stack.config.region)
        s3: Any = boto3.client("s3", region_name=stack.config.region)
        items = {}
        for logical_id, table in stack.tables.items():
            for page in dynamodb.get_paginator("scan").paginate(TableName=table.name):
                for item in page["Items"]:
                    items[(logical_id, _key(item, "pk"), _key(item, "sk"))] = item
        objects = set()
        for logical_id, (bucket, _) in stack.buckets.items():
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                objects |= {(logical_id, str(entry["Key"])) for entry in page.get("Contents") or []}
        return cls(items, objects, len(mail.messages()))


def _key(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name) or {}
    return str(next(iter(value.values()), "")) if isinstance(value, dict) else ""


def _plain(value: Mapping[str, Any]) -> str:
    """A DynamoDB attribute value as text to show: a string or number as it is, a list as its length."""
    kind, inner = next(iter(value.items()))
    if kind == "L":
        return f"{len(inner)} entries"
    text = str(inner) if kind in ("S", "N", "BOOL") else json.dumps(inner, sort_keys=True, default=str)
    return text if len(text) <= SHOWN // 2 else text[: SHOWN // 2] + "…"


def item_changes(before: Snapshot, after: Snapshot) -> list[str]:
    """One line per item written, updated (its attributes that changed) or deleted."""
    lines = []
    for key in sorted(after.items.keys() | before.items.keys()):
        table, pk, sk = key
        old, new = before.items.get(key), after.items.get(key)
        if old == new:
            continue
        if old is None:
            status = f" status={_plain(new['status'])}" if new is not None and "status" in new else ""
            lines.append(f"{table} written {pk} {sk}{status}")
        elif new is None:
            lines.append(f"{table} deleted {pk} {sk}")
        else:
            changed = [
                f"{name}: {_plain(old[name]) if name in old else '-'} → {_plain(new[name]) if name in new else '-'}"
                for name in sorted(old.keys() | new.keys())
                if old.get(name) != new.get(name) and name not in ("version",)
            ]
            lines.append(f"{table} updated {pk} {sk}: " + "; ".join(changed))
    return lines


class Invocation:
    """A stack started for one invocation, with a queue on each bus to see what the function published."""

    def __init__(self, stack: LocalStack, mail: LocalMail) -> None:
        self.stack = stack
        self.mail = mail
        region = stack.config.region
        self._buses = {
            logical_id: subscribe(region, name, f"invoke-{name}", EVERY_EVENT)
            for logical_id, (name, _) in stack.buses.items()
        }

    def seed(self, event: Any) -> None:
        """Put in the embedded AWS what the event names (the module's docstring)."""
        table = self.stack.table_name("OrdersTable")
        seed(table)
        dynamodb: Any = boto3.client("dynamodb", region_name=self.stack.config.region)
        records = event.get("Records") if isinstance(event, dict) else None
        for record in records or []:
            image = (record.get("dynamodb") or {}).get("NewImage") if isinstance(record, dict) else None
            if record.get("eventSource") == "aws:dynamodb" and image:
                dynamodb.put_item(TableName=table, Item=image)  # the write the record reports
        detail = event.get("detail") if isinstance(event, dict) else None
        if isinstance(event, dict) and event.get("source") == "aws.s3" and isinstance(detail, dict):
            bucket, key = str(detail["bucket"]["name"]), str(detail["object"]["key"])
            s3: Any = boto3.client("s3", region_name=self.stack.config.region)
            s3.put_object(Bucket=bucket, Key=key, Body=(EVENTS / Path(key).name).read_bytes())

    def run(self, function: str, event: Any) -> tuple[Any, list[str]]:
        """The function's answer to ``event`` and what it changed, one line each."""
        before = Snapshot.take(self.stack, self.mail)
        answer = self.stack.invoke(function, event)
        after = Snapshot.take(self.stack, self.mail)
        changes = item_changes(before, after)
        changes += [f"{bucket} put {key}" for bucket, key in sorted(after.objects - before.objects)]
        changes += self._sent()
        for _, message in self.mail.messages()[before.mails :]:
            changes.append(f"mail to {message['To']}: {message['Subject']}")
        return answer, changes

    def _sent(self) -> list[str]:
        sqs: Any = boto3.client("sqs", region_name=self.stack.config.region)
        lines = []
        queues = [(logical_id, queue.url) for logical_id, queue in self.stack.queues.items()]
        for logical_id, url in [*queues, *self._buses.items()]:
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                for message in messages:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    lines.append(f"{logical_id} sent {_message(logical_id in self._buses, message['Body'])}")
        return lines


def _message(on_a_bus: bool, body: str) -> str:
    if on_a_bus:
        event = json.loads(body)
        body = f"{event.get('detail-type')} from {event.get('source')}: {json.dumps(event.get('detail'))}"
    return body if len(body) <= SHOWN else body[:SHOWN] + "…"


def shown(answer: Any) -> str:
    """The answer as JSON, a long API body cut short (its length said)."""
    if isinstance(answer, dict) and isinstance(answer.get("body"), str) and len(answer["body"]) > SHOWN * 5:
        body = answer["body"]
        answer = {**answer, "body": f"{body[: SHOWN * 5]}… ({len(body)} characters)"}
    return json.dumps(answer, indent=2, ensure_ascii=False, default=str)


@contextmanager
def invocation() -> Iterator[Invocation]:
    config = LocalConfig(
        port=0,
        quiet=True,
        backoffice_base_url=NO_BANK,
        schedule_interval_seconds=None,
        poll_queues=False,
        poll_streams=False,
        local_events=False,
    )
    mail = LocalMail()
    with LocalStack(config, services=[mail]) as stack:
        yield Invocation(stack, mail)


def read_event(path: Path) -> Any:
    """The event in ``path``; ``ValueError`` saying why there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"no event file {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON event ({exc})") from None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local invoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("function", metavar="LogicalId", help="a function of template.yaml, e.g. Cgi2Function")
    parser.add_argument("-e", "--event", required=True, type=Path, help="the event's JSON file, e.g. events/...")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # a terminal or a pipe that cannot show "→" still gets the rest
        sys.stdout.reconfigure(errors="backslashreplace")
    functions = [spec.logical_id for spec in Template.load().functions()]
    if args.function not in functions:
        print(f"local invoke: no function {args.function} in template.yaml ({', '.join(functions)})", file=sys.stderr)
        return 2
    try:
        event = read_event(args.event if args.event.is_absolute() else Path.cwd() / args.event)
    except ValueError as exc:
        print(f"local invoke: {exc}", file=sys.stderr)
        return 2
    # The functions' logs and metrics go to stderr (as `sam local invoke` shows them), the answer to stdout.
    with contextlib.redirect_stdout(sys.stderr), invocation() as stack:
        stack.seed(event)
        try:
            answer, changes = stack.run(args.function, event)
        except Exception as exc:  # the function failed: Lambda reports it as the invocation's error
            print(f"local invoke: {args.function} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    print(f"{args.function} answered:\n{shown(answer)}")
    print("changed:" if changes else "changed: nothing")
    for line in changes:
        print(f"  {line}")
    return 0
