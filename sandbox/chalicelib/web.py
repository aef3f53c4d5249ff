"""The sandbox bank over HTTP: a Chalice app whose paths mirror the bank's test server (``/test/...``).

POST /test/paiement.cgi            the payment page (the merchant's sealed form, then the card attempts)
GET  /test/paiement.cgi?session=…&annuler=1   "cancel and return to the merchant"
POST /test/capture_paiement.cgi    capture / cancel          (server to server, sealed)
POST /test/recredit_paiement.cgi   refund                    (server to server, sealed)
POST /test/etatpaiement.cgi        status                    (server to server, sealed)
/test/gestion/...                  the merchant dashboard, behind a password (``dashboard``)
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import parse_qsl, urlencode

from chalice import Chalice, Response  # type: ignore[attr-defined]
from chalice.app import Request

from . import backoffice, cards, dashboard, mount, pages
from .bank import Bank, ClosedReference, SessionError
from .mount import mount_prefix
from .payment import RequestError
from .payments import Payment, Status
from .terminals import Bank as BankName

FORM = ["application/x-www-form-urlencoded"]
Headers = dict[str, str | list[str]]
HTML: Headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
TEXT: Headers = {"Content-Type": "text/plain; charset=utf-8", "Pragma": "no-cache", "Cache-Control": "no-cache"}
XML: Headers = {"Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-cache"}
PAYMENT_PATH = "/test/paiement.cgi"


def html(body: str, status: int = 200, headers: Headers | None = None) -> Response:
    return Response(body=body, status_code=status, headers={**HTML, **(headers or {})})


def redirect(location: str, headers: Headers | None = None) -> Response:
    return Response(body="", status_code=303, headers={"Location": location, **(headers or {})})


def home_page(prefix: str = "") -> str:
    rows = "".join(
        f"<tr><td><code>{number}</code></td><td>{card.brand}</td>"
        f"<td>{escape(card.refusal or 'acceptée')}</td><td>{escape(card.later_refusal or 'accordée')}</td></tr>"
        for number, card in cards.TEST_CARDS.items()
    )
    body = (
        "<h1>Serveur de paiement de test (sandbox)</h1>"
        "<p>Ce serveur joue la banque : page de paiement <code>/test/paiement.cgi</code>, confirmation au CGI2 "
        "du commerçant, CGIs de back-office et gestionnaire commerçant.</p>"
        '<table class="receipt"><tr><td><b>Carte de test</b></td><td><b>Marque</b></td><td><b>À la commande</b>'
        f"</td><td><b>Autorisations suivantes</b></td></tr>{rows}</table>"
        "<p>N'importe quelle date d'expiration future ; le cryptogramme est facultatif (3 chiffres, 4 pour "
        "American Express, sur les TPE dont le contrat l'inclut). Les autorisations suivantes sont celles des "
        "validations d'une autorisation différée et des échéances d'un paiement fractionné.</p>"
        f'<p><a href="{prefix}/test/gestion/">Gestionnaire commerçant</a></p>'
    )
    return pages.layout("Sandbox", body)


def card_page(bank: Bank, payment: Payment, action: str, cancel_url: str, message: str = "") -> str:
    """The card form of an open payment, with the card on file when there is one, and ``message`` above."""
    return pages.payment_page(
        bank.terminal(payment.tpe),
        payment,
        action=action,
        cancel_url=cancel_url,
        message=message,
        saved_card=bank.ledger.card_on_file(payment),
    )


def create_app(bank: Bank, *, app_name: str = "sandbox-bank") -> Chalice:
    app = Chalice(app_name=app_name)
    # The merchant's seal covers the exact bytes posted: take the body raw, never re-encoded.
    app.api.binary_types.append(FORM[0])

    def current() -> Request:
        request = app.current_request
        assert request is not None  # a view runs inside a request
        return request

    def client_ip() -> str:
        return mount.client_ip(current())

    def raw_body() -> bytes:
        body = current().raw_body
        return body if isinstance(body, bytes) else str(body).encode("utf-8")

    def settled[**P, R](view: Callable[P, R]) -> Callable[P, R]:
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            bank.settle()  # deferral periods end on the bank's side too, whoever looks first
            return view(*args, **kwargs)

        run.__name__ = view.__name__
        return run

    @app.route("/", methods=["GET"])
    @settled
    def index() -> Response:
        return html(home_page(mount_prefix(current())))

    @app.route(PAYMENT_PATH, methods=["POST"], content_types=FORM)
    @settled
    def payment_page() -> Response:
        body = raw_body()
        fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if "session" in fields and "MAC" not in fields:
            return card_attempt(fields)
        try:
            payment = bank.open_payment(body)
        except ClosedReference as closed:
            terminal = bank.terminal(closed.payment.tpe)
            page = pages.closed_reference_page(
                terminal, closed.payment, closed.language, closed.message_key, closed.back_url
            )
            return html(page, 409)
        except RequestError as error:
            return html(request_error(fields, error), 400)
        return html(card_page(bank, payment, payment_url(), cancel_url(payment.session)))

    def browser_language() -> str:
        return pages.browser_language(current().headers.get("accept-language") or "")

    def request_error(fields: dict[str, str], error: RequestError) -> str:
        """The error page, in the form's language when it has a valid one, else the browser's, under the
        terminal's branding when the form names a known one."""
        language = fields.get("lgue", "")
        language = language if language in pages.PAGE_LANGUAGES else browser_language()
        terminal = bank.config.get(fields.get("TPE", ""))
        branding = terminal.bank if terminal else BankName.CIC
        return pages.request_error_page(error.field, error.reason, language, branding)

    def unknown_session() -> Response:
        return html(pages.simple_page(browser_language(), "unknown_session", "unknown_session_text"), 404)

    def payment_url() -> str:
        """``paiement.cgi`` as the browser sees it (after the stage when deployed): the card form's action."""
        return mount_prefix(current()) + PAYMENT_PATH

    def cancel_url(session: str) -> str:
        return f"{payment_url()}?{urlencode({'session': session, 'annuler': '1'})}"

    def card_attempt(fields: dict[str, str]) -> Response:
        session = fields.get("session", "")
        try:
            result = bank.pay(
                session,
                fields.get("card_number", ""),
                fields.get("expiry_month", ""),
                fields.get("expiry_year", ""),
                fields.get("cvv", ""),
                client_ip(),
                saved=fields.get("saved_card") == "1",
            )
        except SessionError:
            return unknown_session()
        payment = result.payment
        terminal = bank.terminal(payment.tpe)
        if result.expired:
            return html(pages.final_page(terminal, payment, "session_expired"))
        if result.card_error:
            message = pages.texts(payment.language)[result.card_error]
            return html(card_page(bank, payment, payment_url(), cancel_url(payment.session), message), 200)
        if payment.status is Status.OPEN and result.attempt is not None:
            message = pages.refusal_message(payment, result.attempt)
            return html(card_page(bank, payment, payment_url(), cancel_url(payment.session), message))
        if payment.status is Status.REFUSED:
            return html(pages.final_page(terminal, payment, "too_many"))
        return html(pages.done_page(terminal, payment))

    @app.route(PAYMENT_PATH, methods=["GET"])
    def cancel_payment() -> Response:
        query: dict[str, str] = dict(current().query_params or {})
        session = query.get("session", "")
        if not session or query.get("annuler") != "1":
            return html(pages.simple_page(browser_language(), "post_only", "post_only_text"), 405)
        try:
            payment = bank.abandon(session)
        except SessionError:
            return unknown_session()
        if payment.status is Status.ABANDONED:
            return redirect(payment.return_err_url)
        return html(pages.done_page(bank.terminal(payment.tpe), payment))

    def backoffice_route(cgi: str, handler: Callable[..., str], headers: Headers) -> None:
        @app.route(f"/test/{cgi}", methods=["POST"], content_types=FORM, name=cgi.replace(".", "_"))
        @settled
        def view() -> Response:
            answer = handler(raw_body(), bank.config, bank.ledger, bank.now(), client_ip())
            return Response(body=answer, status_code=200, headers=headers)

    backoffice_route("capture_paiement.cgi", backoffice.capture_cgi, TEXT)
    backoffice_route("recredit_paiement.cgi", backoffice.refund_cgi, TEXT)
    backoffice_route("etatpaiement.cgi", backoffice.status_cgi, XML)

    dashboard.register(app, bank, settled)
    return app
