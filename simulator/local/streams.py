"""DynamoDB streams from the template, read locally: moto keeps a table's stream but invokes no function.

``StreamPoller`` is Lambda's DynamoDB event source mapping, locally: for every ``Type: DynamoDB`` event of the
template it reads the table's stream shard by shard, in order, and invokes the function with the event Lambda
would send. When the function reports a failed record (``ReportBatchItemFailures``) or fails, the same shard is
read again from that record after a pause, as Lambda retries it; nothing later is handed over before it.
"""

from __future__ import annotations

import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any

import boto3

from stacktools.streams import stream_record
from stacktools.template import StreamEvent

from .polling import SourcePoller

if TYPE_CHECKING:
    from .host import Host


class StreamPoller(SourcePoller[StreamEvent]):
    """One thread per stream event; ``drain()`` hands every pending record over at once (tests, local routes)."""

    name = "streams"

    def __init__(self, interval_seconds: float = 0.5, retry_seconds: float = 2.0) -> None:
        super().__init__()
        self.idle_seconds = interval_seconds
        self.retry_seconds = retry_seconds
        self._iterators: dict[tuple[str, str], str] = {}  # (function.event, shard id) -> next iterator
        self._lock = threading.Lock()

    def sources(self, stack: Host) -> list[StreamEvent]:
        return [event for spec in stack.template.functions() for event in spec.streams if event.enabled]

    def label(self, event: StreamEvent) -> tuple[str, str]:
        return f"local-stream-{event.table}", f"reading {event.table}'s stream"

    def stop(self) -> None:
        super().stop()
        self._iterators.clear()

    @property
    def events(self) -> list[StreamEvent]:
        return [] if self._stack is None else self.sources(self._stack)

    def drain(self, max_batches: int = 100) -> int:
        """Hand the records in the streams over now, up to ``max_batches`` batches per stream (a failing record
        is handed over again each time); the number handed over."""
        total = 0
        for event in self.events:
            for _ in range(max_batches):
                count = self.poll_once(event)
                if count == 0:
                    break
                total += count
        return total

    def poll_once(self, event: StreamEvent) -> int:
        """One batch per shard of the event's stream; the number of records handed to the function."""
        stack = self.stack
        stream_arn = stack.tables[event.table].stream_arn
        if not stream_arn:
            raise RuntimeError(f"{event.function}.{event.event}: table {event.table} has no stream")
        client: Any = boto3.client("dynamodbstreams", region_name=stack.config.region)
        handed = 0
        with self._lock:  # one batch at a time per stream, in order, as Lambda does per shard
            shards = client.describe_stream(StreamArn=stream_arn)["StreamDescription"].get("Shards") or []
            for shard in shards:
                handed += self._poll_shard(client, event, stream_arn, shard["ShardId"])
        return handed

    def _poll_shard(self, client: Any, event: StreamEvent, stream_arn: str, shard: str) -> int:
        stack = self.stack
        key = (f"{event.function}.{event.event}", shard)
        iterator = self._iterators.get(key)
        if not iterator:
            start = client.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
            iterator = start["ShardIterator"]
        answer = client.get_records(ShardIterator=iterator, Limit=min(event.batch_size, 1000))
        records = answer.get("Records") or []
        self._iterators[key] = answer.get("NextShardIterator") or iterator
        if not records:
            return 0
        lambda_event = {"Records": [stream_record(r, stream_arn, stack.config.region) for r in records]}
        failed: str | None
        try:
            result = stack.invoke(event.function, lambda_event)
            failures = result.get("batchItemFailures") if event.partial_failures and isinstance(result, dict) else []
            failed = str(failures[0]["itemIdentifier"]) if failures else None
        except Exception:  # the whole batch failed: read again from its first record
            print(f"local: {event.function} failed on a batch of {event.table}'s stream:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            failed = records[0]["dynamodb"]["SequenceNumber"]
        if failed is not None:
            self._iterators[key] = client.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=failed
            )["ShardIterator"]
            self.stopping.wait(self.retry_seconds)
        return len(records)
