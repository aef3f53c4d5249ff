"""What the dashboard's blueprints share: the request's session (cookie, CSRF token), its path behind the
gateway, the logged-in terminal, and its pages (``templates/gestion``)."""

from __future__ import annotations

import hmac
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalice import Chalice, Response  # type: ignore[attr-defined]
from chalice.app import Request

from .. import pages, sessions
from ..bank import Bank
from ..mount import client_ip, mount_prefix
from ..payment_record import Payment
from ..sessions import DashboardSession
from ..templating import render
from ..terminals import BankTerminal
from ..views import form, html, settled

BASE = "/test/gestion"
COOKIE = "gestion"
BANK_TIMEZONE = "Europe/Paris"  # the hours on the login page, before any terminal is known
EXPIRED_FORM = "Formulaire expiré : recommencez."
MODES = {
    "immediate": "Paiement immédiat",
    "deferred": "Paiement différé",
    "deferred_authorization": "Autorisation différée (paiement partiel)",
}

TerminalView = Callable[..., Response]


def same(expected: str, given: str) -> bool:
    """A constant-time comparison of a secret with what the browser sent, whatever characters it sent
    (``hmac.compare_digest`` raises on ``str`` with non-ASCII characters: compare bytes)."""
    return hmac.compare_digest(expected.encode("utf-8", "replace"), given.encode("utf-8", "replace"))


class Board:
    """The dashboard as one request sees it; ``app`` is the Chalice app its blueprints are registered in."""

    def __init__(self, app: Chalice, bank: Bank) -> None:
        self.app = app
        self.bank = bank

    # -- the request ---------------------------------------------------------------------------------------

    def request(self) -> Request:
        request = self.app.current_request
        assert request is not None  # a view runs inside a request
        return request

    @property
    def base(self) -> str:
        """The dashboard's path as the browser sees it (``/api/test/gestion`` behind the stage ``api``)."""
        return mount_prefix(self.request()) + BASE

    def client_ip(self) -> str:
        return client_ip(self.request())

    def query(self) -> dict[str, str]:
        return dict(self.request().query_params or {})

    def form(self) -> dict[str, str]:
        return form(self.request())

    # -- the session ---------------------------------------------------------------------------------------

    def cookie_for(self, session_id: str) -> str:
        return f"{COOKIE}={session_id}; {self.cookie_attributes()}"

    def cookie_attributes(self) -> str:
        """``Secure`` when the browser came over HTTPS (API Gateway always; the dev server with TLS), which the
        gateway says in ``X-Forwarded-Proto`` (the dev server overwrites whatever the client sent)."""
        secure = "; Secure" if self.request().headers.get("x-forwarded-proto") == "https" else ""
        return f"Path={self.base}; HttpOnly; SameSite=Strict{secure}"

    def session_id(self) -> str:
        """The session id the browser sent, "" when none."""
        for part in (self.request().headers.get("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return ""

    def session(self) -> DashboardSession | None:
        session_id = self.session_id()
        return sessions.find(self.bank.ledger, session_id, self.bank.now()) if session_id else None

    def terminal(self) -> BankTerminal | None:
        """The logged-in terminal, from a live session."""
        session = self.session()
        return self.bank.config.get(session.tpe) if session else None

    def token(self) -> str:
        """The session's CSRF token, for the forms of the page."""
        session = self.session()
        return session.csrf_token if session else ""

    def checked_form(self) -> dict[str, str] | None:
        """The form posted, if it carries this session's token (another session's is refused)."""
        posted = self.form()
        session = self.session()
        return posted if session is not None and same(session.csrf_token, posted.get("jeton", "")) else None

    # -- the payments --------------------------------------------------------------------------------------

    def local(self, terminal: BankTerminal, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(terminal.timezone))

    def today(self, terminal: BankTerminal) -> date:
        return self.local(terminal, self.bank.now()).date()

    def payments(self, terminal: BankTerminal) -> list[Payment]:
        return sorted(self.bank.ledger.of_terminal(terminal.tpe), key=lambda p: p.ordered_at, reverse=True)

    # -- the pages -----------------------------------------------------------------------------------------

    def page(self, terminal: BankTerminal, template: str, title: str, status: int = 200, **context: Any) -> Response:
        """``gestion/<template>.html``: the dashboard's menu, the terminal's panel, the page's ``title``."""
        body = render(
            f"gestion/{template}.html",
            **pages.chrome("FR", terminal.bank),
            title=title,
            terminal=terminal,
            mode=MODES[terminal.mode.value],
            base=self.base,
            token=self.token(),
            **context,
        )
        return html(body, status)

    def message(self, terminal: BankTerminal, title: str, text: str, status: int, *, marked: bool = True) -> Response:
        """A page that only says ``text`` (``id="message"`` when ``marked``)."""
        return self.page(terminal, "message", title, status, text=text, marked=marked)

    def login_page(self, message: str = "", status: int = 200, headers: dict[str, str] | None = None) -> Response:
        title = "Gestionnaire commerçant"
        body = render("gestion/login.html", **pages.chrome("FR"), title=title, base=self.base, message=message)
        return html(body, status, {**(headers or {})})

    def locked_page(self, until: datetime, now: datetime, timezone: str) -> Response:
        """Too many wrong passwords: when to come back, and ``Retry-After`` in seconds (429)."""
        seconds = max(1, math.ceil((until - now).total_seconds()))
        wait = f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{seconds} s"
        local = until.astimezone(ZoneInfo(timezone))
        message = (
            "Trop de mots de passe incorrects : les connexions sont suspendues. "
            f"Réessayez à partir de {local:%H:%M:%S} ({local:%Z}), dans {wait}."
        )
        return self.login_page(message, 429, {"Retry-After": str(seconds)})

    # -- the views' wrapper --------------------------------------------------------------------------------

    def logged_in(self, view: TerminalView) -> Callable[..., Response]:
        """``view(terminal, ...)`` for a live session; the login page otherwise (401 for a form posted)."""

        def run(**kwargs: Any) -> Response:
            terminal = self.terminal()
            if terminal is None:
                if self.request().method == "GET":
                    return self.login_page()
                return self.login_page("Votre session a expiré : reconnectez-vous.", 401)
            return view(terminal, **kwargs)

        run.__name__ = view.__name__
        return settled(self.bank, run)
