"""A small stateful bank for tests of the merchant's back-office: it keeps each order's books and answers
capture, cancel, refund and status like docs/protocol.md, Back-office calls, with knobs to refuse, time out, or apply an
operation and then lose its answer (the case that must never lead to a second capture)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl

from sealing import MAC_FIELD, MerchantKey, parse_wire_amount, verify

TEST_KEY = "12345678901234567890123456789012345678P0"


@dataclass
class Account:
    total: Decimal
    currency: str
    captured: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)
    cancelled: bool = False
    captured_on: date | None = None  # the day the bank booked the last capture (status: dateremise)


@dataclass
class FakeBank:
    accounts: dict[str, Account] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    refuse_next: int = 0  # answer cdr=0 / -48 to the next N money operations
    timeout_next: int = 0  # raise TimeoutError before applying the next N calls
    lose_answer_next: int = 0  # apply the next N money operations, then raise TimeoutError
    status_down: bool = False
    status_without_amounts: bool = False  # a status answer that says the state but no amounts
    refund_cdr: int | None = None  # answer this undocumented cdr to refunds (after applying them)
    today: date | None = None  # the bank's own day: captures answer it as date_remise (none when unset)

    def captures(self) -> int:
        return sum(1 for cgi, fields in self.calls if cgi == "capture_paiement.cgi" and not _is_cancel(fields))

    def __call__(self, url: str, body: bytes, timeout: float) -> bytes:
        fields = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
        verify(MerchantKey(TEST_KEY), [(k, v) for k, v in fields.items()], fields[MAC_FIELD])
        cgi = url.rsplit("/", 1)[-1]
        self.calls.append((cgi, fields))
        if cgi == "etatpaiement.cgi":
            if self.status_down:
                raise TimeoutError("status unavailable")
            return self._status(fields)
        if self.timeout_next:
            self.timeout_next -= 1
            raise TimeoutError("no answer")
        total = parse_wire_amount(fields["montant"])
        account = self.accounts.setdefault(fields["reference"], Account(total.amount, total.currency))
        if self.refuse_next:
            self.refuse_next -= 1
            return b"version=1.0\ncdr=-48\nlib=refus\n" if cgi == "recredit_paiement.cgi" else b"cdr=0\nlib=refus\n"
        answer = self._refund(account, fields) if cgi == "recredit_paiement.cgi" else self._capture(account, fields)
        if self.lose_answer_next:
            self.lose_answer_next -= 1
            raise TimeoutError("applied, but the answer was lost")
        return answer

    def _capture(self, account: Account, fields: dict[str, str]) -> bytes:
        if _is_cancel(fields):
            account.cancelled = True
            return b"version=1.0\ncdr=1\nlib=commande annulee\n"
        amount = parse_wire_amount(fields["montant_a_capturer"]).amount
        if account.cancelled or account.captured + amount > account.total:
            return b"version=1.0\ncdr=0\nlib=montant trop eleve\n"
        account.captured += amount
        account.captured_on = self.today
        booked = f"date_remise={self.today:%d/%m/%Y}\n" if self.today else ""
        return f"version=1.0\ncdr=1\nlib=paiement accepte\naut=123456\n{booked}".encode()

    def _refund(self, account: Account, fields: dict[str, str]) -> bytes:
        amount = parse_wire_amount(fields["montant_recredit"]).amount
        if account.refunded + amount > account.captured:
            return b"version=1.0\ncdr=-46\n"
        if parse_wire_amount(fields["montant_possible"]).amount != account.captured - account.refunded:
            return b"version=1.0\ncdr=-52\n"
        account.refunded += amount
        if self.refund_cdr is not None:
            return f"version=1.0\ncdr={self.refund_cdr}\n".encode()
        return b"version=1.0\ncdr=0\nlib=recredit effectue\n"

    def _status(self, fields: dict[str, str]) -> bytes:
        account = self.accounts.get(fields["reference"])
        if account is None:
            total = parse_wire_amount(fields["montant"])
            account = Account(total.amount, total.currency)
        state = "AN" if account.cancelled and not account.captured else ("PA" if account.captured else "AP")
        if self.status_without_amounts:
            return f"<etat_paiement><etat>{state}</etat></etat_paiement>".encode()
        return (
            f"<etat_paiement><etat>{state}</etat><numauto>123456</numauto>"
            f"<montantrecouvre>{account.captured:.2f}{account.currency}</montantrecouvre>"
            f"<recredits>{account.refunded:.2f}{account.currency}</recredits>"
            + (f"<dateremise>{account.captured_on:%d/%m/%Y}</dateremise>" if account.captured_on else "")
            + "</etat_paiement>"
        ).encode()


def _is_cancel(fields: dict[str, str]) -> bool:
    if "montant_a_capturer" not in fields:
        return False
    to_capture = parse_wire_amount(fields["montant_a_capturer"]).amount
    return to_capture == 0 == parse_wire_amount(fields["montant_restant"]).amount
