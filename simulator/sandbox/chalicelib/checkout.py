"""The buyer's side of the sandbox bank, a Chalice blueprint: the home page, ``paiement.cgi`` (the merchant's
sealed form, then the card attempts) and "cancel and return to the merchant"."""

from __future__ import annotations

from urllib.parse import urlencode

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint, Request

from . import cards, mount, pages
from .bank import Bank
from .exceptions import ClosedReference, RequestError, SessionError
from .mount import mount_prefix
from .payment_record import Payment, Status
from .templating import render
from .terminals import Bank as BankName
from .views import FORM, form, html, raw_body, redirect, settled

PAYMENT_PATH = "/test/paiement.cgi"


class Checkout:
    def __init__(self, bank: Bank, blueprint: Blueprint) -> None:
        self.bank = bank
        self.blueprint = blueprint

    def request(self) -> Request:
        return self.blueprint.current_request

    # -- the views ----------------------------------------------------------------------------------------------

    def index(self) -> Response:
        prefix = mount_prefix(self.request())
        return html(
            render("home.html", **pages.chrome("FR"), title="Sandbox", prefix=prefix, cards=cards.TEST_CARDS.items())
        )

    def payment_page(self) -> Response:
        fields = form(self.request())
        if "session" in fields and "MAC" not in fields:
            return self.card_attempt(fields)
        try:
            payment = self.bank.open_payment(raw_body(self.request()))
        except ClosedReference as closed:
            terminal = self.bank.terminal(closed.payment.tpe)
            page = pages.closed_reference_page(
                terminal, closed.payment, closed.language, closed.message_key, closed.back_url
            )
            return html(page, closed.status)
        except RequestError as error:
            return html(self.request_error(fields, error), error.status)
        return html(self.card_page(payment))

    def cancel_payment(self) -> Response:
        query: dict[str, str] = dict(self.request().query_params or {})
        session = query.get("session", "")
        if not session or query.get("annuler") != "1":
            return html(pages.simple_page(self.browser_language(), "post_only", "post_only_text"), 405)
        try:
            payment = self.bank.abandon(session)
        except SessionError:
            return self.unknown_session()
        if payment.status is Status.ABANDONED:
            return redirect(payment.return_err_url)
        return html(pages.done_page(self.bank.terminal(payment.tpe), payment))

    # -- their parts --------------------------------------------------------------------------------------------

    def card_attempt(self, fields: dict[str, str]) -> Response:
        try:
            result = self.bank.pay(
                fields.get("session", ""),
                fields.get("card_number", ""),
                fields.get("expiry_month", ""),
                fields.get("expiry_year", ""),
                fields.get("cvv", ""),
                mount.client_ip(self.request()),
                saved=fields.get("saved_card") == "1",
            )
        except SessionError:
            return self.unknown_session()
        payment = result.payment
        terminal = self.bank.terminal(payment.tpe)
        if result.expired:
            return html(pages.final_page(terminal, payment, "session_expired"))
        if result.card_error:
            return html(self.card_page(payment, pages.texts(payment.language)[result.card_error]))
        if payment.status is Status.OPEN and result.attempt is not None:
            return html(self.card_page(payment, pages.refusal_message(payment, result.attempt)))
        if payment.status is Status.REFUSED:
            return html(pages.final_page(terminal, payment, "too_many"))
        return html(pages.done_page(terminal, payment))

    def card_page(self, payment: Payment, message: str = "") -> str:
        """The card form of an open payment, with the card on file when there is one, and ``message`` above."""
        return pages.payment_page(
            self.bank.terminal(payment.tpe),
            payment,
            action=self.payment_url(),
            cancel_url=f"{self.payment_url()}?{urlencode({'session': payment.session, 'annuler': '1'})}",
            message=message,
            saved_card=self.bank.ledger.card_on_file(payment),
        )

    def payment_url(self) -> str:
        """``paiement.cgi`` as the browser sees it (after the stage when deployed): the card form's action."""
        return mount_prefix(self.request()) + PAYMENT_PATH

    def browser_language(self) -> str:
        return pages.browser_language(self.request().headers.get("accept-language") or "")

    def request_error(self, fields: dict[str, str], error: RequestError) -> str:
        """The error page, in the form's language when it has a valid one, else the browser's, under the
        terminal's branding when the form names a known one."""
        language = fields.get("lgue", "")
        language = language if language in pages.PAGE_LANGUAGES else self.browser_language()
        terminal = self.bank.config.get(fields.get("TPE", ""))
        branding = terminal.bank if terminal else BankName.CIC
        return pages.request_error_page(error.field, error.reason, language, branding)

    def unknown_session(self) -> Response:
        page = pages.simple_page(self.browser_language(), "unknown_session", "unknown_session_text")
        return html(page, SessionError.status)


def blueprint(bank: Bank) -> Blueprint:
    checkout = Blueprint(__name__)
    views = Checkout(bank, checkout)
    checkout.route("/", methods=["GET"], name="index")(settled(bank, views.index))
    checkout.route(PAYMENT_PATH, methods=["POST"], content_types=FORM, name="payment_page")(
        settled(bank, views.payment_page)
    )
    checkout.route(PAYMENT_PATH, methods=["GET"], name="cancel_payment")(views.cancel_payment)
    return checkout
