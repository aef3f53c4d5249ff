"""Split payments (``nbrech``): the first instalment is paid and confirmed at the order; each later one is
authorised on its day, by the bank's clock, captured when granted, and confirmed to CGI2 as ``paiement_pfN`` (or
``Annulation_pfN``) — once, whoever looks first."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from chalicelib.cards import REFUSED_LATER
from sealing import Instalment, Money, Outcome, PaymentState, parse_form, read_captures_xml, read_confirmation
from simulator.tests.support.sandbox import START, Browser, Sandbox, at_once, get, pay, post

PARTS = (
    Instalment(date(2026, 11, 26), Money(Decimal("20.91"), "EUR")),
    Instalment(date(2026, 12, 26), Money(Decimal("20.91"), "EUR")),
    Instalment(date(2027, 1, 26), Money(Decimal("20.91"), "EUR")),
)


def look(sandbox: Sandbox) -> None:
    """Any request: the bank does what falls due before answering it."""
    assert get(f"{sandbox.server.base_url}/")[0] == 200


def confirmation(sandbox: Sandbox, index: int = -1) -> tuple[dict[str, str], object]:
    fields = sandbox.merchant.received[index]
    return dict(fields), read_confirmation(parse_form(sandbox.merchant.raw[index]))


def test_later_instalments_are_confirmed_on_their_days(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT2", instalments=PARTS)
    first, _ = confirmation(sandbox)
    assert (first["code-retour"], first["montantech"]) == ("payetest", "20.91EUR")
    # 10:00 in Paris, the order's time of day, on 26 December.
    sandbox.clock.now = datetime(2026, 12, 26, 8, 59, tzinfo=UTC)
    look(sandbox)
    assert len(sandbox.merchant.received) == 1
    sandbox.clock.now = datetime(2026, 12, 26, 9, 0, tzinfo=UTC)
    look(sandbox)
    fields, read = confirmation(sandbox)
    assert fields["code-retour"] == "paiement_pf2"
    assert (fields["montant"], fields["montantech"], fields["date"]) == (
        "62.73EUR",
        "20.91EUR",
        "26/12/2026_a_10:00:00",
    )
    assert fields["numauto"] not in ("", first["numauto"])
    assert (fields["cbmasquee"], fields["vld"], fields["hpancb"]) == (first["cbmasquee"], first["vld"], first["hpancb"])
    assert read.return_code.instalment == 2  # type: ignore[attr-defined]
    assert read.return_code.outcome is Outcome.ACCEPTED  # type: ignore[attr-defined]
    look(sandbox)
    assert len(sandbox.merchant.received) == 2  # sent once
    payment = sandbox.bank.ledger.get("0900157", "SPLIT2")
    assert payment is not None
    assert payment.captured == Decimal("41.82")
    assert [i.acknowledged for i in payment.instalments] == [None, True, None]
    sandbox.clock.now = datetime(2027, 2, 1, tzinfo=UTC)
    look(sandbox)
    assert confirmation(sandbox)[0]["code-retour"] == "paiement_pf3"
    assert sandbox.bank.ledger.get("0900157", "SPLIT2").captured == Decimal("62.73")  # type: ignore[union-attr]


def test_a_clock_moved_past_two_days_sends_both_each_dated_on_its_day(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT3", instalments=PARTS)
    sandbox.clock.now = datetime(2027, 3, 1, tzinfo=UTC)
    look(sandbox)
    later = [dict(fields) for fields in sandbox.merchant.received[1:]]
    assert [(f["code-retour"], f["date"]) for f in later] == [
        ("paiement_pf2", "26/12/2026_a_10:00:00"),
        ("paiement_pf3", "26/01/2027_a_10:00:00"),
    ]


def test_a_card_refused_later_refuses_the_later_instalments(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT4", REFUSED_LATER, instalments=PARTS)
    assert confirmation(sandbox)[0]["code-retour"] == "payetest"
    sandbox.clock.now = datetime(2026, 12, 27, tzinfo=UTC)
    look(sandbox)
    fields, read = confirmation(sandbox)
    assert (fields["code-retour"], fields["motifrefus"], fields["numauto"]) == ("Annulation_pf2", "Refus", "")
    assert read.return_code.outcome is Outcome.REFUSED  # type: ignore[attr-defined]
    payment = sandbox.bank.ledger.get("0900157", "SPLIT4")
    assert payment is not None
    assert payment.captured == Decimal("20.91")  # the first only
    assert [i.outcome for i in payment.instalments] == ["paid", "refused", ""]


def test_an_unacknowledged_instalment_is_an_alert(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT5", instalments=PARTS)
    sandbox.merchant.mode = "cdr1"
    sandbox.clock.now = datetime(2026, 12, 27, tzinfo=UTC)
    look(sandbox)
    [alert] = sandbox.bank.ledger.alerts("0900157")
    assert alert.detail.startswith("paiement_pf2: ")
    assert alert.at == datetime(2026, 12, 26, 9, 0, tzinfo=UTC)


def test_two_requests_at_once_send_an_instalment_once(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT6", instalments=PARTS)
    sandbox.clock.now = datetime(2026, 12, 27, tzinfo=UTC)
    at_once(4, lambda _: sandbox.bank.settle())
    assert [dict(f)["code-retour"] for f in sandbox.merchant.received] == ["payetest", "paiement_pf2"]


def test_the_orders_detail_lists_its_instalments(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT7", REFUSED_LATER, instalments=PARTS)
    sandbox.clock.now = datetime(2026, 12, 27, tzinfo=UTC)
    browser = Browser(sandbox.server.base_url)
    browser.login("0900157")
    _, _, page = browser.open("/test/gestion/commande/SPLIT7")
    assert '<tr id="instalment-2"><td>2</td><td>26/12/2026</td><td>20.91 EUR</td><td>refusée (Refus)</td>' in page
    assert '<tr id="instalment-3"><td>3</td><td>26/01/2027</td><td>20.91 EUR</td><td>à venir</td>' in page


def test_a_split_payment_is_for_an_immediate_terminal(sandbox: Sandbox) -> None:
    status, _, page = post(
        f"{sandbox.url}/paiement.cgi", sandbox.request_fields("SPLIT8", tpe="0900158", instalments=PARTS)
    )
    assert status == 400
    assert "<code>nbrech</code>" in page
    assert sandbox.bank.ledger.get("0900158", "SPLIT8") is None
    assert START.date() == PARTS[0].due


def test_the_status_and_the_daily_file_show_what_was_collected_instalment_by_instalment(sandbox: Sandbox) -> None:
    pay(sandbox, "SPLIT9", instalments=PARTS)
    client = sandbox.client()
    total = Money(Decimal("62.73"), "EUR")
    first = client.status(reference="SPLIT9", total=total, at=sandbox.clock.now)
    assert (first.state, first.collected) == (PaymentState.PAID, Money(Decimal("20.91"), "EUR"))
    sandbox.clock.now = datetime(2026, 12, 26, 9, 0, tzinfo=UTC)
    look(sandbox)
    second = client.status(reference="SPLIT9", total=total, at=sandbox.clock.now)
    assert (second.collected, second.captured_on) == (Money(Decimal("41.82"), "EUR"), date(2026, 12, 26))
    pf2 = dict(sandbox.merchant.received[-1])
    # The day's file lists the instalment collected that day, under its own authorisation number.
    browser = Browser(sandbox.server.base_url)
    browser.login("0900157")
    _, _, xml = browser.open("/test/gestion/xml/2026-12-26.xml")
    assert [(p.reference, p.amount) for p in read_captures_xml(xml).payments] == [
        ("SPLIT9", Money(Decimal("20.91"), "EUR"))
    ]
    assert f"<numauto>{pf2['numauto']}</numauto>" in xml
    _, _, xml = browser.open("/test/gestion/xml/2026-11-26.xml")
    assert [(p.reference, p.amount) for p in read_captures_xml(xml).payments] == [
        ("SPLIT9", Money(Decimal("20.91"), "EUR"))
    ]  # the first, on the order day
