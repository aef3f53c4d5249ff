"""The sandbox bank over HTTP: a Chalice app whose paths mirror the bank's test server (``/test/...``).

POST /test/paiement.cgi            the payment page (the merchant's sealed form, then the card attempts)
GET  /test/paiement.cgi?session=…&annuler=1   "cancel and return to the merchant"
POST /test/capture_paiement.cgi    capture / cancel          (server to server, sealed)
POST /test/recredit_paiement.cgi   refund                    (server to server, sealed)
POST /test/etatpaiement.cgi        status                    (server to server, sealed)
/test/gestion/...                  the merchant dashboard, behind a password (``dashboard``)

One Chalice blueprint per concern: ``checkout`` (the buyer's pages), the back-office CGIs here, the dashboard's.
"""

from __future__ import annotations

from collections.abc import Callable

from chalice import Chalice, Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from . import backoffice, checkout, dashboard, mount
from .bank import Bank
from .views import FORM, Headers, raw_body, settled

TEXT: Headers = {"Content-Type": "text/plain; charset=utf-8", "Pragma": "no-cache", "Cache-Control": "no-cache"}
XML: Headers = {"Content-Type": "application/xml; charset=utf-8", "Cache-Control": "no-cache"}
PAYMENT_PATH = checkout.PAYMENT_PATH
CGIS: tuple[tuple[str, Callable[..., str], Headers], ...] = (
    ("capture_paiement.cgi", backoffice.capture_cgi, TEXT),
    ("recredit_paiement.cgi", backoffice.refund_cgi, TEXT),
    ("etatpaiement.cgi", backoffice.status_cgi, XML),
)


def create_app(bank: Bank, *, app_name: str = "sandbox-bank") -> Chalice:
    app = Chalice(app_name=app_name)
    # The merchant's seal covers the exact bytes posted: take the body raw, never re-encoded.
    app.api.binary_types.append(FORM[0])
    app.register_blueprint(checkout.blueprint(bank))
    app.register_blueprint(backoffice_blueprint(bank))
    for blueprint in dashboard.blueprints(app, bank):
        app.register_blueprint(blueprint, url_prefix=dashboard.BASE)
    return app


def backoffice_blueprint(bank: Bank) -> Blueprint:
    """The server-to-server CGIs: the merchant's sealed form in, the bank's answer out."""
    cgis = Blueprint(__name__)

    def route(cgi: str, handler: Callable[..., str], headers: Headers) -> None:
        def view() -> Response:
            answer = handler(raw_body(cgis.current_request), bank.config, bank.ledger, bank.now(), client_ip())
            return Response(body=answer, status_code=200, headers=headers)

        name = cgi.replace(".", "_")
        cgis.route(f"/test/{cgi}", methods=["POST"], content_types=FORM, name=name)(settled(bank, view))

    def client_ip() -> str:
        return mount.client_ip(cgis.current_request)

    for cgi, handler, headers in CGIS:
        route(cgi, handler, headers)
    return cgis
