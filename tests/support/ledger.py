"""What the books and the fake bank each hold per bank reference, and the orders table's stream as Lambda hands
it over: the invariants the money path's tests check after each scenario."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import boto3

from orders import daybook
from orders.model import Order
from orders.terminals import Terminals
from stacktools.streams import stream_record
from tests.support.aws import TABLE_STREAM_ENDPOINT, terminals_config
from tests.support.fakebank import FakeBank


def held_by_reference(order: Order) -> dict[str, Decimal]:
    """What the books say each bank reference holds: its captures less its refunds (zeros left out)."""
    held: dict[str, Decimal] = {}
    terminals = Terminals.from_mapping(terminals_config())
    for kind, sign in (("captures", 1), ("refunds", -1)):
        for entry in daybook.entries_of(order, terminals, kind):
            held[entry.bank_reference] = held.get(entry.bank_reference, Decimal(0)) + sign * entry.amount.amount
    return {reference: amount for reference, amount in held.items() if amount}


def bank_holds(bank: FakeBank) -> dict[str, Decimal]:
    """What the fake bank holds per bank reference: captured less refunded (zeros left out)."""
    held = {reference: a.captured - a.refunded for reference, a in bank.accounts.items()}
    return {reference: amount for reference, amount in held.items() if amount}


def stream_records(aws: Any) -> list[dict[str, Any]]:
    """Every record of the orders table's stream so far, as Lambda hands them over."""
    streams = boto3.client("dynamodbstreams", region_name="eu-west-3", endpoint_url=TABLE_STREAM_ENDPOINT)
    arn = aws.dynamodb.describe_table(TableName=aws.store.table_name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    answer = streams.get_records(ShardIterator=iterator["ShardIterator"])
    return [stream_record(record, arn, "eu-west-3") for record in answer["Records"]]
