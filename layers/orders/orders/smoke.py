"""The smoke test a merchant runs after every deploy: the deployed stack, end to end, on one terminal.

    python -m orders.golive --smoke --tpe 0900157 --api-url https://<api>/v1

(the stack's ``ApiUrl`` output; ``TERMINALS_SECRET_ARN``, ``ORDERS_TABLE`` and ``SMOKE_ALARM_NAME`` set to the
stack's), or from the console, ``POST /terminals/{tpe}/smoke``. Each step is a ``Check`` saying what failed and, in
one line, how to fix it; whatever fails, what the test made is removed at the end.

1. ``order``: an order created in the table as CGI1 creates it, described as the smoke test's.
2. ``checkout``: the deployed checkout page (``GET <api>/checkout/{token}``) serves its payment session 00.
3. ``confirmation``: four refusals of that session (``Annulation``), sealed with the terminal's key, posted to the
   deployed CGI2 (``<api>/confirmation``), each answered ``cdr=0``. Refusals: nothing is paid, no buyer is mailed,
   nothing reaches the bank. Four: the card attempts the bank gives one payment reference, so the session is used.
4. ``second_session``: the checkout page again, which must open session 01: the checkout function's one write,
   the ``UpdateItem`` its role restricts to ``pk``, ``sk``, ``sessions`` and ``version``. A real account cannot move
   a clock past a session's 45 idle minutes; using its attempts up is the other rule that ends a session, and the
   write it leads to is the same restricted one.
5. ``order_read``: the order as stored: both sessions, the four refusals, still awaiting payment.
6. ``alarm``: the stack's ``SmokeTestAlarm`` set to ``ALARM``; its history says whether CloudWatch published the
   notification to the alarm topic (``Succeeded`` or ``Failed``, with CloudWatch's reason).
7. ``cleanup``: the order's item deleted, the alarm set back to ``OK``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from botocore.exceptions import BotoCoreError, ClientError

from sealing import CONFIRMATION_DATE_FORMAT, local_time, minor_digits, seal

from .checks import Check, Http, http_call
from .exceptions import OrdersError
from .model import Order, OrderStatus
from .payment import create_order
from .sessions import CARD_ATTEMPTS_PER_REFERENCE
from .store import OrderStore
from .terminals import TerminalConfig, Terminals

ACK_OK = "version=2\ncdr=0\n"
DESCRIPTION = "smoke test after a deploy (python -m orders.golive --smoke): deleted when it ends"
BUYER = "smoke-test@example.com"  # RFC 2606's: nobody; and a refusal mails no buyer
BILLING = {"addressLine1": "1 rue du Test", "city": "Paris", "postalCode": "75001", "country": "FR"}
ALARM_REASON = "smoke test after a deploy (python -m orders.golive --smoke): not a real alarm, nothing to do"
ALARM_WAIT_SECONDS = 15.0  # CloudWatch records an action's result within seconds of the state change


class _FormReference(HTMLParser):
    """The payment form's ``reference`` (the payment session's bank reference) on a checkout page."""

    def __init__(self) -> None:
        super().__init__()
        self.reference = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "reference" and not self.reference:
            self.reference = values.get("value") or ""


def _served_reference(page: str) -> str:
    parser = _FormReference()
    parser.feed(page)
    return parser.reference


def _aws_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', '')}: {error.get('Message', '')}".strip(": ")
    return str(exc)


@dataclass
class Smoke:
    """One run of the smoke test on ``terminal``, against the stack at ``api_url``."""

    terminal: TerminalConfig
    store: OrderStore
    api_url: str
    cloudwatch: Any
    alarm_name: str
    clock: Callable[[], datetime]
    http: Http = http_call
    sleep: Callable[[float], None] = time.sleep
    alarm_wait_seconds: float = ALARM_WAIT_SECONDS
    checks: list[Check] = field(default_factory=list)
    _reference: str = field(default="", init=False)  # the order made, to remove
    _token: str = field(default="", init=False)
    _amount: str = field(default="", init=False)  # as the bank writes it: 1.00EUR
    _alarm_set: bool = field(default=False, init=False)

    def run(self) -> list[Check]:
        """Every step, in order (the order's steps stop at the first that fails), then the cleanup."""
        try:
            self._order_steps()
            self.checks.append(self._alarm())
        finally:
            self.checks.append(self._cleanup())
        return self.checks

    # -- the order, the checkout and CGI2 ----------------------------------------------------------------------

    def _order_steps(self) -> None:
        steps: list[Callable[[], Check]] = [self._create, self._first_checkout, self._confirmations]
        steps += [self._second_checkout, self._order_read]
        for step in steps:
            check = step()
            self.checks.append(check)
            if not check.ok:
                return

    def _create(self) -> Check:
        currency = self.terminal.terminal.currencies[0]
        digits = minor_digits(currency)
        payload = {
            "amount": f"{1:.{digits}f}", "currency": currency, "email": BUYER, "tpe": self.terminal.tpe,
            "description": DESCRIPTION, "free_text": "smoke-test", "billing": BILLING,
        }  # fmt: skip
        terminals = Terminals(by_tpe={self.terminal.tpe: self.terminal}, default_tpe=self.terminal.tpe)
        try:
            created = create_order(payload, terminals, self.store, self.clock())
        except OrdersError as exc:
            fix = "check ORDERS_TABLE and that these credentials may dynamodb:PutItem ORDER# items on it"
            return Check("order", False, f"no order could be created: {exc}", fix)
        self._reference = created.order.reference
        self._token = created.checkout_token
        self._amount = created.order.amount.wire()
        return Check("order", True, f"order {self._reference} on terminal {self.terminal.tpe} ({self._amount})")

    def _checkout(self, name: str, session: str, fix: str) -> Check:
        url = f"{self.api_url}/checkout/{self._token}"
        try:
            status, page = self.http("GET", url, None)
        except OSError as exc:
            return Check(name, False, f"the checkout page did not answer: {exc}", "check --api-url (ApiUrl output)")
        served = _served_reference(page) if status == 200 else ""
        expected = f"{self._reference}{session}"
        if status != 200 or served != expected:
            detail = f"GET /checkout answered {status}, the form for {served or 'nothing'} (expected {expected})"
            return Check(name, False, detail, fix)
        return Check(name, True, f"GET /checkout served the form of payment session {expected}")

    def _first_checkout(self) -> Check:
        fix = "check --api-url (the stack's ApiUrl output), then CheckoutFunction's log"
        return self._checkout("checkout", "00", fix)

    def _second_checkout(self) -> Check:
        fix = (
            "the checkout could not open a session: read CheckoutFunction's log (AccessDenied: its role's "
            "dynamodb:Attributes must list pk, sk, sessions and version)"
        )
        return self._checkout("second_session", "01", fix)

    def _refusal(self, attempt: int) -> bytes:
        received = local_time(self.clock() + timedelta(seconds=attempt), self.terminal.terminal.timezone)
        fields = [
            ("TPE", self.terminal.tpe), ("date", received.strftime(CONFIRMATION_DATE_FORMAT)),
            ("montant", self._amount), ("reference", f"{self._reference}00"), ("texte-libre", "smoke-test"),
            ("code-retour", "Annulation"), ("cvx", "oui"), ("vld", "1299"), ("brand", "VI"), ("status3ds", "-1"),
            ("numauto", ""), ("motifrefus", "Refus"), ("originecb", "FRA"), ("bincb", "000000"),
            ("hpancb", "0" * 40), ("ipclient", "192.0.2.1"), ("originetr", "FRA"),
        ]  # fmt: skip
        variant = self.terminal.terminal.seal.for_confirmation()
        mac = seal(self.terminal.terminal.key, fields, variant, tpe=self.terminal.tpe)
        return urlencode([*fields, ("MAC", mac)]).encode()

    def _confirmations(self) -> Check:
        url = f"{self.api_url}/confirmation"
        for attempt in range(CARD_ATTEMPTS_PER_REFERENCE):
            try:
                status, body = self.http("POST", url, self._refusal(attempt))
            except OSError as exc:
                return Check("confirmation", False, f"CGI2 did not answer: {exc}", "check --api-url (ApiUrl output)")
            if (status, body) != (200, ACK_OK):
                answered = f"CGI2 answered {status} {body[:80]!r} to refusal {attempt + 1} sealed with the key"
                return Check("confirmation", False, answered, _confirmation_fix(status, body))
        detail = f"{CARD_ATTEMPTS_PER_REFERENCE} sealed refusals posted to {url}: each cdr=0"
        return Check("confirmation", True, detail)

    def _order_read(self) -> Check:
        try:
            order = self.store.get(self._reference)
        except OrdersError as exc:
            fix = "check that these credentials may dynamodb:GetItem ORDER# items of ORDERS_TABLE"
            return Check("order_read", False, f"the order cannot be read: {exc}", fix)
        refusals = sum(1 for attempt in order.attempts if attempt.refused)
        detail = f"{order.status.value}, {len(order.sessions)} payment sessions, {refusals} refusals recorded"
        if not _as_left(order, refusals):
            fix = "CGI2 said cdr=0 without these writes: read Cgi2Function's log (queued while the table failed?)"
            return Check("order_read", False, detail, fix)
        return Check("order_read", True, detail)

    # -- the alarm ---------------------------------------------------------------------------------------------

    def _alarm(self) -> Check:
        if not self.alarm_name:
            return Check("alarm", False, "no alarm known (SMOKE_ALARM_NAME)", "set SMOKE_ALARM_NAME to SmokeTestAlarm")
        started = self.clock() - timedelta(seconds=5)  # CloudWatch's clock and ours may differ a little
        try:
            self.cloudwatch.set_alarm_state(AlarmName=self.alarm_name, StateValue="ALARM", StateReason=ALARM_REASON)
        except (ClientError, BotoCoreError) as exc:
            fix = "allow cloudwatch:SetAlarmState on the stack's SmokeTestAlarm"
            return Check("alarm", False, f"{self.alarm_name} could not be set: {_aws_error(exc)}", fix)
        self._alarm_set = True
        waited = 0.0
        while True:
            try:
                result = self._action_result(started)
            except (ClientError, BotoCoreError) as exc:
                fix = "allow cloudwatch:DescribeAlarmHistory on the stack's SmokeTestAlarm"
                return Check("alarm", False, f"{self.alarm_name}'s history cannot be read: {_aws_error(exc)}", fix)
            if result is not None or waited >= self.alarm_wait_seconds:
                break
            self.sleep(1.0)
            waited += 1.0
        if result is None:
            detail = f"{self.alarm_name} went to ALARM, and CloudWatch recorded no action in {waited:.0f} s"
            fix = f"check its actions: aws cloudwatch describe-alarms --alarm-names {self.alarm_name}"
            return Check("alarm", False, detail, fix)
        return result

    def _action_result(self, since: datetime) -> Check | None:
        """What CloudWatch recorded of the alarm's action since ``since``; ``None`` while there is nothing yet."""
        answer = self.cloudwatch.describe_alarm_history(
            AlarmName=self.alarm_name, HistoryItemType="Action", StartDate=since, ScanBy="TimestampDescending"
        )
        for item in answer.get("AlarmHistoryItems", []):
            return _action_check(self.alarm_name, item)
        return None

    # -- what the test made, removed ---------------------------------------------------------------------------

    def _cleanup(self) -> Check:
        problems = []
        if self._reference:
            try:
                self.store.delete_order(self._reference, description=DESCRIPTION)
            except OrdersError as exc:
                problems.append(f"order {self._reference} not deleted ({exc}): it expires as any unpaid order")
        if self._alarm_set:
            try:
                self.cloudwatch.set_alarm_state(AlarmName=self.alarm_name, StateValue="OK", StateReason=ALARM_REASON)
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"{self.alarm_name} not set back to OK ({_aws_error(exc)}): it returns by itself")
        made = [f"order {self._reference} deleted"] if self._reference else []
        made += [f"{self.alarm_name} back to OK"] if self._alarm_set else []
        if problems:
            fix = "allow dynamodb:DeleteItem on ORDER# items and cloudwatch:SetAlarmState on SmokeTestAlarm"
            return Check("cleanup", False, "; ".join(problems), fix)
        return Check("cleanup", True, ", ".join(made) or "nothing was made")


def _as_left(order: Order, refusals: int) -> bool:
    return (
        order.status is OrderStatus.AWAITING_PAYMENT
        and len(order.sessions) == 2
        and refusals == CARD_ATTEMPTS_PER_REFERENCE
    )


def _confirmation_fix(status: int, body: str) -> str:
    if status == 200 and "cdr=1" in body:
        return "the seal did not hold: the stack's secret and this one differ (TERMINALS_SECRET_ARN), or its key"
    if status == 403:
        return "the web ACL lets only BankAddresses post to /confirmation: run the smoke test on the test stack"
    if status == 429:
        return "the route's throttle is full: ConfirmationRateLimit, or a flood (ConfirmationRouteRefusedAlarm)"
    return "read Cgi2Function's log: the secret or the table (503), the function itself (5XX)"


def _action_check(alarm: str, item: dict[str, Any]) -> Check:
    """One ``Action`` item of an alarm's history, as CloudWatch writes it: ``HistoryData`` a JSON document whose
    ``actionState`` is ``Succeeded`` or ``Failed`` (with an ``error``), ``HistorySummary`` one line such as
    ``Successfully executed action arn:aws:sns:...`` or ``Failed to execute action arn:aws:sns:...``."""
    summary = str(item.get("HistorySummary", ""))
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except ValueError:
        data = {}
    state = str(data.get("actionState", "")) if isinstance(data, dict) else ""
    succeeded = state == "Succeeded" if state else summary.startswith("Successfully")
    if succeeded:
        return Check("alarm", True, f"{alarm} went to ALARM and CloudWatch published it: {summary}")
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    detail = f"{alarm} went to ALARM and CloudWatch could not publish it: {summary} {error}".strip()
    fix = (
        "let cloudwatch.amazonaws.com use the topic's key and publish to it (python -m orders.golive: alarm_topic_key,"
        " alarm_topic_policy)"
    )
    return Check("alarm", False, detail, fix)
