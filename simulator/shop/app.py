"""The demo shop's web side: catalogue, basket, order through the merchant API, status after payment.

Served by the dev HTTP server (``devhttp``) on a port of its own; state (baskets, the
shop's orders) lives in memory for the life of ``make run``.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl, quote

from devhttp import Dispatcher, HttpRequest, HttpResponse, LocalHttpServer, Match, Target

from . import pages
from .catalogue import BY_ID, ShopOrder

COOKIE = "panier"
# The three local terminals (local/config.py), as the shop offers them.
TERMINALS: tuple[tuple[str, str], ...] = (
    ("0900157", "Paiement immédiat"),
    ("0900158", "Paiement différé (validation sous 3 jours ouvrés)"),
    ("0900159", "Paiement partiel (autorisation différée, 7 jours ouvrés)"),
)
LANGUAGES = ("FR", "EN", "DE", "IT", "ES")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass
class State:
    baskets: dict[str, dict[str, int]] = field(default_factory=dict)
    orders: dict[str, ShopOrder] = field(default_factory=dict)
    # What the merchant kit's webhook told the shop, by order reference: (event type, order status), oldest first.
    notifications: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    event_ids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _form(request: HttpRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _query(request: HttpRequest) -> dict[str, str]:
    return dict(parse_qsl(request.query, keep_blank_values=True))


def _cookie(request: HttpRequest, name: str) -> str:
    for part in (request.header("Cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def html(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "text/html; charset=utf-8"), *(headers or [])], body.encode())


def redirect(location: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(303, [("Location", location), *(headers or [])])


class DemoShop:
    """The shop's routes; ``api_base_url`` is the merchant API (the local stack), set when it is known."""

    def __init__(self, api_base_url: str = "", webhook_token: str = "") -> None:
        self.api_base_url = api_base_url
        self.webhook_token = webhook_token
        self.base_url = ""
        self.state = State()

    # -- the merchant API --------------------------------------------------------------------------------

    def api(self, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - the local merchant API
            f"{self.api_base_url}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = error.reason
            raise ApiError(error.code, str(message)) from None
        except OSError as exc:
            raise ApiError(503, f"the merchant API cannot be reached ({exc})") from None

    # -- routes -------------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/", self.home),
            ("GET", "/logo.svg", self.logo),
            ("GET", "/panier", self.basket),
            ("POST", "/panier/ajouter", self.add),
            ("POST", "/panier/vider", self.empty),
            ("POST", "/commander", self.order),
            ("GET", "/retour/{outcome}", self.back_from_bank),
            ("GET", "/commande/{id}", self.show_order),
            ("POST", "/webhook", self.webhook),
        ]

    def _basket(self, request: HttpRequest) -> tuple[str, dict[str, int], list[tuple[str, str]]]:
        basket_id = _cookie(request, COOKIE)
        with self.state.lock:
            if basket_id and basket_id in self.state.baskets:
                return basket_id, self.state.baskets[basket_id], []
            basket_id = secrets.token_urlsafe(12)
            self.state.baskets[basket_id] = {}
        return basket_id, self.state.baskets[basket_id], [("Set-Cookie", f"{COOKIE}={basket_id}; Path=/; SameSite=Lax")]

    def home(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        _, basket, cookie = self._basket(request)
        return html(pages.home(basket), headers=cookie)

    def logo(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        return HttpResponse(200, [("Content-Type", "image/svg+xml"), ("Cache-Control", "max-age=3600")], pages.LOGO)

    def add(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        _, basket, cookie = self._basket(request)
        cd = BY_ID.get(_form(request).get("cd", ""))
        if cd is not None:
            with self.state.lock:
                basket[cd.id] = basket.get(cd.id, 0) + 1
        return redirect("/", cookie)

    def empty(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        _, basket, cookie = self._basket(request)
        with self.state.lock:
            basket.clear()
        return redirect("/", cookie)

    def basket(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        _, basket, cookie = self._basket(request)
        return html(pages.basket(basket, TERMINALS, LANGUAGES), headers=cookie)

    def order(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        """ "Paiement par carte bancaire": the order goes to the merchant API, the buyer to its checkout page."""
        _, basket, cookie = self._basket(request)
        form = _form(request)
        with self.state.lock:
            lines = [(BY_ID[cd_id], qty) for cd_id, qty in basket.items() if cd_id in BY_ID and qty > 0]
        if not lines:
            return redirect("/", cookie)
        tpe = form.get("tpe", "")
        tpe = tpe if tpe in dict(TERMINALS) else TERMINALS[0][0]
        language = form.get("lgue", "")
        language = language if language in LANGUAGES else "FR"
        total = sum((cd.price * qty for cd, qty in lines), Decimal(0))
        shop_order = ShopOrder(secrets.token_urlsafe(9), lines, total, tpe, language=language)
        back = f"{self.base_url}/retour/{{}}?commande={quote(shop_order.id)}"
        payload = {
            "amount": f"{total:.2f}",
            "currency": "EUR",
            "email": form.get("email") or "acheteur@example.com",
            "language": language,
            "tpe": tpe,
            "free_text": f"boutique {shop_order.id}",
            "billing": {
                "addressLine1": form.get("address") or "1 rue de la Paix",
                "city": form.get("city") or "Paris",
                "postalCode": form.get("postal_code") or "75002",
                "country": form.get("country") or "FR",
            },
            "return_ok_url": back.format("ok"),
            "return_err_url": back.format("err"),
        }
        try:
            created = self.api("POST", "/orders", payload)
        except ApiError as error:
            return html(pages.problem(f"La commande n'a pas pu être créée : {error.message}"), 502, cookie)
        shop_order.reference = str(created["reference"])
        shop_order.checkout_url = str(created["checkout_url"])
        with self.state.lock:
            self.state.orders[shop_order.id] = shop_order
            basket.clear()
        return redirect(shop_order.checkout_url, cookie)

    def back_from_bank(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        order_id = _query(request).get("commande", "")
        outcome = match.path_parameters.get("outcome", "")
        return redirect(f"/commande/{quote(order_id)}?retour={quote(outcome)}")

    def show_order(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        shop_order = self.state.orders.get(match.path_parameters.get("id", ""))
        if shop_order is None:
            return html(pages.problem("Commande inconnue."), 404)
        try:
            order = self.api("GET", f"/orders/{shop_order.reference}")
        except ApiError as error:
            return html(pages.problem(f"Le statut de la commande est indisponible : {error.message}"), 502)
        return html(pages.order(shop_order, order, _query(request).get("retour", "")))

    def webhook(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        """The merchant kit's order events (EventBridge API destination): checked token, deduplicated by id."""
        token = request.header("X-Merchant-Kit-Token") or ""
        if not self.webhook_token or not secrets.compare_digest(token.encode(), self.webhook_token.encode()):
            return HttpResponse.json(401, {"error": {"message": "X-Merchant-Kit-Token is missing or wrong"}})
        try:
            detail = json.loads(request.body)["detail"]
            event_id, kind = str(detail["event_id"]), str(json.loads(request.body)["detail-type"])
            reference, status = str(detail["reference"]), str(detail["status"])
        except (ValueError, KeyError, TypeError) as exc:
            return HttpResponse.json(400, {"error": {"message": f"not an order event: {exc}"}})
        with self.state.lock:
            if event_id not in self.state.event_ids:  # delivered at least once: the same event may come again
                self.state.event_ids.add(event_id)
                self.state.notifications.setdefault(reference, []).append((kind, status))
        return HttpResponse(204, [])


class StackSettings(Protocol):
    @property
    def parameter_overrides(self) -> Mapping[str, str]: ...


class Stack(Protocol):
    """What the shop needs of the stack that runs it (the local stack), without importing it."""

    @property
    def base_url(self) -> str: ...

    @property
    def config(self) -> StackSettings: ...


class ShopService:
    """The demo shop as a service of the local stack: bound when made, serving once the stack starts."""

    name = "shop"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = False) -> None:
        self.shop = DemoShop()
        self.dispatcher = Dispatcher(log=None if quiet else self._log)
        for method, path, handler in self.shop.routes():
            self.dispatcher.local_routes.add(method, path, Target(name=f"shop:{path}", handle=handler))
        self.http = LocalHttpServer(host, port, self.dispatcher)
        self.shop.base_url = self.http.base_url

    @staticmethod
    def _log(line: str) -> None:
        print(f"shop: {line}", file=sys.stderr, flush=True)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}/webhook"

    @property
    def logo_url(self) -> str:
        return f"{self.base_url}/logo.svg"

    def start(self, stack: Stack) -> None:
        self.shop.api_base_url = stack.base_url
        self.shop.webhook_token = stack.config.parameter_overrides.get("ShopWebhookToken", "")
        self.http.start()

    def stop(self) -> None:
        self.http.stop()

    def describe(self) -> list[str]:
        return [f"  shop         {self.base_url}   (La boutique du CD: buy a CD with a test card)"]
