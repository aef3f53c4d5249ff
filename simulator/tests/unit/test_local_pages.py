"""The local stack's own pages (/_local/mail, /_local/events) show what a mail or an event says as text: a subject,
an address, a body or an event's detail chosen by whoever wrote it never becomes markup on the page."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from devhttp import HttpRequest, Match
from local.eventbridge import Delivery, LocalEventBridge
from local.mail import LocalMail

# What an attacker would put in a value the page shows: quotes to leave an attribute, tags, an entity.
ATTACK = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>&amp;"


class _Mails(LocalMail):
    """The mail pages over given messages (the real service reads moto's SES and the sandbox bank's ledger)."""

    def __init__(self, messages: list[EmailMessage], bank: list[EmailMessage] | None = None) -> None:
        super().__init__()
        self._messages = messages
        self._bank = bank or []

    def ses_messages(self) -> list[EmailMessage]:
        return self._messages

    def bank_messages(self) -> list[tuple[str, EmailMessage]]:
        return [(f"bank-{number}", mail) for number, mail in enumerate(self._bank)]


def _mail() -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "shop@example.com", "buyer@example.com", f"Paid {ATTACK}"
    mail.set_content(f"Text {ATTACK}")
    mail.add_alternative(f"<p onclick='x'>Rich {ATTACK}</p>", subtype="html")
    return mail


def _get(handler: Any, path: str, **parameters: str) -> str:
    answer = handler(HttpRequest("GET", path), Match("page", path, "GET", parameters))
    assert answer.status == 200, answer.body
    assert answer.header("Content-Type") == "text/html; charset=utf-8"
    return str(answer.body.decode())


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _no_markup_from(page: str) -> None:
    assert "<script" not in page
    assert "<img" not in page


def test_the_mail_list_shows_each_subject_as_text_with_its_link() -> None:
    page = _get(_Mails([_mail(), _mail()])._list, "/_local/mail")
    _no_markup_from(page)
    assert f"Paid {ATTACK}" in _text(page)
    assert re.findall(r"<a href='/_local/mail/([\w-]+)'>", page) == ["ses-1", "ses-0"]  # newest first


def test_a_mails_link_shows_the_same_mail_when_more_mails_are_sent() -> None:
    bank = EmailMessage()
    bank["From"], bank["To"], bank["Subject"] = "paiements@sandbox-bank.example", "shop@example.com", "From the bank"
    bank.set_content("The bank's confirmation")
    sent = [_mail()]
    mails = _Mails(sent, [bank])
    links = re.findall(r"<a href='/_local/mail/([\w-]+)'>", _get(mails._list, "/_local/mail"))
    sent.append(_mail())  # SES sends one more: the bank's mail keeps its link
    shown = {link: _text(_get(mails._show, f"/_local/mail/{link}", mail=link)) for link in links}
    assert ["From the bank" in page for page in shown.values()] == [True, False]
    assert re.findall(r"<a href='/_local/mail/([\w-]+)'>", _get(mails._list, "/_local/mail")) == [
        "bank-0",
        "ses-1",
        "ses-0",
    ]


def test_a_mail_that_is_not_there_is_a_404_naming_it() -> None:
    handler = _Mails([_mail()])._show
    for link in ("ses-1", "bank-0", "0", "ses-x", "nothing"):
        answer = handler(HttpRequest("GET", f"/_local/mail/{link}"), Match("page", "/", "GET", {"mail": link}))
        assert answer.status == 404
        assert json.loads(answer.body)["error"] == {"message": f"no mail {link!r}", "field": "mail"}


def test_a_mail_shows_its_subject_addresses_and_text_as_text_and_its_html_only_in_the_sandboxed_frame() -> None:
    page = _get(_Mails([_mail()])._show, "/_local/mail/ses-0", mail="ses-0")
    _no_markup_from(page)
    assert f"Paid {ATTACK}" in _text(page)  # the title and the heading
    assert "From shop@example.com to buyer@example.com" in page
    assert f"Text {ATTACK}" in _text(page)
    frames = re.findall(r"<iframe sandbox srcdoc='([^']*)' width='100%' height='400'></iframe>", page)
    assert [html.unescape(frame).strip() for frame in frames] == [f"<p onclick='x'>Rich {ATTACK}</p>"]


def test_the_events_page_shows_an_events_detail_and_a_delivery_as_text() -> None:
    bridge = LocalEventBridge()
    detail = {"reference": ATTACK, "status": "paid", "note": ATTACK}
    bridge.events = [{"time": "2026-11-30T10:00:00Z", "detail-type": "OrderPaid", "detail": detail}]
    at = datetime(2026, 11, 30, 10, tzinfo=UTC)
    bridge.deliveries = [Delivery("e1", "OrderPaid", ATTACK, f"https://shop.example/{ATTACK}", "delivered", 1, at)]
    page = _get(bridge._page, "/_local/events")
    _no_markup_from(page)
    cells = [html.unescape(cell) for cell in re.findall(r"<td(?: class='json')?>([^<]*)</td>", page)]
    assert cells[:4] == ["2026-11-30T10:00:00Z", "OrderPaid", ATTACK, "paid"]
    assert json.loads(cells[4]) == detail
    assert cells[5:] == [at.isoformat(), "OrderPaid", ATTACK, f"https://shop.example/{ATTACK}", "delivered", "1"]


def test_the_events_page_leaves_a_cell_empty_when_the_event_does_not_say_it_never_none() -> None:
    # An event put on the bus by hand (aws events put-events) or a detail that is not an order's: no reference,
    # no status, no time of its own.
    bridge = LocalEventBridge()
    bridge.events = [
        {"detail-type": "Hello", "source": "me.testing", "detail": {"note": "hi"}},
        {"time": "2026-11-30T10:00:00Z", "detail-type": "OrderPaid", "detail": {"reference": None, "status": None}},
        {"detail-type": "Empty"},
    ]
    page = _get(bridge._page, "/_local/events")
    assert "None" not in _text(page)
    rows = [re.findall(r"<td(?: class='json')?>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", page)]
    assert [row[:4] for row in rows if row] == [
        ["", "Hello", "", ""],
        ["2026-11-30T10:00:00Z", "OrderPaid", "", ""],
        ["", "Empty", "", ""],
    ]


def _bridge_with_one_event() -> LocalEventBridge:
    bridge = LocalEventBridge()
    bridge.events = [{"time": "2026-11-30T10:00:00Z", "detail-type": "OrderPaid", "detail": {"status": "paid"}}]
    return bridge


def test_the_pages_are_styled_in_english_and_the_events_detail_wraps_as_code() -> None:
    # Unstyled tables with border='1' in a default serif font were the one unstyled corner of the local stack.
    pages = [
        _get(_Mails([_mail()])._list, "/_local/mail"),
        _get(_Mails([_mail()])._show, "/_local/mail/ses-0", mail="ses-0"),
        _get(_bridge_with_one_event()._page, "/_local/events"),
    ]
    for page in pages:
        assert "<html lang='en'>" in page
        assert re.search(r"<style>[^<]*table\{border-collapse:collapse", page)
        assert "border='1'" not in page
    details = [html.unescape(cell) for cell in re.findall(r"<td class='json'>([^<]*)</td>", pages[2])]
    assert [json.loads(detail) for detail in details] == [{"status": "paid"}]
