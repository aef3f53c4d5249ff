"""HTTPS: the sandbox started with ``tls=True`` serves with a self-signed certificate made by ``cryptography``;
the merchant's back-office client reaches it once the certificate is trusted (``SSL_CERT_FILE``)."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography import x509

from chalicelib.bank import Bank
from chalicelib.devserver import SandboxServer
from chalicelib.ledger import Ledger
from chalicelib.terminals import BankConfig
from local.sandbox import trusting_transport
from orders.bank import BankClient
from orders.exceptions import BankUnavailableError
from orders.terminals import TerminalConfig
from sealing import Money, PaymentState, Terminal
from simulator.tests.support.full_stack import full_stack
from simulator.tests.support.sandbox import KEY, START, Merchant, bank_config
from simulator.tests.support.sandbox_stack import call, checkout_and_pay, create


@pytest.fixture
def https_server(merchant: Merchant, ledger: Ledger, tmp_path: Path) -> Iterator[SandboxServer]:
    bank = Bank(BankConfig.from_mapping(bank_config(merchant.url)), ledger=ledger, clock=lambda: START)
    server = SandboxServer(bank, port=0, tls=True, cert_dir=tmp_path, quiet=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_certificate_names_the_local_host(https_server: SandboxServer, tmp_path: Path) -> None:
    assert https_server.base_url.startswith("https://127.0.0.1:")
    assert https_server.certificate == tmp_path / "sandbox-cert.pem"
    certificate = x509.load_pem_x509_certificate(https_server.certificate.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc > timedelta(days=29)
    assert (tmp_path / "sandbox-key.pem").stat().st_mode & 0o077 == 0


def test_pages_are_served_over_tls(https_server: SandboxServer) -> None:
    assert https_server.certificate is not None
    context = ssl.create_default_context(cafile=str(https_server.certificate))
    with urllib.request.urlopen(f"{https_server.base_url}/", context=context, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{https_server.base_url}/", context=ssl.create_default_context(), timeout=10)  # noqa: S310


def test_the_dashboard_cookie_is_secure_over_https(https_server: SandboxServer) -> None:
    assert https_server.certificate is not None
    context = ssl.create_default_context(cafile=str(https_server.certificate))
    connection = http.client.HTTPSConnection(https_server.host, https_server.port, context=context, timeout=10)
    try:
        body = urlencode({"tpe": "0900157", "password": "secret"})
        connection.request(
            "POST", "/test/gestion/connexion", body, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        answer = connection.getresponse()
        assert answer.status == 303
        cookie = answer.getheader("Set-Cookie") or ""
    finally:
        connection.close()
    assert cookie.endswith("; Path=/test/gestion; HttpOnly; SameSite=Strict; Secure")


def test_the_merchants_client_reaches_it_with_a_transport_that_trusts_it(https_server: SandboxServer) -> None:
    assert https_server.certificate is not None
    terminal = Terminal(tpe="0900157", key=KEY, societe="boutiqueducd", backoffice_base_url=https_server.test_url)
    transport = trusting_transport(https_server.certificate)
    client = BankClient(TerminalConfig(terminal), transport, timeout=5, status_attempts=1, sleep=lambda _: None)
    answer = client.status(reference="NOSUCH", total=Money(Decimal("1.00"), "EUR"), at=START)
    assert answer.state is PaymentState.AWAITING
    untrusting = BankClient(TerminalConfig(terminal), timeout=5, status_attempts=1, sleep=lambda _: None)
    with pytest.raises(BankUnavailableError):
        untrusting.status(reference="NOSUCH", total=Money(Decimal("1.00"), "EUR"), at=START)


def test_make_run_with_sandbox_https() -> None:
    """``SANDBOX_HTTPS=1 make run``: the checkout form posts to https://, the merchant's back-office calls the
    sandbox over HTTPS (its transport trusts the certificate), the sandbox confirms to the local API over HTTP."""
    with full_stack(https=True) as system:
        assert system.sandbox.test_url.startswith("https://")
        order = create(system, tpe="0900158")
        assert order["form"]["action"] == f"{system.sandbox.test_url}/paiement.cgi"
        assert system.sandbox.server.certificate is not None
        context = ssl.create_default_context(cafile=str(system.sandbox.server.certificate))
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        checkout_and_pay(system, order, opener=opener)
        reference = order["reference"]
        status, _, body = call(f"{system.api}/orders/{reference}/capture", b"{}", "application/json")
        assert status == 200, body
        assert json.loads(body)["status"] == "captured"


def test_an_idle_connection_does_not_hold_up_other_requests(https_server: SandboxServer) -> None:
    """Each connection's handshake runs in its own thread: one that connects and says nothing (a port scanner, a
    browser's speculative socket) cannot freeze the server in ``accept()``."""
    assert https_server.certificate is not None
    context = ssl.create_default_context(cafile=str(https_server.certificate))
    with socket.create_connection((https_server.host, https_server.port)) as idle:
        for _ in range(2):
            with urllib.request.urlopen(f"{https_server.base_url}/", context=context, timeout=5) as answer:  # noqa: S310
                assert answer.status == 200
        idle.sendall(b"GET / HTTP/1.1\r\n\r\n")  # not TLS either: dropped, and the server goes on
    with urllib.request.urlopen(f"{https_server.base_url}/", context=context, timeout=5) as answer:  # noqa: S310
        assert answer.status == 200


def test_a_connection_silent_past_the_handshake_timeout_is_closed(
    merchant: Merchant, ledger: Ledger, tmp_path: Path
) -> None:
    bank = Bank(BankConfig.from_mapping(bank_config(merchant.url)), ledger=ledger, clock=lambda: START)
    server = SandboxServer(bank, port=0, tls=True, cert_dir=tmp_path, quiet=True, handshake_timeout=0.3)
    server.start()
    try:
        with socket.create_connection((server.host, server.port)) as idle:
            idle.settimeout(5)
            assert idle.recv(1) == b""  # the server hung up (a timeout here would raise)
    finally:
        server.stop()
