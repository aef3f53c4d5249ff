"""The dashboard's "Détail de la commande": the payment, its attempts, instalments, captures (and the validations
the card's bank refused), refunds with the refund form, and the order's description."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .pages import money
from .payments import Payment, Status
from .terminals import BankTerminal, RefundPolicy

STATUS = {
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
    '<p class="legend" id="red-legend">Références de couleur rouge : votre serveur commerçant n\'a pas (ou mal) '
    "répondu à la confirmation d'enregistrement des informations de paiement émise par notre serveur de paiement "
    "au moment de l'achat.</p>"
)


def red_legend(shown: bool) -> str:
    """The legend of red references, on a page that shows one (docs/protocol.md, The bank's pages)."""
    return RED_LEGEND if shown else ""


def _at(terminal: BankTerminal, moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo(terminal.timezone)):%d/%m/%Y %H:%M:%S}"


def _day(terminal: BankTerminal, moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo(terminal.timezone)):%d/%m/%Y}"


def _acknowledgement(acknowledged: bool | None, problem: str) -> str:
    css = ' class="alert"' if acknowledged is False else ""
    return f"<td{css}>{'acquittée' if acknowledged else escape(problem or 'en cours')}</td>"


def _details(terminal: BankTerminal, payment: Payment) -> str:
    paid_at = _at(terminal, payment.authorised_at).replace(" ", " à ", 1) if payment.authorised_at else "-"
    css = ' class="alert"' if payment.acknowledgement_failed else ""
    return (
        f'<table class="list" id="detail"><tr><th colspan="2">Détail</th></tr>'
        f"<tr><td>Paiement par carte effectué le</td><td>{paid_at}</td></tr>"
        f'<tr><td>Référence de la commande</td><td{css} id="detail-reference">{escape(payment.reference)}</td></tr>'
        f"<tr><td>Montant</td><td>{money(payment.amount.amount, payment.currency)}</td></tr>"
        f"<tr><td>Type de carte utilisée</td><td>{escape(payment.brand)} {escape(payment.card)}</td></tr>"
        f'<tr><td>État</td><td id="detail-status">{escape(STATUS[payment.status])}</td></tr></table>'
    )


def _attempts(terminal: BankTerminal, payment: Payment) -> str:
    rows = "".join(
        f"<tr><td>{_at(terminal, a.at)}</td><td>{escape(a.card)}</td><td>{escape(a.return_code)}</td>"
        f"<td>{escape(a.refusal or '-')}</td><td>{'oui' if a.cvv_entered else 'non'}</td>"
        f"{_acknowledgement(a.acknowledged, a.acknowledgement)}</tr>"
        for a in payment.attempts
    )
    return (
        '<h2>Tentatives de paiement</h2><table class="list" id="attempts"><tr><th>Date</th><th>Carte</th>'
        "<th>Code retour</th><th>Motif</th><th>Cryptogramme</th><th>Confirmation au CGI2</th></tr>"
        f"{rows}</table>"
    )


def _instalments(terminal: BankTerminal, payment: Payment) -> str:
    if not payment.instalments:
        return ""
    outcome = {"paid": "payée", "refused": "refusée", "": "à venir"}
    rows = "".join(
        f'<tr id="instalment-{i.number}"><td>{i.number}</td><td>{i.due:%d/%m/%Y}</td>'
        f"<td>{money(i.amount, payment.currency)}</td>"
        f"<td>{outcome[i.outcome]}{f' ({escape(i.refusal)})' if i.refusal else ''}</td>"
        f"<td>{escape(i.authorisation_number or '-')}</td>"
        + (_acknowledgement(i.acknowledged, i.acknowledgement) if i.number > 1 and i.outcome else "<td>-</td>")
        + "</tr>"
        for i in payment.instalments
    )
    return (
        '<h2>Échéances</h2><table class="list" id="instalments"><tr><th>N°</th><th>Date</th><th>Montant</th>'
        f"<th>État</th><th>Autorisation</th><th>Confirmation au CGI2</th></tr>{rows}</table>"
    )


def _captures(terminal: BankTerminal, payment: Payment) -> str:
    refundable = payment.refundable
    link = refundable > 0 and terminal.refunds is not RefundPolicy.NONE
    rows = "".join(
        f"<tr><td>{_day(terminal, c.at)}</td><td>{escape(c.authorisation_number)}</td>"
        f"<td>{escape(payment.reference)}</td><td>{money(c.amount, payment.currency)}</td>"
        f"<td>{money(refundable, payment.currency)}</td><td>"
        + (f'<a href="#recredit" id="refund-link-{i}">cliquer ici</a>' if link else "-")
        + "</td></tr>"
        for i, c in enumerate(payment.captures)
    )
    declined = "".join(
        f"<tr><td>{_at(terminal, d.at)}</td><td>{money(d.amount, payment.currency)}</td>"
        f"<td>{escape(d.refusal)}</td></tr>"
        for d in payment.declined
    )
    return (
        '<h2>Recouvrement(s)</h2><table class="list" id="captures"><tr><th>Recouvré le</th>'
        "<th>Numéro d'autorisation</th><th>Référence d'archivage</th><th>Montant</th><th>Re-crédit possible</th>"
        f"<th>Re-crédit</th></tr>{rows}</table>"
        + (
            "<h2>Validations refusées</h2><p>L'autorisation demandée à la validation a été refusée : rien n'a été "
            'mis en recouvrement.</p><table class="list" id="declined"><tr><th>Date</th><th>Montant</th>'
            f"<th>Motif</th></tr>{declined}</table>"
            if payment.declined
            else ""
        )
        + (f"<p>Montant annulé : {money(payment.cancelled, payment.currency)}</p>" if payment.cancelled else "")
    )


def _refunds(terminal: BankTerminal, payment: Payment, base: str, token: str) -> str:
    refundable = payment.refundable
    rows = "".join(
        f"<tr><td>{_at(terminal, r.at)}</td><td>{money(r.amount, payment.currency)}</td></tr>" for r in payment.refunds
    )
    listing = (
        f'<table class="list" id="refunds"><tr><th>Date</th><th>Montant</th></tr>{rows}</table>'
        if payment.refunds
        else "<p>Aucun re-crédit n'a été effectué pour cette commande.</p>"
    )
    if refundable <= 0:
        form = ""
    elif terminal.refunds is RefundPolicy.NONE:
        form = '<p id="refund-none">Le contrat de ce TPE ne permet pas de re-crédit.</p>'
    else:
        form = (
            f'<form method="post" action="{base}/commande/{quote(payment.reference)}/recredit" id="recredit">'
            f'<input type="hidden" name="jeton" value="{token}">'
            f'<label for="refund-amount">Montant à re-créditer (au plus {money(refundable, payment.currency)})</label>'
            f'<input type="text" class="amount-input" id="refund-amount" name="montant" value="{refundable:.2f}"> '
            '<button type="submit" id="refund">Re-créditer</button></form>'
        )
    return f"<h2>Re-crédit</h2>{listing}{form}"


def detail_body(terminal: BankTerminal, payment: Payment, *, base: str, token: str) -> str:
    description = f'<h2>Descriptif</h2><p id="description">{escape(payment.free_text)}</p>' if payment.free_text else ""
    return (
        _details(terminal, payment)
        + _attempts(terminal, payment)
        + _instalments(terminal, payment)
        + _captures(terminal, payment)
        + _refunds(terminal, payment, base, token)
        + description
        + red_legend(payment.acknowledgement_failed)
    )
