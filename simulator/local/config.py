"""What is local about the local stack: names, ports, the terminal configuration. The one place to change them.

Everything else (routes, tables, function settings) comes from template.yaml.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .instances import INSTANCES_PER_FUNCTION

# The kits' public test key: never a real merchant's key.
TEST_KEY = "12345678901234567890123456789012345678P0"


@dataclass(frozen=True)
class LocalConfig:
    host: str = "127.0.0.1"
    port: int = 3000  # 0: a free port
    moto_port: int = 0  # 0: a free port
    # Where the embedded AWS listens (None: ``host``). `sam local` containers need an address they can reach.
    moto_host: str | None = None
    region: str = "eu-west-3"
    account_id: str = "123456789012"  # moto's default account
    stack_name: str = "merchant-kit"
    secret_name: str = "merchant-kit/terminals"  # noqa: S105 - a name, not a secret
    # Where checkout forms post the buyer (the bank's payment page). None: the bank's own test host, per
    # terminal. The sandbox bank, when it runs alongside, sets this to its own URL.
    payment_base_url: str | None = None
    # Where the merchant's back-office client calls the bank (capture, refund, status). None: the bank's own
    # test host. The sandbox bank, when it runs alongside, sets this to its own URL too.
    backoffice_base_url: str | None = None
    # Template parameters to use instead of their defaults (TerminalsSecretArn and CheckoutBaseUrl are
    # always given local values).
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    quiet: bool = False  # no request log on stderr
    # Lambda's concurrency, locally: each instance of a function handles one event at a time, and events that
    # find them all busy get new ones, up to this many per function (local.instances).
    instances_per_function: int = INSTANCES_PER_FUNCTION
    # Scheduled functions (Schedule events) run every this many seconds locally; None: not at all.
    schedule_interval_seconds: float | None = 60.0
    # Scheduled functions run only on demand locally (POST /_local/reconcile), not every interval: a daily
    # comparison with the bank every minute would only hammer the sandbox bank.
    on_demand_functions: tuple[str, ...] = ("ReconciliationFunction",)
    # Functions with SQS events receive their queues' messages (Lambda's event source mapping, locally).
    poll_queues: bool = True
    # Functions with DynamoDB events receive their tables' stream records (the event source mapping, locally).
    poll_streams: bool = True
    # The order events kept for /_local/events, delivered to the template's API destinations (webhooks) and
    # EventBridgeRule functions (the mails, shown at /_local/mail).
    local_events: bool = True

    @classmethod
    def from_environ(cls) -> LocalConfig:
        """``PORT`` (default 3000), ``LOCAL_PAYMENT_BASE_URL`` and ``LOCAL_BACKOFFICE_BASE_URL`` (default: none),
        ``LOCAL_SCHEDULE_SECONDS`` (default 60; 0 turns the local schedules off), ``LOCAL_AWS_HOST`` and
        ``LOCAL_AWS_PORT`` (the embedded AWS: default 127.0.0.1 and a free port; `make sam-local` says what to give),
        ``LOCAL_SHOP_WEBHOOK_URL`` and ``LOCAL_SHOP_WEBHOOK_TOKEN`` (the order events to your own receiver, with
        its token, instead of the demo shop's)."""
        interval = float(os.environ.get("LOCAL_SCHEDULE_SECONDS", "60"))
        webhook = {"ShopWebhookUrl": "LOCAL_SHOP_WEBHOOK_URL", "ShopWebhookToken": "LOCAL_SHOP_WEBHOOK_TOKEN"}
        return cls(
            port=int(os.environ.get("PORT", "3000")),
            moto_host=os.environ.get("LOCAL_AWS_HOST") or None,
            moto_port=int(os.environ.get("LOCAL_AWS_PORT", "0")),
            payment_base_url=os.environ.get("LOCAL_PAYMENT_BASE_URL") or None,
            backoffice_base_url=os.environ.get("LOCAL_BACKOFFICE_BASE_URL") or None,
            schedule_interval_seconds=interval if interval > 0 else None,
            parameter_overrides={name: os.environ[var] for name, var in webhook.items() if os.environ.get(var)},
        )

    def table_name(self, logical_id: str) -> str:
        """A local table name per template table: ``OrdersTable`` → ``merchant-kit-orders``."""
        base = logical_id.removesuffix("Table") or logical_id
        words: list[str] = []
        for char in base:
            if char.isupper() and words:
                words.append("-")
            words.append(char.lower())
        return f"{self.stack_name}-{''.join(words)}"


def terminals(
    base_url: str, payment_base_url: str | None = None, backoffice_base_url: str | None = None
) -> dict[str, Any]:
    """The local terminal configuration secret (schema: layers/orders/orders/terminals.py).

    Three test terminals of "La boutique du CD", one per payment mode; the buyer comes back to local pages.
    """
    common: dict[str, Any] = {
        "key": TEST_KEY,
        "societe": "boutiqueducd",
        "bank": "cic",
        "environment": "test",
        "seal": "dsp2",
        "currencies": ["EUR"],
        "merchant_name": "La boutique du CD",
        "return_ok_url": f"{base_url}/_local/return/ok",
        "return_err_url": f"{base_url}/_local/return/err",
    }
    if payment_base_url:
        common["payment_base_url"] = payment_base_url
    if backoffice_base_url:
        common["backoffice_base_url"] = backoffice_base_url
    return {
        "default_tpe": "0900157",
        "terminals": {
            "0900157": {**common, "mode": "immediate"},
            "0900158": {**common, "mode": "deferred", "deferral_days": 3, "end_policy": "validate"},
            "0900159": {**common, "mode": "deferred_authorization", "deferral_days": 7, "end_policy": "cancel"},
        },
    }


def terminals_json(base_url: str, payment_base_url: str | None = None, backoffice_base_url: str | None = None) -> str:
    return json.dumps(terminals(base_url, payment_base_url, backoffice_base_url), indent=2)


# The local stack's MailSettingsParameter (an SSM parameter of the embedded AWS, as a merchant's is in theirs).
MAIL_SETTINGS_PARAMETER = "/merchant-kit/mail"


def mail_settings() -> dict[str, Any]:
    """The local terminals' mail settings (schema: layers/orders/orders/terminals.py, MailConfiguration): mails go
    to the embedded SES and show at /_local/mail."""
    mail = {
        "sender": "boutique@boutiqueducd.example",
        "merchant": "commandes@boutiqueducd.example",
        "merchant_name": "La boutique du CD",
    }
    return {"terminals": {tpe: dict(mail) for tpe in ("0900157", "0900158", "0900159")}}


def mail_settings_json() -> str:
    return json.dumps(mail_settings(), indent=2)
