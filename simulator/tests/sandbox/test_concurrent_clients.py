"""The sandbox's dev server with many clients at once (the merchant stack, the shop and a browser call it)."""

from __future__ import annotations

from chalicelib.bank import Bank
from chalicelib.devserver import SandboxServer
from chalicelib.ledger import Ledger
from chalicelib.terminals import BankConfig
from simulator.tests.support.backlog import answers_to_waiting_clients
from simulator.tests.support.sandbox import START, Merchant, bank_config


def test_fifty_clients_waiting_at_once_all_get_an_answer(merchant: Merchant, ledger: Ledger) -> None:
    # A listen backlog of 5 (socketserver's default) left the 7th client unanswered, then reset or timed out.
    bank = Bank(BankConfig.from_mapping(bank_config(merchant.url)), ledger=ledger, clock=lambda: START)
    server = SandboxServer(bank, port=0, quiet=True)  # bound and listening, not accepting yet
    try:
        answers = answers_to_waiting_clients(server.port, server.start, 50, "/")
    finally:
        server.stop()
    assert answers == [b"HTTP/1.1 200 OK"] * 50
