"""X-Ray subsegments of the bank's and the store's calls, recorded by the X-Ray SDK's own recorder (one of this test's,
its segments captured instead of sent to a daemon): their names, their annotations, and nothing secret in them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from aws_xray_sdk.core.context import Context
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.models.entity import Entity
from aws_xray_sdk.core.recorder import AWSXRayRecorder
from botocore.stub import Stubber

from orders.bank import BankClient
from orders.dependencies import Dependencies, tracing
from orders.exceptions import BankRefusedError, BankUnavailableError, StoreUnavailableError
from orders.store import OrderStore, order_key
from orders.terminals import Terminals
from orders.tracing import NO_TRACES, TRACE_HEADER, Traces, XRayTraces
from sealing import Money
from tests.support.aws import TEST_KEY, terminals_config

SAMPLED = {TRACE_HEADER: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}
NOT_SAMPLED = {TRACE_HEADER: "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"}
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class Captured(UDPEmitter):
    """The recorder's emitter, keeping what it would send to the X-Ray daemon."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send_entity(self, entity: Entity) -> None:
        self.sent.append(json.loads(entity.serialize()))


@pytest.fixture
def xray() -> Iterator[tuple[AWSXRayRecorder, Captured]]:
    recorder = AWSXRayRecorder()
    emitter = Captured()
    recorder.configure(sampling=False, emitter=emitter, context=Context(), service="merchant-kit")
    recorder.begin_segment("merchant-kit", sampling=1)
    yield recorder, emitter
    if recorder.current_segment() is not None:
        recorder.end_segment()


def _subsegments(recorder: AWSXRayRecorder, emitter: Captured) -> list[dict[str, Any]]:
    recorder.end_segment()
    (segment,) = emitter.sent
    return list(segment.get("subsegments", []))


def _answering(*answers: bytes | OSError) -> Any:
    left = list(answers)

    def transport(url: str, body: bytes, timeout: float) -> bytes:
        answer = left.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer

    return transport


def _bank(traces: Traces, *answers: bytes | OSError) -> BankClient:
    terminal = Terminals.from_mapping(terminals_config()).get("0900159")
    return BankClient(terminal, _answering(*answers), status_attempts=1, sleep=lambda _: None, traces=traces)


def _capture(client: BankClient) -> object:
    eur = "EUR"
    return client.capture(
        reference="TRACE1", ordered_on=date(2026, 11, 27), total=Money(Decimal("62.73"), eur),
        to_capture=Money(Decimal("10.00"), eur), already_captured=Money(Decimal("0"), eur), at=AT,
    )  # fmt: skip


def test_a_bank_call_is_a_subsegment_named_by_its_operation_with_the_terminal_and_the_outcome(
    xray: tuple[AWSXRayRecorder, Captured],
) -> None:
    recorder, emitter = xray
    traces = XRayTraces(SAMPLED, tracer=lambda: recorder)
    _capture(_bank(traces, b"version=1.0\nreference=TRACE1\ncdr=1\nlib=paiement accepte\naut=123456\n"))
    with pytest.raises(BankRefusedError):
        _capture(_bank(traces, b"version=1.0\ncdr=0\nlib=commande non authentifiee\n"))
    with pytest.raises(BankUnavailableError):
        _capture(_bank(traces, TimeoutError("timed out")))
    subsegments = _subsegments(recorder, emitter)
    assert [(s["name"], s["annotations"]) for s in subsegments] == [
        ("bank.capture", {"tpe": "0900159", "reference": "TRACE1", "outcome": outcome})
        for outcome in ("accepted", "refused", "unavailable")
    ]
    assert [bool(s.get("fault")) for s in subsegments] == [False, False, True], "only no answer is a fault"
    sent = json.dumps(emitter.sent)
    for secret in (TEST_KEY, "MAC", "montant", "123456", "commande non authentifiee"):
        assert secret not in sent, f"{secret} in a trace"


def test_a_status_request_is_answered_or_not(xray: tuple[AWSXRayRecorder, Captured]) -> None:
    recorder, emitter = xray
    traces = XRayTraces(SAMPLED, tracer=lambda: recorder)
    with pytest.raises(BankUnavailableError):
        _bank(traces, OSError("connection refused")).status(
            reference="TRACE2", total=Money(Decimal("62.73"), "EUR"), at=AT
        )
    ((name, annotations),) = [(s["name"], s["annotations"]) for s in _subsegments(recorder, emitter)]
    assert (name, annotations["outcome"], annotations["reference"]) == ("bank.status", "unavailable", "TRACE2")


def test_a_dynamodb_call_is_a_subsegment_and_a_failed_condition_is_no_fault(
    xray: tuple[AWSXRayRecorder, Captured],
) -> None:
    recorder, emitter = xray
    client = boto3.client("dynamodb", region_name="eu-west-3")
    store = OrderStore("orders", client=client, traces=XRayTraces(SAMPLED, tracer=lambda: recorder))
    with Stubber(client) as stub:
        stub.add_response("delete_item", {})
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        store.release_mail("ORDER1", "event-1", "buyer")
        assert store.claim_mail("ORDER1", "event-1", "buyer", AT) is False  # claimed before: the condition failed
        with pytest.raises(StoreUnavailableError):
            store.get("TRACE3")
    subsegments = _subsegments(recorder, emitter)
    assert [(s["name"], s["annotations"]["outcome"], bool(s.get("fault"))) for s in subsegments] == [
        ("dynamodb.delete_item", "ok", False),
        ("dynamodb.put_item", "condition_failed", False),
        ("dynamodb.get_item", "unavailable", True),
    ]
    assert "ORDER#TRACE3" not in json.dumps(emitter.sent), "no key of the table"
    assert order_key("TRACE3")  # (what the key would have been)


def test_nothing_is_recorded_for_an_invocation_lambda_did_not_sample() -> None:
    made: list[object] = []
    traces = XRayTraces(NOT_SAMPLED, tracer=lambda: made.append(1))  # type: ignore[func-returns-value]
    assert traces.recorder() is None
    _capture(_bank(traces, b"version=1.0\nreference=TRACE1\ncdr=1\nlib=paiement accepte\naut=123456\n"))
    assert made == [], "the X-Ray SDK is not even loaded"
    assert XRayTraces({}, tracer=lambda: made.append(1)).recorder() is None  # type: ignore[func-returns-value]


def test_the_recorder_is_made_once_at_the_first_sampled_invocation() -> None:
    environ = dict(NOT_SAMPLED)
    made: list[int] = []
    traces = XRayTraces(environ, tracer=lambda: made.append(1))  # type: ignore[func-returns-value]
    traces.recorder()
    environ.update(SAMPLED)
    traces.recorder()
    traces.recorder()
    assert made == [1]


def test_the_functions_trace_unless_told_not_to_and_hand_their_traces_to_the_store_and_the_bank() -> None:
    environ = {"ORDERS_TABLE": "orders"}
    deps = Dependencies.from_environment(environ)
    assert isinstance(deps.traces, XRayTraces)
    assert deps.store.traces is deps.traces
    assert deps.bank_client(Terminals.from_mapping(terminals_config()).get()).traces is deps.traces
    for off in ("true", "1", "TRUE"):
        assert tracing({**environ, "POWERTOOLS_TRACE_DISABLED": off}) is NO_TRACES
    assert Dependencies(store=deps.store, terminals=deps.terminals).traces is NO_TRACES, "none unless given"
