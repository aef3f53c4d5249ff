"""The merchant dashboard, the bank's "gestionnaire commerçant" (docs/protocol.md, The bank's pages), under
``/test/gestion/``.

Per terminal, behind its password: today's summary; payments of the last 120 days by order date and by
capture date (with the day's XML file of captured payments); refunds by date; pending deferred payments
(validate / leave / cancel, and the date of the automatic end); pending partial payments (total or partial
validation, leave, cancel); search by reference; an order's detail with its refund form; alerts, and the
references whose acknowledgement failed in red.
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

from . import ledger, pages, sessions
from .bank import Bank
from .ledger import Payment, Refusal, Status
from .mount import client_ip, mount_prefix
from .sessions import DashboardSession
from .terminals import BankTerminal, EndPolicy, RefundPolicy

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


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}" if amount % 1 else f"{amount:.0f} {currency}"


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
        return Response(body=pages.layout(title, content, "fr", aside), status_code=status, headers=HTML)

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
_STATUS = {
    Status.OPEN: "en cours de paiement",
    Status.REFUSED: "refusé",
    Status.ABANDONED: "abandonné",
    Status.PAID: "payé",
    Status.AUTHORIZED: "autorisé, en attente de validation",
    Status.REGISTERED: "en attente de validation",
    Status.CAPTURED: "mis en recouvrement",
    Status.CANCELLED: "annulé",
}
RED_LEGEND = (
    '<p class="legend">Références de couleur rouge : votre serveur commerçant n\'a pas (ou mal) répondu à la '
    "confirmation d'enregistrement des informations de paiement émise par notre serveur de paiement au moment de "
    "l'achat.</p>"
)


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
        if (
            terminal is None
            or not terminal.dashboard_password
            or not hmac.compare_digest(terminal.dashboard_password.encode(), password.encode())
        ):
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
        alerts = [a for a in bank.ledger.alerts if a.tpe == terminal.tpe]
        alert_rows = "".join(
            f'<tr><td>{board.local(terminal, a.at):%d/%m/%Y %H:%M:%S}</td><td class="alert">'
            f'<a href="{board.base}/commande/{quote(a.reference)}">{escape(a.reference)}</a></td>'
            f"<td>{escape(a.detail)}</td></tr>"
            for a in reversed(alerts)
        )
        alert_block = (
            f'<h2 class="alert">Alertes : confirmations non acquittées ({len(alerts)})</h2>'
            f'<table class="list" id="alerts"><tr><th>Date</th><th>Référence</th><th>Problème</th></tr>{alert_rows}'
            f"</table>{RED_LEGEND}"
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
            f"{search}{alert_block}"
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
            f"<tr><td>{when:%H:%M:%S}</td><td>{board.reference_link(p)}</td><td>{_money(amount, p.currency)}</td>"
            f"<td>{escape(number)}</td><td>{_money(p.refunded, p.currency)}</td></tr>"
            for when, p, amount, number in rows
        )
        body = (
            "<p>Cliquez sur une référence de commande pour obtenir le détail.</p>"
            '<table class="list" id="payments"><tr><th>Heure</th><th>Référence</th><th>Montant TTC</th>'
            f"<th>Autorisation</th><th>Montant re-crédité</th></tr>{table}</table>{RED_LEGEND}"
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
            f"<td>{_money(p.amount.amount, p.currency)}</td><td>{_money(r.amount, p.currency)}</td></tr>"
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
                    f"<td>{_money(p.amount.amount, p.currency)}</td>{choice}"
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
                    f"<td>{_money(p.amount.amount, p.currency)}</td><td>{_money(p.open_amount, p.currency)}</td>"
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
        return board.page(terminal, title, f"{notice}{intro}{table}{RED_LEGEND}")

    def amount_of(text: str) -> Decimal | None:
        """An amount as the merchant types it, read strictly (``62.73``: digits, a dot, at most two decimals):
        ``6,00`` or ``1E+1`` are refused, never guessed."""
        try:
            value = parse_decimal(text.strip(), "montant")
        except FieldError:
            return None
        return value if value > 0 else None

    def apply(terminal: BankTerminal, status: Status) -> Response:
        form = board.checked_form()
        if form is None:
            return pending_page(terminal, status, "Formulaire expiré : recommencez.", error=True)
        done: list[str] = []
        problems: list[str] = []
        now = bank.now()
        with bank.ledger.lock:
            for name, action in form.items():
                if not name.startswith("action-") or action == "laisser":
                    continue
                reference = name.removeprefix("action-")
                payment = bank.ledger.get(terminal.tpe, reference)
                if payment is None or payment.status is not status:
                    problems.append(f"{reference} : n'est plus en attente")
                    continue
                try:
                    if action in ("valider", "vt"):
                        ledger.capture(payment, payment.open_amount, now, "dashboard")
                        done.append(f"{reference} validé")
                    elif action == "vp":
                        amount = amount_of(form.get(f"montant-{reference}", ""))
                        if amount is None:
                            problems.append(f"{reference} : montant à recouvrer invalide {AMOUNT_HINT}")
                            continue
                        ledger.capture(payment, amount, now, "dashboard")
                        done.append(f"{reference} validé pour {_money(amount, payment.currency)}")
                    elif action == "annuler":
                        ledger.cancel(payment, now)
                        done.append(f"{reference} annulé")
                except Refusal as refusal:
                    problems.append(f"{reference} : {refusal.label}")
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
        currency = payment.currency
        notice = f'<div class="{"error" if error else "ok"}" id="message">{escape(message)}</div>' if message else ""
        paid_at = board.local(terminal, payment.authorised_at) if payment.authorised_at else None
        css = ' class="alert"' if payment.acknowledgement_failed else ""
        details = (
            f'<table class="list" id="detail"><tr><th colspan="2">Détail</th></tr>'
            f"<tr><td>Paiement par carte effectué le</td><td>{f'{paid_at:%d/%m/%Y à %H:%M:%S}' if paid_at else '-'}"
            f'</td></tr><tr><td>Référence de la commande</td><td{css} id="detail-reference">'
            f"{escape(payment.reference)}</td></tr>"
            f"<tr><td>Montant</td><td>{_money(payment.amount.amount, currency)}</td></tr>"
            f"<tr><td>Type de carte utilisée</td><td>{escape(payment.brand)} {escape(payment.card)}</td></tr>"
            f'<tr><td>État</td><td id="detail-status">{escape(_STATUS[payment.status])}</td></tr></table>'
        )
        attempts = "".join(
            f"<tr><td>{board.local(terminal, a.at):%d/%m/%Y %H:%M:%S}</td><td>{escape(a.card)}</td>"
            f"<td>{escape(a.return_code)}</td><td>{escape(a.refusal or '-')}</td>"
            f"<td{' class="alert"' if a.acknowledged is False else ''}>"
            f"{'acquittée' if a.acknowledged else escape(a.acknowledgement or 'en cours')}</td></tr>"
            for a in payment.attempts
        )
        refundable = payment.refundable
        captures = "".join(
            f"<tr><td>{_day_text(board.local(terminal, c.at).date())}</td><td>{escape(c.authorisation_number)}</td>"
            f"<td>{escape(payment.reference)}</td><td>{_money(c.amount, currency)}</td>"
            f"<td>{_money(refundable, currency)}</td><td>"
            + (
                f'<a href="#recredit" id="refund-link-{i}">cliquer ici</a>'
                if refundable > 0 and terminal.refunds is not RefundPolicy.NONE
                else "-"
            )
            + "</td></tr>"
            for i, c in enumerate(payment.captures)
        )
        refunds = "".join(
            f"<tr><td>{board.local(terminal, r.at):%d/%m/%Y %H:%M:%S}</td><td>{_money(r.amount, currency)}</td></tr>"
            for r in payment.refunds
        )
        refund_form = (
            f'<form method="post" action="{board.base}/commande/{quote(payment.reference)}/recredit" id="recredit">'
            f'<input type="hidden" name="jeton" value="{board.token()}">'
            f'<label for="refund-amount">Montant à re-créditer (au plus {_money(refundable, currency)})</label>'
            f'<input type="text" class="amount-input" id="refund-amount" name="montant" value="{refundable:.2f}"> '
            '<button type="submit" id="refund">Re-créditer</button></form>'
            if refundable > 0 and terminal.refunds is not RefundPolicy.NONE
            else ""
        )
        if refundable > 0 and terminal.refunds is RefundPolicy.NONE:
            refund_form = '<p id="refund-none">Le contrat de ce TPE ne permet pas de re-crédit.</p>'
        body = (
            f"{notice}{details}<h2>Tentatives de paiement</h2>"
            '<table class="list" id="attempts"><tr><th>Date</th><th>Carte</th><th>Code retour</th><th>Motif</th>'
            f"<th>Confirmation au CGI2</th></tr>{attempts}</table>"
            '<h2>Recouvrement(s)</h2><table class="list" id="captures"><tr><th>Recouvré le</th>'
            "<th>Numéro d'autorisation</th><th>Référence d'archivage</th><th>Montant</th><th>Re-crédit possible</th>"
            f"<th>Re-crédit</th></tr>{captures}</table>"
            + (f"<p>Montant annulé : {_money(payment.cancelled, currency)}</p>" if payment.cancelled else "")
            + "<h2>Re-crédit</h2>"
            + (
                f'<table class="list" id="refunds"><tr><th>Date</th><th>Montant</th></tr>{refunds}</table>'
                if payment.refunds
                else "<p>Aucun re-crédit n'a été effectué pour cette commande.</p>"
            )
            + f"{refund_form}{RED_LEGEND}"
        )
        return board.page(terminal, "Détail de la commande", body)

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
        try:
            with bank.ledger.lock:
                ledger.refund(payment, amount, terminal.refunds, bank.now(), "dashboard")
        except Refusal as refusal:
            return detail_page(terminal, payment, f"Re-crédit refusé ({refusal.code}) : {refusal.label}", error=True)
        return detail_page(terminal, payment, f"Re-crédit de {_money(amount, payment.currency)} effectué.")
