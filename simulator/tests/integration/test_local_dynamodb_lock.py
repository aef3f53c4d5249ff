"""moto's DynamoDB is not atomic; ours (``stacktools.dynamodb_lock``) is: one winner per conditional write,
nothing lost.

The races are made deterministic by a pause inside moto, right after it has evaluated a condition and before it
writes: on plain moto a competitor gets through in that window every time; with the lock it cannot even start.
The pause lets go as soon as every competitor has reached it, or after ``timeout``: plain moto gets a long one
(the competitor always arrives, however loaded the machine), the serialised engine a short one (the competitor
is blocked on the lock and never arrives, whatever the timeout; the assertion does not depend on it).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from local.aws import MotoServer
from stacktools.dynamodb_lock import DYNAMODB_LOCK, SerialisedWsgi, is_dynamodb_target, serialised_dynamodb

REGION = "eu-west-3"
TABLE = "race"
KEY = {"pk": {"S": "order"}}
ALWAYS_ARRIVES = 30.0  # plain moto: the competitor reaches the pause, normally within milliseconds
NEVER_ARRIVES = 0.5  # serialised: the competitor waits for the lock, so the pause only costs this


class Pause:
    """Holds each thread that reaches it until ``parties`` threads have, or ``timeout`` seconds have passed."""

    def __init__(self, parties: int, timeout: float) -> None:
        self._barrier = threading.Barrier(parties, timeout=timeout)

    def __call__(self) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # timed out (or already broken): go on alone
            self._barrier.wait()


class _PausingCondition:
    """A moto condition that, once evaluated, pauses before moto acts on the result."""

    def __init__(self, condition: Any, pause: Callable[[], None]) -> None:
        self._condition = condition
        self._pause = pause

    def expr(self, item: Any) -> Any:
        result = self._condition.expr(item)
        self._pause()
        return result


def pause_update_conditions(monkeypatch: pytest.MonkeyPatch, pause: Callable[[], None]) -> None:
    """UpdateItem's condition check pauses between the check and the write."""
    import moto.dynamodb.models as models

    real = models.create_condition_expression_parser

    class Parser:
        def __init__(self, *args: Any) -> None:
            self._parser = real(*args)

        def parse(self) -> _PausingCondition:
            return _PausingCondition(self._parser.parse(), pause)

    monkeypatch.setattr(models, "create_condition_expression_parser", Parser)


def pause_transaction_conditions(monkeypatch: pytest.MonkeyPatch, pause: Callable[[], None]) -> None:
    """TransactWriteItems' own condition checks (a ``ConditionCheck``, for one) pause after the check."""
    import moto.dynamodb.models as models

    real = models.get_filter_expression
    monkeypatch.setattr(models, "get_filter_expression", lambda *args: _PausingCondition(real(*args), pause))


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=TABLE, Item={**KEY, "version": {"N": "0"}})


def transition(client: Any, winner: int) -> None:
    """The store's kind of write: from version 0 to 1, only if nobody did it first."""
    client.update_item(
        TableName=TABLE,
        Key=KEY,
        UpdateExpression="SET version = :next, winner = :winner",
        ConditionExpression="version = :expected",
        ExpressionAttributeValues={":next": {"N": "1"}, ":expected": {"N": "0"}, ":winner": {"N": str(winner)}},
    )


def transaction(client: Any, winner: int) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": KEY,
                    "UpdateExpression": "SET version = :next, winner = :winner",
                    "ConditionExpression": "version = :expected",
                    "ExpressionAttributeValues": {
                        ":next": {"N": "1"},
                        ":expected": {"N": "0"},
                        ":winner": {"N": str(winner)},
                    },
                }
            }
        ]
    )


def race(write: Callable[[Any, int], None], client: Any, competitors: int) -> list[str]:
    """``competitors`` threads make ``write`` at once; how each one ended, sorted."""
    start = threading.Barrier(competitors)
    outcomes: list[str] = []

    def compete(number: int) -> None:
        start.wait()
        try:
            write(client, number)
            outcomes.append("won")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=compete, args=(number,)) for number in range(competitors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


@contextmanager
def in_process(serialised: bool) -> Iterator[Any]:
    with mock_aws(), serialised_dynamodb() if serialised else contextlib.nullcontext():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


@contextmanager
def plain_moto_server() -> Iterator[Any]:
    """moto's own ThreadedMotoServer, as the local stack ran before the lock."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield server_client(f"http://{host}:{port}")
    finally:
        server.stop()
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:
            wsgi.server_close()  # stop() leaves the socket open


@contextmanager
def local_stack_moto_server() -> Iterator[Any]:
    server = MotoServer()
    url = server.start()
    try:
        yield server_client(url)
    finally:
        server.stop()


def server_client(url: str) -> Any:
    client = boto3.client(
        "dynamodb", region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    create_table(client)
    return client


ENGINES: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "in-process": lambda: in_process(serialised=True),
    "local stack server": local_stack_moto_server,
}
PLAIN_ENGINES: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "in-process": lambda: in_process(serialised=False),
    "server": plain_moto_server,
}


# ---------------------------------------------------------------------------------------------------------------
# Conditional UpdateItem.


@pytest.mark.parametrize("engine", PLAIN_ENGINES)
def test_plain_moto_lets_two_conditional_updates_of_one_item_both_win(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PLAIN_ENGINES[engine]() as client:
        pause_update_conditions(monkeypatch, Pause(2, ALWAYS_ARRIVES))
        assert race(transition, client, 2) == ["won", "won"]


@pytest.mark.parametrize("engine", ENGINES)
def test_serialised_moto_lets_exactly_one_conditional_update_win(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with ENGINES[engine]() as client:
        pause_update_conditions(monkeypatch, Pause(2, NEVER_ARRIVES))
        assert race(transition, client, 2) == ["ConditionalCheckFailedException", "won"]
        assert client.get_item(TableName=TABLE, Key=KEY)["Item"]["version"] == {"N": "1"}


@pytest.mark.parametrize("engine", ENGINES)
def test_many_racers_many_times_exactly_one_winner_each_time(engine: str) -> None:
    # Without a pause: thread switches every 10 µs instead of 5 ms make interleavings frequent (on plain moto,
    # measured with 3 to 6 racers: a double winner in 4 % to 93 % of the trials); here there must be none in any trial.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ENGINES[engine]() as client:
            for _ in range(40):
                client.put_item(TableName=TABLE, Item={**KEY, "version": {"N": "0"}})
                assert race(transition, client, 6).count("won") == 1
    finally:
        sys.setswitchinterval(previous)


# ---------------------------------------------------------------------------------------------------------------
# TransactWriteItems.


def test_plain_moto_lets_two_conditional_transactions_on_one_item_both_win(monkeypatch: pytest.MonkeyPatch) -> None:
    with in_process(serialised=False) as client:
        pause_update_conditions(monkeypatch, Pause(2, ALWAYS_ARRIVES))  # the transaction's update checks again
        assert race(transaction, client, 2) == ["won", "won"]


@pytest.mark.parametrize("engine", ENGINES)
def test_serialised_moto_lets_exactly_one_conditional_transaction_win(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ENGINES[engine]() as client:
        pause_update_conditions(monkeypatch, Pause(2, NEVER_ARRIVES))
        assert race(transaction, client, 2) == ["TransactionCanceledException", "won"]


def cancelled_transaction_beside_a_write(client: Any, monkeypatch: pytest.MonkeyPatch, timeout: float) -> bool:
    """A transaction whose condition fails while another request writes another item: is that write still there?"""
    in_check = threading.Event()
    written = threading.Event()
    outcome: list[str] = []

    def pause() -> None:
        in_check.set()
        written.wait(timeout)

    pause_transaction_conditions(monkeypatch, pause)
    doomed = {"ConditionCheck": {"TableName": TABLE, "Key": KEY, "ConditionExpression": "attribute_not_exists(pk)"}}

    def cancelled() -> None:
        try:
            client.transact_write_items(TransactItems=[doomed])
            outcome.append("committed")
        except ClientError as error:
            outcome.append(error.response["Error"]["Code"])

    thread = threading.Thread(target=cancelled)
    thread.start()
    assert in_check.wait(ALWAYS_ARRIVES)
    client.put_item(TableName=TABLE, Item={"pk": {"S": "other"}, "amount": {"N": "5"}})
    written.set()
    thread.join()
    assert outcome == ["TransactionCanceledException"]
    return "Item" in client.get_item(TableName=TABLE, Key={"pk": {"S": "other"}})


def test_plain_moto_loses_a_write_made_while_a_transaction_is_cancelled(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cancelled transaction puts back the table as it was when it began, erasing the write made meanwhile.
    with in_process(serialised=False) as client:
        assert not cancelled_transaction_beside_a_write(client, monkeypatch, ALWAYS_ARRIVES)


@pytest.mark.parametrize("engine", ENGINES)
def test_serialised_moto_keeps_a_write_made_while_a_transaction_is_cancelled(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ENGINES[engine]() as client:
        assert cancelled_transaction_beside_a_write(client, monkeypatch, NEVER_ARRIVES)


# ---------------------------------------------------------------------------------------------------------------
# The mechanism itself.


def test_leaving_serialised_dynamodb_puts_moto_back_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        with serialised_dynamodb(), serialised_dynamodb():
            pass  # nested: each exit undoes its own entry
        pause_update_conditions(monkeypatch, Pause(2, ALWAYS_ARRIVES))
        assert race(transition, client, 2) == ["won", "won"]


def test_only_dynamodb_requests_take_the_lock() -> None:
    assert is_dynamodb_target("DynamoDB_20120810.UpdateItem")
    assert is_dynamodb_target(b"DynamoDBStreams_20120810.GetRecords")
    assert not is_dynamodb_target("secretsmanager.GetSecretValue")
    assert not is_dynamodb_target(None)
    held: list[bool] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [])
        held.append(DYNAMODB_LOCK._is_owned())  # type: ignore[attr-defined]
        return [b"a", b"b"]

    wsgi = SerialisedWsgi(app)
    assert list(wsgi({"HTTP_X_AMZ_TARGET": "DynamoDB_20120810.PutItem"}, lambda *_: None)) == [b"ab"]
    assert list(wsgi({"HTTP_X_AMZ_TARGET": "secretsmanager.GetSecretValue"}, lambda *_: None)) == [b"a", b"b"]
    assert held == [True, False]
