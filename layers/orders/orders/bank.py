"""The bank's back-office, from the merchant's side: capture, cancel, refund and status calls.

Messages come from ``sealing``; this module sends them through a ``Transport`` (the seam tests and the
sandbox bank plug into), with timeouts, and retries only where a retry cannot apply an operation twice:
a status request may be repeated; a capture, cancel or refund whose outcome is unknown is never resent
blindly — the bank's status is asked first, and the operation is resent only if the bank shows it did
not happen.
"""

from __future__ import annotations

import functools
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Concatenate, Protocol
from urllib.parse import urlencode

from sealing import (
    REFUND_ERRORS,
    BackOfficeRequest,
    BankAnswerError,
    CaptureResult,
    Money,
    SealingError,
    StatusAnswer,
    cancel_request,
    capture_request,
    capture_result,
    parse_lines_answer,
    parse_status_answer,
    refund_request,
    status_request,
)

from .exceptions import BankError, BankRefusedError, BankUnavailableError
from .terminals import TerminalConfig
from .tracing import NO_TRACES, Traces, outcomes


def _code(cdr: str) -> int | None:
    try:
        return int(cdr)
    except ValueError:
        return None


class Transport(Protocol):
    def __call__(self, url: str, body: bytes, timeout: float) -> bytes:
        """POST ``body`` (form-urlencoded) to ``url``; return the answer's body or raise ``OSError``."""


def urllib_transport(url: str, body: bytes, timeout: float) -> bytes:
    """The real transport: an HTTPS form POST with the standard library."""
    request = urllib.request.Request(  # noqa: S310 - the URL comes from the terminal configuration
        url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return bytes(answer.read(64 * 1024 + 1))


@dataclass(frozen=True)
class BankOutcome:
    """What the bank said: accepted, with its label, and for a capture its authorisation number and the day
    the bank books it (what a later refund sends as ``date_remise``), when the answer gives them."""

    label: str
    authorisation_number: str = ""
    captured_on: date | None = None


# A back-office call's outcome in its trace: a refusal is the bank's answer; no definite answer is a fault.
BANK_FAILURES: dict[type[BaseException], str] = {BankRefusedError: "refused", BankUnavailableError: "unavailable"}
BANK_FAULTS = frozenset({"unavailable", "failed"})


def _traced[**Params, Result](
    operation: str, done: str = "accepted"
) -> Callable[[Callable[Concatenate[BankClient, Params], Result]], Callable[Concatenate[BankClient, Params], Result]]:
    """The call, in a subsegment ``bank.<operation>`` annotated with the terminal, the order's reference and the
    outcome: never the key, the seal or anything of the card."""
    outcome = outcomes(done, BANK_FAILURES)

    def wrap(
        call: Callable[Concatenate[BankClient, Params], Result],
    ) -> Callable[Concatenate[BankClient, Params], Result]:
        @functools.wraps(call)
        def traced(client: BankClient, /, *args: Params.args, **kwargs: Params.kwargs) -> Result:
            reference: Any = kwargs.get("reference", "")
            with client.traces.subsegment(
                f"bank.{operation}", outcome, BANK_FAULTS, tpe=client.terminal.tpe, reference=str(reference)
            ):
                return call(client, *args, **kwargs)

        return traced

    return wrap


# How long a journal entry (an operation's, a give-back's) may belong to a call still under way: far above any
# function's timeout. Past it, the bank's status settles the entry.
OPERATION_LEASE = timedelta(minutes=5)


class BankClient:
    """Sealed back-office calls for one terminal."""

    def __init__(
        self,
        terminal: TerminalConfig,
        transport: Transport = urllib_transport,
        *,
        timeout: float = 10.0,
        status_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        traces: Traces = NO_TRACES,
    ) -> None:
        self.terminal = terminal
        self.transport = transport
        self.timeout = timeout
        self.status_attempts = status_attempts
        self._sleep = sleep
        self.traces = traces

    def _post(self, operation: str, message: BackOfficeRequest) -> bytes:
        url = self.terminal.terminal.url(message.cgi)
        try:
            return self.transport(url, urlencode(message.fields).encode("ascii"), self.timeout)
        except (OSError, urllib.error.URLError, http.client.HTTPException) as exc:
            raise BankUnavailableError(operation, f"no answer from the bank ({type(exc).__name__})") from None

    @_traced("status", done="answered")
    def status(self, *, reference: str, total: Money, at: datetime) -> StatusAnswer:
        """The bank's view of an order. Safe to repeat: retried with a short backoff."""
        message = status_request(self.terminal.terminal, reference=reference, total=total, at=at)
        last: BankError | None = None
        for attempt in range(self.status_attempts):
            if attempt:
                self._sleep(0.2 * 2**attempt)
            try:
                return parse_status_answer(self._post("status", message))
            except BankUnavailableError as exc:
                last = exc
            except BankAnswerError as exc:
                # The bank read the request and said no (a bad seal, an amount it does not know): asking again
                # cannot change that, and the status stays unknown to whoever needed it.
                raise BankUnavailableError("status", str(exc), _code(exc.cdr)) from None
            except SealingError as exc:
                last = BankUnavailableError("status", f"unreadable answer: {exc}")
        assert last is not None
        raise last

    @_traced("capture")
    def capture(
        self,
        *,
        reference: str,
        ordered_on: date,
        total: Money,
        to_capture: Money,
        already_captured: Money,
        at: datetime,
        language: str = "FR",
    ) -> BankOutcome:
        """Capture ``to_capture`` now; what is left after it stays authorised. Sent once."""
        remaining = total - already_captured - to_capture
        message = capture_request(
            self.terminal.terminal,
            reference=reference,
            ordered_on=ordered_on,
            total=total,
            to_capture=to_capture,
            already_captured=already_captured,
            remaining=remaining,
            at=at,
            language=language,
        )
        return self._capture_answer("capture", self._post("capture", message))

    @_traced("cancel")
    def cancel(
        self, *, reference: str, ordered_on: date, total: Money, already_captured: Money, at: datetime
    ) -> BankOutcome:
        """Cancel what is left of the authorisation. Sent once."""
        message = cancel_request(
            self.terminal.terminal,
            reference=reference,
            ordered_on=ordered_on,
            total=total,
            already_captured=already_captured,
            at=at,
        )
        return self._capture_answer("cancel", self._post("cancel", message))

    @_traced("refund")
    def refund(
        self,
        *,
        reference: str,
        ordered_on: date,
        captured_on: date,
        authorisation_number: str,
        total: Money,
        refund: Money,
        refundable: Money,
        at: datetime,
    ) -> BankOutcome:
        """Refund ``refund`` of a captured order. Sent once."""
        message = refund_request(
            self.terminal.terminal,
            reference=reference,
            ordered_on=ordered_on,
            captured_on=captured_on,
            authorisation_number=authorisation_number,
            total=total,
            refund=refund,
            refundable=refundable,
            at=at,
        )
        body = self._post("refund", message)
        try:
            answer = parse_lines_answer(body)
        except SealingError as exc:
            raise BankUnavailableError("refund", f"unreadable answer: {exc}") from None
        if answer.cdr == 0:
            return BankOutcome(answer.label)
        if answer.cdr in REFUND_ERRORS:
            raise BankRefusedError("refund", REFUND_ERRORS[answer.cdr], answer.cdr)
        # A code nobody documented: the refund may have happened; only the status can tell.
        raise BankUnavailableError("refund", f"unknown answer cdr={answer.cdr} {answer.label}".rstrip(), answer.cdr)

    @staticmethod
    def _capture_answer(operation: str, body: bytes) -> BankOutcome:
        try:
            answer = parse_lines_answer(body)
            result = capture_result(answer)
        except SealingError as exc:
            raise BankUnavailableError(operation, f"unreadable answer: {exc}") from None
        if result is CaptureResult.ACCEPTED:
            return BankOutcome(answer.label, answer.authorisation_number, answer.capture_day)
        if result is CaptureResult.REFUSED:
            raise BankRefusedError(operation, answer.label or "refused by the bank", answer.cdr)
        raise BankRefusedError(operation, answer.label or "the bank answered an error", answer.cdr)


BankFactory = Callable[..., BankClient]  # the bank client of a terminal (the functions' own, a test's fake)
