"""Where the functions get their terminals and their table: environment variables and the cached secret."""

from __future__ import annotations

import os
from functools import lru_cache

from .bank import BankClient, Transport, urllib_transport
from .confirmation_queue import ConfirmationQueue
from .events import EventPublisher
from .exceptions import ConfigurationError
from .mail import MailSender
from .reconciliation import ReportBucket
from .store import OrderStore
from .terminals import TerminalConfig, Terminals

SECRET_CACHE_SECONDS = 300
# How back-office calls reach the bank; tests put a fake bank here (the transport seam).
bank_transport: Transport = urllib_transport


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"the environment variable {name} is not set")
    return value


def load_terminals() -> Terminals:
    """The terminal configuration from Secrets Manager, cached for five minutes (Powertools Parameters)."""
    # Imported here, not with the module: Parameters brings its AppConfig provider with it, a cost on every
    # cold start of a function, whether or not its first request reads the secret.
    from aws_lambda_powertools.utilities import parameters

    try:
        text = parameters.get_secret(_env("TERMINALS_SECRET_ARN"), max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as exc:
        raise ConfigurationError(f"the terminal secret cannot be read: {exc}") from None
    return _parsed(text)


@lru_cache(maxsize=4)
def _parsed(text: str) -> Terminals:
    # The secret's text is cached by Parameters; parse it (keys, enums, zones) once per text, not per request.
    return Terminals.from_json(text)


@lru_cache(maxsize=1)
def order_store() -> OrderStore:
    days = int(os.environ.get("PENDING_ORDER_RETENTION_DAYS", "180") or 180)
    return OrderStore(_env("ORDERS_TABLE"), pending_ttl_days=days)


@lru_cache(maxsize=1)
def confirmation_queue() -> ConfirmationQueue:
    return ConfirmationQueue(_env("CONFIRMATION_QUEUE_URL"))


@lru_cache(maxsize=1)
def event_publisher() -> EventPublisher:
    return EventPublisher(_env("EVENT_BUS_NAME"))


@lru_cache(maxsize=1)
def mail_sender() -> MailSender:
    return MailSender()


@lru_cache(maxsize=1)
def report_bucket() -> ReportBucket:
    return ReportBucket(_env("RECONCILIATION_BUCKET"))


def checkout_base_url() -> str:
    return os.environ.get("CHECKOUT_BASE_URL", "").rstrip("/")


def bank_client(terminal: TerminalConfig) -> BankClient:
    """The bank client the functions use: two status attempts and one operation fit API Gateway's 29 s."""
    timeout = float(os.environ.get("BANK_TIMEOUT_SECONDS", "8") or 8)
    return BankClient(terminal, bank_transport, timeout=timeout, status_attempts=2)
