"""The functions' tracing as Lambda runs it: a fresh interpreter with Lambda's environment for a sampled invocation
(``LAMBDA_TASK_ROOT``, ``_X_AMZN_TRACE_ID`` with ``Sampled=1``), the dependencies built from it, and an X-Ray daemon
(a UDP socket of this test's, ``AWS_XRAY_DAEMON_ADDRESS``) receiving what the X-Ray SDK sends.

AWS X-Ray developer guide, "Sending segment documents to the X-Ray daemon": each UDP datagram is a JSON header line
``{"format": "json", "version": 1}`` and a segment or subsegment document.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

from tests.support.aws import ROOT, TEST_KEY, terminals_config

SCRIPT = """
import json, sys
from datetime import UTC, datetime
from decimal import Decimal
from orders.dependencies import Dependencies
from orders.exceptions import OrdersError
from orders.terminals import Terminals
from sealing import Money

def bank(url, body, timeout):
    raise TimeoutError("the bank did not answer")

deps = Dependencies.from_environment(bank_transport=bank)
terminal = Terminals.from_mapping(json.loads(sys.argv[1])).get("0900157")
for call in (
    lambda: deps.bank_client(terminal).status(reference="TRACE9", total=Money(Decimal("62.73"), "EUR"),
                                              at=datetime(2026, 11, 27, tzinfo=UTC)),
    lambda: deps.store.get("TRACE9"),
):
    try:
        call()
    except OrdersError as exc:
        print(type(exc).__name__)
"""


def _documents(daemon: socket.socket) -> list[dict[str, Any]]:
    found = []
    daemon.settimeout(2)
    while True:
        try:
            datagram = daemon.recv(65536)
        except TimeoutError:
            return found
        header, document = datagram.split(b"\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        found.append(json.loads(document))


def test_a_sampled_invocation_sends_its_bank_and_dynamodb_subsegments_to_the_daemon() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        port = daemon.getsockname()[1]
        with socket.socket() as closed:  # a local port nothing listens on: DynamoDB "down" at once
            closed.bind(("127.0.0.1", 0))
            dynamodb = f"http://127.0.0.1:{closed.getsockname()[1]}"
        environment = {
            "PATH": os.environ["PATH"],
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "merchant-kit-Cgi2Function",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}",
            "AWS_REGION": "eu-west-3",
            "AWS_DEFAULT_REGION": "eu-west-3",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ENDPOINT_URL": dynamodb,
            "AWS_MAX_ATTEMPTS": "1",
            "POWERTOOLS_SERVICE_NAME": "merchant-kit",
            "ORDERS_TABLE": "orders",
        }
        done = subprocess.run(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", SCRIPT, json.dumps(terminals_config())],
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["BankUnavailableError", "StoreUnavailableError"]
        documents = _documents(daemon)
    named = {document["name"]: document for document in documents}
    assert named["bank.status"]["annotations"] == {"tpe": "0900157", "reference": "TRACE9", "outcome": "unavailable"}
    assert named["dynamodb.get_item"]["annotations"] == {"outcome": "unavailable"}
    call = named["dynamodb"]  # botocore patched: the AWS call itself, under the store's subsegment
    assert (call["namespace"], call["aws"]["operation"]) == ("aws", "GetItem")
    assert call["parent_id"] == named["dynamodb.get_item"]["id"]
    assert {document["trace_id"] for document in documents} == {"1-5759e988-bd862e3fe1be46a994272793"}
    assert TEST_KEY not in json.dumps(documents)
