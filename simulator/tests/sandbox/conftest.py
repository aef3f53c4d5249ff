"""The sandbox bank on a free port, a stand-in merchant CGI2 that records confirmations, and helpers to build
sealed requests the way the merchant side does (``sealing``) and to call the back-office with the merchant's
own client (``orders.bank.BankClient``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from chalicelib.bank import Bank
from chalicelib.devserver import SandboxServer
from chalicelib.ledger import Ledger
from chalicelib.terminals import BankConfig
from simulator.tests.support.sandbox import Clock, Merchant, Sandbox, bank_config
from tests.support.aws import serialised_mock_aws

# 2026-11-26 is a Thursday: 3 working days later is Tuesday 2026-12-01, 7 is Monday 2026-12-07.


@pytest.fixture(scope="session")
def merchant() -> Iterator[Merchant]:
    stub = Merchant()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, payload = stub.answer(body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/confirmation"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stub
    server.shutdown()
    server.server_close()


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    """The sandbox's book in moto's DynamoDB (one request at a time, as DynamoDB is atomic), a new table each test."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with serialised_mock_aws():
        book = Ledger("sandbox-test", boto3.client("dynamodb", region_name="eu-west-3"))
        book.ensure_table()
        yield book


@pytest.fixture
def sandbox(merchant: Merchant, ledger: Ledger) -> Iterator[Sandbox]:
    merchant.mode = "ok"
    merchant.received.clear()
    merchant.raw.clear()
    clock = Clock()
    bank = Bank(BankConfig.from_mapping(bank_config(merchant.url)), ledger=ledger, clock=clock, timeout=5)
    server = SandboxServer(bank, port=0, quiet=True)
    server.start()
    try:
        yield Sandbox(server, clock, merchant)
    finally:
        server.stop()
