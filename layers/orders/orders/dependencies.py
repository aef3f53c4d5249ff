"""What the functions work with, in one frozen object: the orders table, the terminals, the bank, the clock...

Built once per cold start from the environment (``Dependencies.from_environment``); the local stack and the
tests build their own (a moto table, a fake bank transport, a fixed clock) and hand it to each handler's
``create_handler``. Nothing here is a module global that anything swaps at runtime.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .bank import BankClient, Transport, urllib_transport
from .confirmation_queue import ConfirmationQueue
from .events import EventPublisher
from .exceptions import ConfigurationError
from .keys import ShopKeys
from .keys import from_environment as from_keys_environment
from .mail import MailSender
from .reconciliation import ReportBucket
from .reconciliation_runs import PART_SIZE, PartQueue
from .store import OrderStore
from .terminals import NO_MAIL, MailConfiguration, TerminalConfig, Terminals
from .tracing import NO_TRACES, Traces, XRayTraces
from .users import Users

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

SECRET_CACHE_SECONDS = 300
# At most one read of the secret past its cache per this many seconds in an instance: every forged confirmation
# asks for one (its seal holds with no cached key), and a flood of them must not turn into as many billed
# GetSecretValue calls against the account's quota. A key put in the secret is still taken at once, unless a
# read past the cache was made less than this long before (then the cached keys decide, as for any bad seal).
READ_AGAIN_SECONDS = 10.0
# What a stack is deployed as (template parameter StackEnvironment, variable STACK_ENVIRONMENT); "" where no
# stack says (the local stack, the command line): its terminals are not held to it.
STACK_ENVIRONMENTS = ("test", "production")
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class SecretTerminals:
    """The terminal configuration from a Secrets Manager secret, read again at most every five minutes, or at
    once when asked (``read_again``: a confirmation whose seal no cached key holds may be sealed with a key put in
    the secret since), at most once per ``READ_AGAIN_SECONDS``.

    Each instance has its own Powertools ``SecretsProvider`` (and so its own boto3 client and cache): a new set
    of dependencies starts cold, whatever another one (an earlier test, another local stack) cached.

    In a production stack a test terminal makes the whole configuration unusable, at every read (a test terminal
    added to the secret later is refused too): its ``payetest`` confirmations would be taken for money. So does a
    ``previous_key_until`` too far ahead (``Terminals.check_rotation``).
    """

    def __init__(
        self,
        secret_arn: str,
        max_age: int = SECRET_CACHE_SECONDS,
        client: Any = None,
        stack_environment: str = "",
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``client``: the Secrets Manager client to read with (made on the first read when not given);
        ``stack_environment``: ``production`` refuses test terminals; ``clock``: the time of a read;
        ``monotonic``: the seconds ``read_again``'s interval is measured in."""
        self.secret_arn = secret_arn
        self.max_age = max_age
        self.stack_environment = stack_environment
        self.clock = clock
        self.monotonic = monotonic
        self._client = client
        self._provider: SecretsProvider | None = None
        self._read_again_at: float | None = None
        self._read_again_lock = threading.Lock()

    def __call__(self) -> Terminals:
        return self._read(force=False)

    def read_again(self) -> Terminals:
        """The secret read now, past the cache (which it refreshes); the cached configuration when such a read was
        made less than ``READ_AGAIN_SECONDS`` ago. A read that failed does not count: the next confirmation tries
        again, and its seal is never called bad on keys that could not be read (it is queued, 503)."""
        with self._read_again_lock:
            now = self.monotonic()
            if self._read_again_at is not None and now - self._read_again_at < READ_AGAIN_SECONDS:
                return self._read(force=False)
            terminals = self._read(force=True)
            self._read_again_at = now
            return terminals

    def _read(self, *, force: bool) -> Terminals:
        if not self.secret_arn:
            raise ConfigurationError("the environment variable TERMINALS_SECRET_ARN is not set")
        # Imported here, not with the module: Parameters brings its AppConfig provider with it, a cost on every
        # cold start of a function, whether or not its first request reads the secret.
        from aws_lambda_powertools.utilities import parameters

        if self._provider is None:
            self._provider = parameters.SecretsProvider(boto3_client=self._client)
        try:
            text = self._provider.get(self.secret_arn, max_age=self.max_age, force_fetch=force)
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigurationError(f"the terminal secret cannot be read: {exc}") from None
        terminals = _parsed(str(text))
        if self.stack_environment == "production":
            _no_test_terminal(terminals)
        terminals.check_rotation(self.clock())
        return terminals

    def clear_cache(self) -> None:
        """Read the secret again at the next call (after a rotation the caller knows of)."""
        if self._provider is not None:
            self._provider.clear_cache()  # type: ignore[no-untyped-call]


class ParameterMailSettings:
    """The terminals' mail settings from an SSM parameter (a String: nothing in it is secret), read again at most
    every five minutes; no parameter named, no mail. The mail function reads these instead of the terminal secret,
    so it never holds a key."""

    def __init__(self, name: str, max_age: int = SECRET_CACHE_SECONDS, client: Any = None) -> None:
        self.name = name
        self.max_age = max_age
        self._client = client
        self._provider: SSMProvider | None = None

    def __call__(self) -> MailConfiguration:
        if not self.name:
            return NO_MAIL
        from aws_lambda_powertools.utilities import parameters  # as SecretTerminals: not on every cold start

        if self._provider is None:
            self._provider = parameters.SSMProvider(boto3_client=self._client)
        try:
            text = self._provider.get(self.name, max_age=self.max_age)
        except parameters.exceptions.GetParameterError as exc:
            raise ConfigurationError(f"the mail settings parameter cannot be read: {exc}") from None
        return _mail_parsed(str(text))


@lru_cache(maxsize=4)
def _mail_parsed(text: str) -> MailConfiguration:
    return MailConfiguration.from_json(text)


@lru_cache(maxsize=4)
def _parsed(text: str) -> Terminals:
    # The secret's text is cached by the provider; parse it (keys, enums, zones) once per text, not per request.
    return Terminals.from_json(text)


def _no_test_terminal(terminals: Terminals) -> None:
    for tpe, config in terminals.by_tpe.items():
        if config.terminal.is_test:
            raise ConfigurationError(
                f"terminals.{tpe}.environment: 'test' in a production stack (StackEnvironment=production): "
                "deploy a test stack for test terminals (sam deploy --config-env test)"
            )


@dataclass(frozen=True)
class Dependencies:
    """Everything a handler reaches outside its own code. The optional resources are those only some functions
    have (the template gives each its variables): asking for one that is not configured is a
    ``ConfigurationError`` naming the variable, raised when it is used."""

    store: OrderStore
    terminals: Callable[[], Terminals]  # the provider: called per request, it caches on its own
    # The terminals' mail settings (the mail function's and the go-live check's), apart from the keys.
    mail_settings: Callable[[], MailConfiguration] = lambda: NO_MAIL
    bank_transport: Transport = urllib_transport
    clock: Callable[[], datetime] = utc_now
    queue: ConfirmationQueue | None = None
    publisher: EventPublisher | None = None
    reports: ReportBucket | None = None
    parts: PartQueue | None = None  # the reconciliation's queue of parts to check
    reconciliation_part_size: int = PART_SIZE  # orders a part of a reconciliation run checks
    mail_sender: MailSender = field(default_factory=MailSender)
    checkout_base_url: str = ""  # the checkout links' base; "" for the API's own
    bank_timeout_seconds: float = 8.0
    alarm_topic_arn: str = ""
    smoke_alarm_name: str = ""  # the alarm the smoke test sets (SmokeTestAlarm)
    reconciliation_days: int = 7  # order days back an order still awaiting payment is looked for
    traces: Traces = NO_TRACES  # X-Ray subsegments of the bank's and the store's calls (the store is given it too)
    shop_keys: ShopKeys | None = None  # the shop keys (their authorizer's and the console's key routes)
    users: Callable[[], Users] | None = None  # the console's users (its Cognito user pool): the provider

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, bank_transport: Transport = urllib_transport
    ) -> Dependencies:
        """The dependencies Lambda's environment describes (template.yaml's variables)."""
        env = os.environ if environ is None else environ
        days = int(env.get("PENDING_ORDER_RETENTION_DAYS", "180") or 180)
        queue, bus, bucket = (
            env.get(name, "") for name in ("CONFIRMATION_QUEUE_URL", "EVENT_BUS_NAME", "RECONCILIATION_BUCKET")
        )
        traces = tracing(env)
        store = OrderStore(_required(env, "ORDERS_TABLE"), pending_ttl_days=days, traces=traces)
        pepper = env.get("SHOP_KEYS_PEPPER_ARN", "")
        return cls(
            store=store,
            terminals=SecretTerminals(env.get("TERMINALS_SECRET_ARN", ""), stack_environment=_stack_environment(env)),
            mail_settings=ParameterMailSettings(env.get("MAIL_SETTINGS_PARAMETER", "")),
            bank_transport=bank_transport,
            queue=ConfirmationQueue(queue) if queue else None,
            publisher=EventPublisher(bus) if bus else None,
            reports=ReportBucket(bucket) if bucket else None,
            checkout_base_url=env.get("CHECKOUT_BASE_URL", "").rstrip("/"),
            bank_timeout_seconds=float(env.get("BANK_TIMEOUT_SECONDS", "8") or 8),
            alarm_topic_arn=env.get("ALARM_TOPIC_ARN", ""),
            smoke_alarm_name=env.get("SMOKE_ALARM_NAME", ""),
            reconciliation_days=int(env.get("RECONCILIATION_DAYS", "7") or 7),
            parts=PartQueue(env["RECONCILIATION_QUEUE_URL"]) if env.get("RECONCILIATION_QUEUE_URL") else None,
            traces=traces,
            shop_keys=from_keys_environment(env, store) if pepper else None,
            users=_users(env),
        )

    def terminals_read_again(self) -> Terminals:
        """The terminals read past any cache: a confirmation no cached key verifies may be sealed with a key the
        merchant put in the secret since (a reader that keeps no cache is simply called again)."""
        if isinstance(self.terminals, SecretTerminals):
            return self.terminals.read_again()
        return self.terminals()

    def bank_client(self, terminal: TerminalConfig) -> BankClient:
        """The bank client the functions use: two status attempts and one operation fit API Gateway's 29 s."""
        return BankClient(
            terminal, self.bank_transport, timeout=self.bank_timeout_seconds, status_attempts=2, traces=self.traces
        )

    def confirmation_queue(self) -> ConfirmationQueue:
        return _configured(self.queue, "CONFIRMATION_QUEUE_URL")

    def event_publisher(self) -> EventPublisher:
        return _configured(self.publisher, "EVENT_BUS_NAME")

    def report_bucket(self) -> ReportBucket:
        return _configured(self.reports, "RECONCILIATION_BUCKET")

    def reconciliation_queue(self) -> PartQueue:
        return _configured(self.parts, "RECONCILIATION_QUEUE_URL")

    def keys(self) -> ShopKeys:
        return _configured(self.shop_keys, "SHOP_KEYS_PEPPER_ARN")

    def console_users(self) -> Users:
        return _configured(self.users, "CONSOLE_USER_POOL_ID")()


def tracing(env: Mapping[str, str]) -> Traces:
    """X-Ray for the invocations Lambda samples, unless ``POWERTOOLS_TRACE_DISABLED`` says no (the local stack does:
    no X-Ray daemon there). Outside Lambda no invocation is sampled, and Powertools' Tracer disables itself too."""
    if env.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in ("1", "true", "y", "yes", "t", "on"):
        return NO_TRACES
    return XRayTraces()


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise ConfigurationError(f"the environment variable {name} is not set")
    return value


def _users(env: Mapping[str, str]) -> Callable[[], Users] | None:
    """The console's user pool and its app client (ConsoleFunction's variables); the one missing is named when a
    user signs in."""
    pool, client = env.get("CONSOLE_USER_POOL_ID", ""), env.get("CONSOLE_CLIENT_ID", "")
    if not pool and not client:
        return None
    users = Users(pool, client)
    return lambda: users


def _stack_environment(env: Mapping[str, str]) -> str:
    value = env.get("STACK_ENVIRONMENT", "")
    if value and value not in STACK_ENVIRONMENTS:
        raise ConfigurationError(f"STACK_ENVIRONMENT: {value!r} is neither 'test' nor 'production'")
    return value


def _configured[Resource](resource: Resource | None, variable: str) -> Resource:
    if resource is None:
        raise ConfigurationError(f"the environment variable {variable} is not set")
    return resource


def environment_handler(create_handler: Callable[[Dependencies], Handler]) -> Handler:
    """Lambda's entry point: ``create_handler`` applied to the environment's dependencies, built at the first
    invocation and kept for the life of the instance.

    Built then rather than at import so that importing a function's module needs no environment: the tests and
    the local stack import the modules and build their own dependencies, and a missing variable fails the
    invocation with a ``ConfigurationError`` naming it (tried again at the next one) instead of failing the
    import, which Lambda reports as ``Runtime.ImportModuleError`` with nothing of ours in the log. The boto3
    clients are made on first use either way, so nothing of the cold start moves.
    """
    built: list[Handler] = []
    lock = threading.Lock()

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if not built:
            with lock:
                if not built:
                    built.append(create_handler(Dependencies.from_environment()))
        return built[0](event, context)

    lambda_handler.__doc__ = create_handler.__doc__
    return lambda_handler
