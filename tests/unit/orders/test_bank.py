"""The back-office client against a fake bank that accepts, refuses, times out and answers garbage."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from orders.bank import BankClient
from orders.exceptions import BankRefusedError, BankUnavailableError
from orders.terminals import Terminals
from sealing import MAC_FIELD, MerchantKey, Money, PaymentState, verify
from tests.support.aws import TEST_KEY, terminals_config

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
EUR = "EUR"


def money(amount: str) -> Money:
    return Money(Decimal(amount), EUR)


class FakeBank:
    """Records every call, checks its seal, answers what the test says."""

    def __init__(self, *answers: bytes | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, timeout: float) -> bytes:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True)
        mac = dict(fields)[MAC_FIELD]
        verify(MerchantKey(TEST_KEY), fields, mac)  # every call is sealed with the terminal's key
        self.calls.append((url, dict(fields)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(bank: FakeBank, tpe: str = "0900159") -> BankClient:
    terminal = Terminals.from_mapping(terminals_config()).get(tpe)
    return BankClient(terminal, bank, timeout=1.0, sleep=lambda _: None)


def capture(bank_client: BankClient, amount: str = "10.00", already: str = "0") -> object:
    return bank_client.capture(
        reference="REF1", ordered_on=date(2026, 11, 27), total=money("62.73"), to_capture=money(amount),
        already_captured=money(already), at=AT,
    )  # fmt: skip


def test_capture_accepted_sends_the_sum_rule() -> None:
    bank = FakeBank(b"version=1.0\nreference=REF1\ncdr=1\nlib=paiement accepte\naut=123456\n")
    outcome = capture(client(bank), "10.00", "20.00")
    assert outcome.authorisation_number == "123456"  # type: ignore[attr-defined]
    url, fields = bank.calls[0]
    assert url == "https://ssl.paiement.cic-banques.fr/test/capture_paiement.cgi"
    assert (fields["montant"], fields["montant_a_capturer"], fields["montant_deja_capture"]) == (
        "62.73EUR", "10.00EUR", "20.00EUR",
    )  # fmt: skip
    assert fields["montant_restant"] == "32.73EUR"


def test_capture_refused() -> None:
    bank = FakeBank(b"version=1.0\ncdr=0\nlib=commande non authentifiee\n")
    with pytest.raises(BankRefusedError, match="non authentifiee"):
        capture(client(bank))


@pytest.mark.parametrize("answer", [b"<html>502</html>", b"", b"cdr=maybe", b"cdr=7"])
def test_capture_garbage_is_unknown_and_not_retried(answer: bytes) -> None:
    bank = FakeBank(answer)
    with pytest.raises(BankUnavailableError):
        capture(client(bank))
    assert len(bank.calls) == 1  # never resent blindly


def test_capture_timeout_is_unknown_and_not_retried() -> None:
    bank = FakeBank(TimeoutError("timed out"))
    with pytest.raises(BankUnavailableError, match="TimeoutError"):
        capture(client(bank))
    assert len(bank.calls) == 1


def test_cancel_sends_zero_amounts() -> None:
    bank = FakeBank(b"version=1.0\ncdr=1\nlib=commande annulee\n")
    client(bank).cancel(
        reference="REF1", ordered_on=date(2026, 11, 27), total=money("62.73"), already_captured=money("10.00"), at=AT
    )
    fields = bank.calls[0][1]
    assert (fields["montant_a_capturer"], fields["montant_restant"]) == ("0EUR", "0EUR")


@pytest.mark.parametrize(("cdr", "reason"), [(-46, "already fully refunded"), (-48, "partial refund not allowed")])
def test_refund_refusals_name_the_reason(cdr: int, reason: str) -> None:
    bank = FakeBank(f"version=1.0\ncdr={cdr}\n".encode())
    with pytest.raises(BankRefusedError, match=reason) as error:
        client(bank, "0900157").refund(
            reference="REF1", ordered_on=date(2026, 11, 27), captured_on=date(2026, 11, 27),
            authorisation_number="123456", total=money("62.73"), refund=money("5.00"), refundable=money("62.73"),
            at=AT,
        )  # fmt: skip
    assert error.value.code == cdr


def test_status_is_retried_after_a_timeout_and_garbage() -> None:
    xml = b"<result><etat>PA</etat><numauto>123456</numauto><montantrecouvre>62.73EUR</montantrecouvre></result>"
    bank = FakeBank(TimeoutError(), b"not xml", xml)
    status = client(bank).status(reference="REF1", total=money("62.73"), at=AT)
    assert status.state is PaymentState.PAID
    assert status.collected == money("62.73")
    assert len(bank.calls) == 3


def test_status_gives_up_after_its_attempts() -> None:
    bank = FakeBank(TimeoutError(), TimeoutError(), TimeoutError())
    with pytest.raises(BankUnavailableError):
        client(bank).status(reference="REF1", total=money("62.73"), at=AT)


def test_a_status_error_answer_says_what_the_bank_answered_and_is_not_retried() -> None:
    bank = FakeBank(
        b"<etatpaiement><version>2.0</version><cdr>-1</cdr><lib>commande non authentifiee</lib></etatpaiement>"
    )
    with pytest.raises(BankUnavailableError) as error:
        client(bank).status(reference="REF1", total=money("62.73"), at=AT)
    assert "cdr=-1 (commande non authentifiee)" in str(error.value)
    assert "unknown" not in str(error.value)
    assert error.value.code == -1
    assert len(bank.calls) == 1


@pytest.mark.parametrize(
    ("line", "day"),
    [("date_remise=28/11/2026\n", date(2026, 11, 28)), ("", None), ("date_remise=2026-11-28\n", None)],
)
def test_a_capture_answer_gives_the_banks_capture_day_when_it_says_it(line: str, day: date | None) -> None:
    bank = FakeBank(f"version=1.0\nreference=REF1\ncdr=1\nlib=paiement accepte\naut=123456\n{line}".encode())
    outcome = capture(client(bank))
    assert outcome.captured_on == day  # type: ignore[attr-defined]  # an unreadable date is no date, the capture stands


def test_the_status_gives_what_remains_and_the_capture_day() -> None:
    bank = FakeBank(
        b"<etatpaiement><etat>PA</etat><montantrecouvre>12.73EUR</montantrecouvre><recredits>0EUR</recredits>"
        b"<montantrestant>0EUR</montantrestant><dateremise>01/12/2026</dateremise></etatpaiement>"
    )
    answer = client(bank).status(reference="REF1", total=money("62.73"), at=AT)
    assert (answer.remaining, answer.captured_on) == (money("0"), date(2026, 12, 1))
