"""The merchant dashboard, the bank's "gestionnaire commerçant" (docs/protocol.md, The bank's pages), under
``/test/gestion/``.

Per terminal, behind its password: today's summary; payments of the last 120 days by order date and by
capture date (with the day's XML file of captured payments); refunds by date; pending deferred payments
(validate / leave / cancel, and the date of the automatic end); pending partial payments (total or partial
validation, leave, cancel); search by reference; an order's detail with its refund form; alerts, and the
references whose acknowledgement failed in red; "Changez votre mot de passe".
"""

from __future__ import annotations

import hmac
import math
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from chalice import Chalice, Response  # type: ignore[attr-defined]
from chalice.app import Request

from sealing import FieldError, parse_decimal

from . import pages, rules, sessions
from .bank import Bank
from .mount import client_ip, mount_prefix
from .order_detail import detail_body, red_legend
from .pages import money
from .payments import Declined, Payment, Status
from .rules import Refusal
from .sessions import DashboardSession
from .terminals import BankTerminal, EndPolicy

BASE = "/test/gestion"
COOKIE = "gestion"
HISTORY_DAYS = 120
BANK_TIMEZONE = "Europe/Paris"  # the hours on the login page, before any terminal is known
AMOUNT_HINT = "(un montant comme 62.73 : des chiffres, un point, au plus deux décimales)"
FORM = ["application/x-www-form-urlencoded"]
HTML: dict[str, str | list[str]] = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}

STYLE = """
nav{margin:-.2rem 0 1rem;font-size:.85rem}nav a{margin-right:.9rem}
table.list{border-collapse:collapse;width:100%;margin:.6rem 0}table.list th{background:#eef1f5;text-align:left}
table.list td,table.list th{border:1px solid #c9d3df;padding:.3rem .5rem}.alert,.alert a{color:#c0160c;font-weight:bold}
.legend{color:#c0160c;font-size:.85rem}.amount-input{width:6rem}
h2{font-size:1.05rem;color:#123b6d;margin:1.2rem 0 .4rem}
"""


def _same(expected: str, given: str) -> bool:
    """A constant-time comparison of a secret with what the browser sent, whatever characters it sent
    (``hmac.compare_digest`` raises on ``str`` with non-ASCII characters: compare bytes)."""
    return hmac.compare_digest(expected.encode("utf-8", "replace"), given.encode("utf-8", "replace"))


def _day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


class Dashboard:
    def __init__(self, app: Chalice, bank: Bank) -> None:
        self.app = app
        self.bank = bank

    # -- session ------------------------------------------------------------------------------------------

    def cookie_for(self, session_id: str) -> str:
        return f"{COOKIE}={session_id}; {self.cookie_attributes()}"

    def cookie_attributes(self) -> str:
        """``Secure`` when the browser came over HTTPS (API Gateway always; the dev server with TLS), which the
        gateway says in ``X-Forwarded-Proto`` (the dev server overwrites whatever the client sent)."""
        secure = "; Secure" if self.request().headers.get("x-forwarded-proto") == "https" else ""
        return f"Path={self.base}; HttpOnly; SameSite=Strict{secure}"

    def request(self) -> Request:
        request = self.app.current_request
        assert request is not None
        return request

    @property
    def base(self) -> str:
        """The dashboard's path as the browser sees it (``/api/test/gestion`` behind the stage ``api``)."""
        return mount_prefix(self.request()) + BASE

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

    def form(self) -> dict[str, str]:
        body = self.request().raw_body
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        return dict(parse_qsl(text, keep_blank_values=True))

    def checked_form(self) -> dict[str, str] | None:
        """The form posted, if it carries this session's token (another session's is refused)."""
        form = self.form()
        session = self.session()
        return form if session is not None and _same(session.csrf_token, form.get("jeton", "")) else None

    # -- rendering ----------------------------------------------------------------------------------------

    def page(self, terminal: BankTerminal, title: str, body: str, status: int = 200) -> Response:
        base = self.base
        nav = (
            f'<nav><a href="{base}/">Tableau de bord</a><a href="{base}/paiements?par=commande">Paiements</a>'
            f'<a href="{base}/paiements?par=recouvrement">Recouvrements</a><a href="{base}/recredits">Re-crédits</a>'
            f'<a href="{base}/differes">Différés</a><a href="{base}/partiels">Partiels</a></nav>'
        )
        logout = (
            f'<form method="post" action="{base}/deconnexion"><input type="hidden" name="jeton" '
            f'value="{self.token()}"><button type="submit" id="logout">Se déconnecter</button></form>'
        )
        aside = (
            f'<aside><div class="name">{escape(terminal.merchant_name)}</div><dl><dt>TPE</dt>'
            f'<dd id="tpe">{escape(terminal.tpe)}</dd><dt>Mode</dt><dd>{escape(_MODE[terminal.mode.value])}</dd></dl>'
            f"{logout}</aside>"
        )
        content = f"<style>{STYLE}</style>{nav}<h1>{escape(title)}</h1>{body}"
        return Response(body=pages.layout(title, content, "FR", aside, terminal.bank), status_code=status, headers=HTML)

    def local(self, terminal: BankTerminal, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(terminal.timezone))

    def today(self, terminal: BankTerminal) -> date:
        return self.local(terminal, self.bank.now()).date()

    def reference_link(self, payment: Payment) -> str:
        css = ' class="alert"' if payment.acknowledgement_failed else ""
        reference = escape(payment.reference)
        href = f"{self.base}/commande/{quote(payment.reference)}"
        return f'<a{css} href="{href}" data-reference="{reference}">{reference}</a>'

    def payments(self, terminal: BankTerminal) -> list[Payment]:
        return sorted(self.bank.ledger.of_terminal(terminal.tpe), key=lambda p: p.ordered_at, reverse=True)


_MODE = {
    "immediate": "Paiement immédiat",
    "deferred": "Paiement différé",
    "deferred_authorization": "Autorisation différée (paiement partiel)",
}


def query(request: Request) -> dict[str, str]:
    return dict(request.query_params or {})


def login_page(base: str, message: str = "", status: int = 200, headers: dict[str, str] | None = None) -> Response:
    notice = f'<div class="error" id="message">{escape(message)}</div>' if message else ""
    body = (
        f"<h1>Gestionnaire commerçant</h1>{notice}"
        f'<form method="post" action="{base}/connexion">'
        '<label for="login-tpe">Numéro de TPE</label><input type="text" id="login-tpe" name="tpe" required>'
        '<label for="login-password">Mot de passe</label>'
        '<input type="password" id="login-password" name="password" required>'
        '<div><button type="submit" id="login">Se connecter</button></div></form>'
    )
    return Response(
        body=pages.layout("Gestionnaire commerçant", body), status_code=status, headers={**HTML, **(headers or {})}
    )


def locked_page(base: str, until: datetime, now: datetime, timezone: str) -> Response:
    """Too many wrong passwords: when to come back, and ``Retry-After`` in seconds (429)."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    wait = f"{math.ceil(seconds / 60)} min" if seconds >= 60 else f"{seconds} s"
    local = until.astimezone(ZoneInfo(timezone))
    message = (
        "Trop de mots de passe incorrects : les connexions sont suspendues. "
        f"Réessayez à partir de {local:%H:%M:%S} ({local:%Z}), dans {wait}."
    )
    return login_page(base, message, 429, {"Retry-After": str(seconds)})


def register(app: Chalice, bank: Bank, settled: Callable[[Callable[..., Response]], Callable[..., Response]]) -> None:
    """The dashboard's routes."""
    board = Dashboard(app, bank)

    def logged_in(view: Callable[..., Response]) -> Callable[..., Response]:
        def run(*args: Any, **kwargs: Any) -> Response:
            terminal = board.terminal()
            if terminal is None:
                if board.request().method == "GET":
                    return login_page(board.base)
                return login_page(board.base, "Votre session a expiré : reconnectez-vous.", 401)
            return view(terminal, *args, **kwargs)

        run.__name__ = view.__name__
        return settled(run)

    @app.route(f"{BASE}/connexion", methods=["POST"], content_types=FORM)
    def login() -> Response:
        form = board.form()
        tpe = form.get("tpe", "").strip()
        terminal = bank.config.get(tpe)
        # An unknown TPE counts against the address only: typed names must not fill the store.
        keys = [sessions.address_key(client_ip(board.request()))] + ([sessions.terminal_key(tpe)] if terminal else [])
        timezone = terminal.timezone if terminal else BANK_TIMEZONE
        now = bank.now()
        locked = sessions.locked_until(bank.ledger, keys, now)
        if locked is not None:  # the password is not even looked at
            return locked_page(board.base, locked, now, timezone)
        password = form.get("password", "")
        if terminal is None or not sessions.password_matches(bank.ledger, terminal, password):
            locked = sessions.failed(bank.ledger, keys, now)
            if locked is not None:
                return locked_page(board.base, locked, now, timezone)
            return login_page(board.base, "TPE ou mot de passe incorrect.", 401)
        sessions.succeeded(bank.ledger, tpe)
        if board.session_id():  # a new session id at each login: whatever id the browser had is dropped
            sessions.end(bank.ledger, board.session_id())
        cookie = board.cookie_for(sessions.start(bank.ledger, tpe, now))
        return Response(body="", status_code=303, headers={"Location": f"{board.base}/", "Set-Cookie": cookie})

    @app.route(f"{BASE}/deconnexion", methods=["POST"], content_types=FORM)
    def logout() -> Response:
        session = board.session()
        if session is not None:
            terminal = bank.config.get(session.tpe)
            if terminal is not None and not _same(session.csrf_token, board.form().get("jeton", "")):
                # Another site's form cannot sign the merchant out: the session stays.
                return board.page(terminal, "Déconnexion", '<p id="message">Formulaire expiré : recommencez.</p>', 403)
            sessions.end(bank.ledger, board.session_id())
        return Response(
            body="",
            status_code=303,
            headers={"Location": f"{board.base}/", "Set-Cookie": f"{COOKIE}=; Max-Age=0; {board.cookie_attributes()}"},
        )

    def password_page(terminal: BankTerminal, message: str = "", error: bool = False, status: int = 200) -> Response:
        notice = f'<div class="{"error" if error else "ok"}" id="message">{escape(message)}</div>' if message else ""
        body = (
            f'{notice}<form method="post" action="{board.base}/mot-de-passe">'
            f'<input type="hidden" name="jeton" value="{board.token()}">'
            '<label for="current-password">Mot de passe actuel</label>'
            '<input type="password" id="current-password" name="actuel" required>'
            f'<label for="new-password">Nouveau mot de passe (au moins {sessions.MIN_PASSWORD} caractères)</label>'
            '<input type="password" id="new-password" name="nouveau" required>'
            '<label for="new-password-again">Nouveau mot de passe, une seconde fois</label>'
            '<input type="password" id="new-password-again" name="confirmation" required>'
            '<div><button type="submit" id="change-password">Changer le mot de passe</button></div></form>'
        )
        return board.page(terminal, "Changez votre mot de passe", body, status)

    @app.route(f"{BASE}/mot-de-passe", methods=["GET"])
    @logged_in
    def password_form(terminal: BankTerminal) -> Response:
        return password_page(terminal)

    @app.route(f"{BASE}/mot-de-passe", methods=["POST"], content_types=FORM)
    @logged_in
    def change_password(terminal: BankTerminal) -> Response:
        form = board.checked_form()
        if form is None:
            return password_page(terminal, "Formulaire expiré : recommencez.", error=True, status=403)
        now = bank.now()
        keys = [sessions.address_key(client_ip(board.request())), sessions.terminal_key(terminal.tpe)]
        locked = sessions.locked_until(bank.ledger, keys, now)
        if locked is not None:  # the same brake as the login page: this form must not be a way to guess
            return password_page(terminal, "Trop de mots de passe incorrects : réessayez plus tard.", True, 429)
        if not sessions.password_matches(bank.ledger, terminal, form.get("actuel", "")):
            sessions.failed(bank.ledger, keys, now)
            return password_page(terminal, "Le mot de passe actuel est incorrect.", error=True, status=401)
        new = form.get("nouveau", "")
        if len(new) < sessions.MIN_PASSWORD:
            message = f"Le nouveau mot de passe doit avoir au moins {sessions.MIN_PASSWORD} caractères."
            return password_page(terminal, message, error=True, status=400)
        if new != form.get("confirmation", ""):
            return password_page(terminal, "Les deux saisies du nouveau mot de passe diffèrent.", True, 400)
        sessions.set_password(bank.ledger, terminal.tpe, new)
        return password_page(terminal, "Votre mot de passe a été changé.")

    @app.route(BASE, methods=["GET"])
    @logged_in
    def home(terminal: BankTerminal) -> Response:
        today = board.today(terminal)
        payments = board.payments(terminal)
        captured_today = [c for p in payments for c in p.captures if board.local(terminal, c.at).date() == today]
        pending = [p for p in payments if p.status.pending]
        summary = (
            f'<p id="summary-captured">Aujourd\'hui, {len(captured_today) or "aucun"} '
            f"paiement{'s' if len(captured_today) > 1 else ''} mis en recouvrement.</p>"
            f'<p id="summary-pending">{len(pending)} paiement{"s" if len(pending) > 1 else ""} '
            "en attente de votre traitement.</p>"
        )
        alerts = bank.ledger.alerts(terminal.tpe)
        alert_rows = "".join(
            f'<tr><td>{board.local(terminal, a.at):%d/%m/%Y %H:%M:%S}</td><td class="alert">'
            f'<a href="{board.base}/commande/{quote(a.reference)}">{escape(a.reference)}</a></td>'
            f"<td>{escape(a.detail)}</td></tr>"
            for a in reversed(alerts)
        )
        alert_block = (
            f'<h2 class="alert">Alertes : confirmations non acquittées ({len(alerts)})</h2>'
            f'<table class="list" id="alerts"><tr><th>Date</th><th>Référence</th><th>Problème</th></tr>{alert_rows}'
            f"</table>{red_legend(True)}"
            if alerts
            else '<p id="alerts-none">Aucune alerte : votre serveur a acquitté toutes les confirmations.</p>'
        )
        search = (
            f'<form method="get" action="{board.base}/recherche"><label for="search">Saisir une référence :</label>'
            '<input type="text" id="search" name="reference"> <button type="submit" id="search-go">Recherche</button>'
            "</form>"
        )
        base = board.base
        body = (
            f"{summary}<h2>Historique des paiements effectués</h2><ul>"
            f'<li><a href="{base}/paiements?par=commande">Présentation par date de commande</a></li>'
            f'<li><a href="{base}/paiements?par=recouvrement">Présentation par date de mise en recouvrement</a></li>'
            f'</ul><h2>Historique des re-crédits effectués</h2><ul><li><a href="{base}/recredits">'
            "Présentation par date de re-crédit</a></li></ul><h2>Paiements en attente</h2><ul>"
            f'<li><a href="{base}/differes">Liste des paiements différés en attente de traitement</a></li>'
            f'<li><a href="{base}/partiels">Liste des paiements partiels en attente de traitement</a></li></ul>'
            f"{search}<h2>Gestion de votre identifiant</h2><ul>"
            f'<li><a href="{base}/mot-de-passe" id="password-link">Changez votre mot de passe</a></li></ul>'
            f"{alert_block}"
        )
        return board.page(terminal, "Tableau de bord commerçant", body)

    @app.route(f"{BASE}/paiements", methods=["GET"])
    @logged_in
    def history(terminal: BankTerminal) -> Response:
        by = query(board.request()).get("par", "commande")
        since = board.today(terminal) - timedelta(days=HISTORY_DAYS)
        counts: Counter[date] = Counter()
        for payment in board.payments(terminal):
            if by == "recouvrement":
                for day in {board.local(terminal, c.at).date() for c in payment.captures}:
                    counts[day] += 1
            elif payment.status.accepted:
                counts[payment.ordered_at.date()] += 1
        days = sorted((day for day in counts if day >= since), reverse=True)
        kind = "recouvrement" if by == "recouvrement" else "commande"
        xml_head = "<th>Téléchargement</th>" if kind == "recouvrement" else ""
        rows = "".join(
            f'<tr><td><a href="{board.base}/paiements/{kind}/{day.isoformat()}">{_day_text(day)}</a></td>'
            f"<td>{counts[day]}</td>"
            + (
                f'<td><a href="{board.base}/xml/{day.isoformat()}.xml" download>XML</a></td>'
                if kind == "recouvrement"
                else ""
            )
            + "</tr>"
            for day in days
        )
        label = "Date de demande de mise en recouvrement" if kind == "recouvrement" else "Date de commande"
        body = (
            "<p>Cliquez sur une date pour obtenir la liste des paiements de la journée correspondante.</p>"
            f'<table class="list" id="days"><tr><th>{label}</th><th>Nb. de paiements</th>{xml_head}</tr>{rows}</table>'
        )
        return board.page(terminal, f"Historique des paiements effectués pour les {HISTORY_DAYS} derniers jours", body)

    def day_of(text: str) -> date | None:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None

    @app.route(f"{BASE}/paiements/{{kind}}/{{day}}", methods=["GET"])
    @logged_in
    def day_list(terminal: BankTerminal, kind: str, day: str) -> Response:
        wanted = day_of(day)
        if wanted is None or kind not in ("commande", "recouvrement"):
            return board.page(terminal, "Date inconnue", "<p>Date inconnue.</p>", 404)
        rows = []
        for payment in sorted(board.payments(terminal), key=lambda p: p.ordered_at):
            if kind == "commande":
                if not payment.status.accepted or payment.ordered_at.date() != wanted:
                    continue
                when, amount, number = payment.ordered_at, payment.amount.amount, payment.authorisation_number
                rows.append((when, payment, amount, number))
            else:
                for capture in payment.captures:
                    if board.local(terminal, capture.at).date() == wanted:
                        rows.append(
                            (board.local(terminal, capture.at), payment, capture.amount, capture.authorisation_number)
                        )
        table = "".join(
            f"<tr><td>{when:%H:%M:%S}</td><td>{board.reference_link(p)}</td><td>{money(amount, p.currency)}</td>"
            f"<td>{escape(number)}</td><td>{money(p.refunded, p.currency)}</td></tr>"
            for when, p, amount, number in rows
        )
        body = (
            "<p>Cliquez sur une référence de commande pour obtenir le détail.</p>"
            '<table class="list" id="payments"><tr><th>Heure</th><th>Référence</th><th>Montant TTC</th>'
            f"<th>Autorisation</th><th>Montant re-crédité</th></tr>{table}</table>"
            + red_legend(any(p.acknowledgement_failed for _, p, _, _ in rows))
        )
        what = "paiements effectués" if kind == "commande" else "paiements mis en recouvrement"
        return board.page(terminal, f"Liste des {what} sur votre TPE le {_day_text(wanted)}", body)

    @app.route(f"{BASE}/xml/{{name}}", methods=["GET"])
    @logged_in
    def captured_xml(terminal: BankTerminal, name: str) -> Response:
        wanted = day_of(name.removesuffix(".xml"))
        if wanted is None or not name.endswith(".xml"):
            return board.page(terminal, "Date inconnue", "<p>Date inconnue.</p>", 404)
        root = ElementTree.Element(
            "recouvrements", {"tpe": terminal.tpe, "societe": terminal.societe, "date": _day_text(wanted)}
        )
        for payment in sorted(board.payments(terminal), key=lambda p: p.ordered_at):
            for capture in payment.captures:
                moment = board.local(terminal, capture.at)
                if moment.date() != wanted:
                    continue
                item = ElementTree.SubElement(root, "paiement")
                for tag, value in (
                    ("reference", payment.reference),
                    ("date_commande", _day_text(payment.ordered_at.date())),
                    ("heure", f"{moment:%H:%M:%S}"),
                    ("montant", payment.amount.wire()),
                    ("montant_recouvre", payment.money(capture.amount).wire()),
                    ("numauto", capture.authorisation_number),
                    ("carte", payment.card),
                ):
                    ElementTree.SubElement(item, tag).text = value
        ElementTree.indent(root)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"
        filename = f"recouvrements-{terminal.tpe}-{wanted.isoformat()}.xml"
        return Response(
            body=text,
            status_code=200,
            headers={
                "Content-Type": "application/xml; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{filename}"',
            },
        )

    @app.route(f"{BASE}/recredits", methods=["GET"])
    @logged_in
    def refunds(terminal: BankTerminal) -> Response:
        counts: Counter[date] = Counter()
        for payment in board.payments(terminal):
            for refund in payment.refunds:
                counts[board.local(terminal, refund.at).date()] += 1
        base = board.base
        rows = "".join(
            f'<tr><td><a href="{base}/recredits/{day.isoformat()}">{_day_text(day)}</a></td><td>{counts[day]}</td></tr>'
            for day in sorted(counts, reverse=True)
        )
        body = (
            f'<table class="list" id="days"><tr><th>Date de re-crédit</th><th>Nb. de re-crédits</th></tr>{rows}</table>'
        )
        return board.page(terminal, "Historique des re-crédits effectués", body)

    @app.route(f"{BASE}/recredits/{{day}}", methods=["GET"])
    @logged_in
    def refunds_of_day(terminal: BankTerminal, day: str) -> Response:
        wanted = day_of(day)
        rows = "".join(
            f"<tr><td>{board.local(terminal, r.at):%H:%M:%S}</td><td>{board.reference_link(p)}</td>"
            f"<td>{money(p.amount.amount, p.currency)}</td><td>{money(r.amount, p.currency)}</td></tr>"
            for p in board.payments(terminal)
            for r in p.refunds
            if board.local(terminal, r.at).date() == wanted
        )
        body = (
            '<table class="list" id="refunds"><tr><th>Heure</th><th>Référence</th><th>Montant TTC</th>'
            f"<th>Montant re-crédité</th></tr>{rows}</table>"
        )
        return board.page(terminal, f"Re-crédits du {_day_text(wanted) if wanted else day}", body)

    def pending_page(terminal: BankTerminal, status: Status, message: str = "", error: bool = False) -> Response:
        policy = "validés" if terminal.end_policy is EndPolicy.VALIDATE and status is Status.AUTHORIZED else "annulés"
        column = "Date de validation automatique" if policy == "validés" else "Date d'annulation automatique"
        payments = [p for p in board.payments(terminal) if p.status is status]
        token = board.token()
        notice = f'<div class="{"error" if error else "ok"}" id="message">{escape(message)}</div>' if message else ""
        rows = []
        for p in payments:
            end = board.local(terminal, p.deadline) - timedelta(days=1) if p.deadline else None
            ref = escape(p.reference)
            if status is Status.AUTHORIZED:
                choice = "".join(
                    f'<td><input type="radio" name="action-{ref}" value="{value}" id="{value}-{ref}"'
                    f"{' checked' if value == 'laisser' else ''}></td>"
                    for value in ("valider", "laisser", "annuler")
                )
                rows.append(
                    f"<tr><td>{_day_text(p.ordered_at.date())}</td><td>{board.reference_link(p)}</td>"
                    f"<td>{money(p.amount.amount, p.currency)}</td>{choice}"
                    f"<td>{_day_text(end.date()) if end else ''}</td></tr>"
                )
            else:
                choice = (
                    f'<label><input type="radio" name="action-{ref}" value="vt" id="vt-{ref}"> VT</label> '
                    f'<label><input type="radio" name="action-{ref}" value="vp" id="vp-{ref}"> VP</label> '
                    f'<input type="text" class="amount-input" name="montant-{ref}" id="montant-{ref}"> '
                    f'<label><input type="radio" name="action-{ref}" value="laisser" id="laisser-{ref}" checked> '
                    f"Laisser</label> "
                    f'<label><input type="radio" name="action-{ref}" value="annuler" id="annuler-{ref}"> '
                    "Annuler</label>"
                )
                rows.append(
                    f"<tr><td>{_day_text(p.ordered_at.date())}</td><td>{board.reference_link(p)}</td>"
                    f"<td>{money(p.amount.amount, p.currency)}</td><td>{money(p.open_amount, p.currency)}</td>"
                    f"<td>{choice}</td><td>{_day_text(end.date()) if end else ''}</td></tr>"
                )
        if status is Status.AUTHORIZED:
            intro = (
                "<p>Les paiements suivants ont été autorisés par la banque. Durant la période de différé, ces "
                "paiements restent en attente d'un traitement manuel de votre part : <b>Valider</b> pour mettre "
                "le paiement en recouvrement, <b>Annuler</b> pour supprimer le paiement. Les paiements ni validés "
                f"ni annulés seront <b>automatiquement {policy} à la date indiquée</b>.</p>"
            )
            head = (
                "<th>Date</th><th>Référence</th><th>Montant de la commande</th><th>Valider</th><th>Laisser</th>"
                f"<th>Annuler</th><th>{column}</th>"
            )
            path = "differes"
        else:
            intro = (
                "<p>Les demandes de paiement suivantes sont en attente d'un traitement manuel de votre part : "
                "<b>Validation Totale (VT)</b>, <b>Validation Partielle (VP)</b> du montant saisi, ou "
                "<b>Annulation</b>. Une autorisation est demandée à chaque validation ; ce qui reste à la fin de la "
                "période est annulé automatiquement.</p>"
            )
            head = (
                "<th>Date</th><th>Référence</th><th>Montant de la commande</th><th>Montant restant à recouvrer</th>"
                f"<th>Montant à recouvrer</th><th>{column}</th>"
            )
            path = "partiels"
        table = (
            f'<form method="post" action="{board.base}/{path}"><input type="hidden" name="jeton" value="{token}">'
            f'<table class="list" id="pending"><tr>{head}</tr>{"".join(rows)}</table>'
            '<button type="submit" id="apply">Valider les choix</button></form>'
            if payments
            else '<p id="pending-none">Aucun paiement en attente.</p>'
        )
        title = "Paiements différés en attente" if status is Status.AUTHORIZED else "Paiements partiels en attente"
        legend = red_legend(any(p.acknowledgement_failed for p in payments))
        return board.page(terminal, title, f"{notice}{intro}{table}{legend}")

    def amount_of(text: str) -> Decimal | None:
        """An amount as the merchant types it, read strictly (``62.73``: digits, a dot, at most two decimals):
        ``6,00`` or ``1E+1`` are refused, never guessed."""
        try:
            value = parse_decimal(text.strip(), "montant")
        except FieldError:
            return None
        return value if value > 0 else None

    def validate(
        terminal: BankTerminal, status: Status, reference: str, action: str, amount: Decimal | None, now: datetime
    ) -> str | Declined:
        """One row's choice, on the payment as stored: what was done, or the declined validation."""

        def change(payment: Payment) -> str | Declined:
            if payment.status is not status:
                raise Refusal(0, "n'est plus en attente")
            if action == "annuler":
                rules.cancel(payment, now)
                return "annulé"
            done = rules.capture(payment, payment.open_amount if amount is None else amount, now, "dashboard")
            if isinstance(done, Declined):
                return done
            return "validé" if amount is None else f"validé pour {money(amount, payment.currency)}"

        try:
            return bank.ledger.update(terminal.tpe, reference, change)[1]
        except LookupError:
            raise Refusal(0, "n'est plus en attente") from None

    def apply(terminal: BankTerminal, status: Status) -> Response:
        form = board.checked_form()
        if form is None:
            return pending_page(terminal, status, "Formulaire expiré : recommencez.", error=True)
        done: list[str] = []
        problems: list[str] = []
        now = bank.now()
        for name, action in form.items():
            if not name.startswith("action-") or action == "laisser":
                continue
            reference = name.removeprefix("action-")
            amount: Decimal | None = None
            if action == "vp":
                amount = amount_of(form.get(f"montant-{reference}", ""))
                if amount is None:
                    problems.append(f"{reference} : montant à recouvrer invalide {AMOUNT_HINT}")
                    continue
            elif action not in ("valider", "vt", "annuler"):
                continue
            try:
                outcome = validate(terminal, status, reference, action, amount, now)
            except Refusal as refusal:
                problems.append(f"{reference} : {refusal.label}")
                continue
            if isinstance(outcome, Declined):
                problems.append(f"{reference} : autorisation refusée ({outcome.refusal}), rien n'a été recouvré")
            else:
                done.append(f"{reference} {outcome}")
        message = "; ".join(problems or done) or "Aucun changement."
        return pending_page(terminal, status, message, error=bool(problems))

    @app.route(f"{BASE}/differes", methods=["GET"])
    @logged_in
    def deferred(terminal: BankTerminal) -> Response:
        return pending_page(terminal, Status.AUTHORIZED)

    @app.route(f"{BASE}/differes", methods=["POST"], content_types=FORM)
    @logged_in
    def deferred_apply(terminal: BankTerminal) -> Response:
        return apply(terminal, Status.AUTHORIZED)

    @app.route(f"{BASE}/partiels", methods=["GET"])
    @logged_in
    def partial(terminal: BankTerminal) -> Response:
        return pending_page(terminal, Status.REGISTERED)

    @app.route(f"{BASE}/partiels", methods=["POST"], content_types=FORM)
    @logged_in
    def partial_apply(terminal: BankTerminal) -> Response:
        return apply(terminal, Status.REGISTERED)

    @app.route(f"{BASE}/recherche", methods=["GET"])
    @logged_in
    def search(terminal: BankTerminal) -> Response:
        reference = query(board.request()).get("reference", "").strip()
        if bank.ledger.get(terminal.tpe, reference) is None:
            return board.page(
                terminal, "Recherche", f'<p id="message">Aucune commande « {escape(reference)} ».</p>', 404
            )
        return Response(body="", status_code=303, headers={"Location": f"{board.base}/commande/{quote(reference)}"})

    def detail_page(terminal: BankTerminal, payment: Payment, message: str = "", error: bool = False) -> Response:
        notice = f'<div class="{"error" if error else "ok"}" id="message">{escape(message)}</div>' if message else ""
        body = detail_body(terminal, payment, base=board.base, token=board.token())
        return board.page(terminal, "Détail de la commande", notice + body)

    @app.route(f"{BASE}/commande/{{reference}}", methods=["GET"])
    @logged_in
    def detail(terminal: BankTerminal, reference: str) -> Response:
        payment = bank.ledger.get(terminal.tpe, reference)
        if payment is None:
            return board.page(terminal, "Commande inconnue", "<p>Aucune commande de cette référence.</p>", 404)
        return detail_page(terminal, payment)

    @app.route(f"{BASE}/commande/{{reference}}/recredit", methods=["POST"], content_types=FORM)
    @logged_in
    def refund(terminal: BankTerminal, reference: str) -> Response:
        payment = bank.ledger.get(terminal.tpe, reference)
        if payment is None:
            return board.page(terminal, "Commande inconnue", "<p>Aucune commande de cette référence.</p>", 404)
        form = board.checked_form()
        if form is None:
            return detail_page(terminal, payment, "Formulaire expiré : recommencez.", error=True)
        amount = amount_of(form.get("montant", ""))
        if amount is None:
            return detail_page(terminal, payment, f"Montant à re-créditer invalide {AMOUNT_HINT}.", error=True)
        now = bank.now()
        try:
            payment, _ = bank.ledger.update(
                terminal.tpe, reference, lambda stored: rules.refund(stored, amount, terminal.refunds, now, "dashboard")
            )
        except Refusal as refusal:
            payment = bank.ledger.get(terminal.tpe, reference) or payment
            return detail_page(terminal, payment, f"Re-crédit refusé ({refusal.code}) : {refusal.label}", error=True)
        return detail_page(terminal, payment, f"Re-crédit de {money(amount, payment.currency)} effectué.")
