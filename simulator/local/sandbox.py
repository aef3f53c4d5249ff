"""The sandbox bank as a service of the local stack (``make run``): it plays the bank for the local terminals.

Its port is bound when it is made, so the merchant's terminals can point at it (``payment_base_url`` and
``backoffice_base_url``) before the stack writes the terminal secret; when the stack starts it, it is given its
terminals — the three local ones, their CGI2 URL the stack's ``/confirmation`` — in memory, and serves. Nothing
holding a key is written to disk; the HTTPS mode's certificate lives in a temporary directory removed at stop.
"""

from __future__ import annotations

import secrets
import ssl
import sys
import tempfile
import urllib.request
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacktools.template import ROOT

from .clock import MovableClock
from .config import LocalConfig, mail_settings, terminals

if TYPE_CHECKING:
    from orders.bank import Transport

    from .stack import LocalStack, Service

SANDBOX_DIR = Path(__file__).resolve().parents[1] / "sandbox"
SEALING_DIR = ROOT / "layers" / "sealing"
TABLE = "sandbox-bank"  # in the local stack's embedded DynamoDB
DEFAULT_PASSWORD = "boutique"  # noqa: S105 - the local dashboard's password, printed in the banner


def trusting_transport(certificate: Path) -> Transport:
    """The merchant's back-office transport (``orders.bank.urllib_transport``) trusting ``certificate`` too."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=str(certificate))

    def transport(url: str, body: bytes, timeout: float) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the sandbox's URL
            url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
            return bytes(answer.read(64 * 1024 + 1))

    return transport


def _importable() -> None:
    for entry in (SANDBOX_DIR, SEALING_DIR):
        if str(entry) not in sys.path:
            sys.path.append(str(entry))


def sandbox_terminals(merchant_base_url: str, password: str = DEFAULT_PASSWORD, logo_url: str = "") -> dict[str, Any]:
    """The bank's side of the local terminals (local/config.py), their confirmations sent to the local API."""
    merchant = terminals(merchant_base_url)["terminals"]
    mail = mail_settings()["terminals"]
    bank = {}
    for tpe, terminal in merchant.items():
        bank[tpe] = {
            "key": terminal["key"],
            "societe": terminal["societe"],
            "merchant_name": terminal["merchant_name"],
            "seal": terminal["seal"],
            "bank": terminal["bank"],
            "mode": terminal["mode"],
            "deferral_days": terminal.get("deferral_days", 0),
            "end_policy": terminal.get("end_policy", "validate"),
            "cgi2_url": f"{merchant_base_url}/confirmation",
            "logo_url": logo_url or None,
            "dashboard_password": password,
            # The bank's own confirmation mail, shown at /_local/mail next to what the stack's SES sent.
            "merchant_email": mail[tpe]["merchant"],
            "confirmation_mail": True,
        }
    return {"terminals": bank}


class SandboxBankService:
    name = "sandbox"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        https: bool = False,
        quiet: bool = False,
        password: str = DEFAULT_PASSWORD,
        logo_url: str = "",
    ) -> None:
        _importable()
        from chalicelib.bank import Bank
        from chalicelib.devserver import SandboxServer
        from chalicelib.ledger import Ledger
        from chalicelib.terminals import BankConfig

        self.password = password
        self.logo_url = logo_url
        self.clock = MovableClock()
        # Its table is made in the stack's embedded AWS when the stack starts (the client is made on first use).
        self.bank = Bank(BankConfig({}), ledger=Ledger(TABLE), clock=self.clock)
        # TemporaryDirectory also removes itself at interpreter exit if stop() is never reached.
        self._scratch = tempfile.TemporaryDirectory(prefix="sandbox-tls-") if https else None
        try:
            cert_dir = Path(self._scratch.name) if self._scratch else None
            self.server = SandboxServer(self.bank, host=host, port=port, tls=https, cert_dir=cert_dir, quiet=quiet)
        except BaseException:
            self._remove_scratch()
            raise

    @property
    def bank_transport(self) -> Transport | None:
        """How the merchant's back-office client reaches this bank: over TLS, trusting its self-signed
        certificate (the local stack builds the functions' dependencies with it); None for plain HTTP."""
        if self.server.certificate is None:
            return None
        return trusting_transport(self.server.certificate)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def test_url(self) -> str:
        return self.server.test_url

    def start(self, stack: LocalStack) -> None:
        from chalicelib.terminals import BankConfig

        self.bank.config = BankConfig.from_mapping(sandbox_terminals(stack.base_url, self.password, self.logo_url))
        self.bank.ledger.ensure_table()
        self.server.start()

    def move_clock_to(self, at: datetime) -> None:
        """Make it ``at`` for the bank (if that is later than its time) and do what falls due up to then: the
        end of deferral periods, and the later instalments of split payments (their confirmations sent now)."""
        self.clock.move_to(at)
        self.bank.settle()

    def stop(self) -> None:
        self.server.stop()
        self._remove_scratch()

    def _remove_scratch(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def describe(self) -> list[str]:
        lines = [
            f"  bank         {self.base_url}   (sandbox: payment page {self.test_url}/paiement.cgi)",
            f"  dashboard    {self.test_url}/gestion/   (TPE 0900157, 0900158 or 0900159, password {self.password})",
        ]
        if self.server.certificate is not None:
            lines.append(f"  certificate  {self.server.certificate}   (self-signed, for 127.0.0.1 and localhost)")
        return lines


def with_sandbox_and_shop(
    config: LocalConfig, *, sandbox_port: int = 0, shop_port: int = 0, https: bool = False
) -> tuple[LocalConfig, list[Service]]:
    """The sandbox bank and the demo shop, bound; ``config`` with the terminals pointing at the sandbox."""
    from shop import ShopService

    shop = ShopService(config.host, shop_port, quiet=config.quiet)
    try:
        bank = SandboxBankService(config.host, sandbox_port, https=https, quiet=config.quiet, logo_url=shop.logo_url)
    except BaseException:
        shop.http.server_close()
        raise
    # The shop is told of every order event through the template's webhook (its API destination, locally).
    webhook = {"ShopWebhookUrl": shop.webhook_url, "ShopWebhookToken": secrets.token_urlsafe(32)}
    config = replace(
        config,
        payment_base_url=bank.test_url,
        backoffice_base_url=bank.test_url,
        parameter_overrides={**webhook, **config.parameter_overrides},
    )
    return config, [bank, shop]
