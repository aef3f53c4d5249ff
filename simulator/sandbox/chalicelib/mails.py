"""The mail the bank sends the merchant after each accepted payment, when the terminal asks for it
(``confirmation_mail``): in French, as the bank writes it, with the reference, the amount, the date and time, the
authorisation number and the masked card — never the card's number or cryptogram, which the bank does not keep.
"""

from __future__ import annotations

from datetime import datetime

from .pages import local_time
from .payment_record import MerchantMail, Payment
from .templating import money
from .terminals import BankTerminal


def payment_confirmation(terminal: BankTerminal, payment: Payment, at: datetime) -> MerchantMail:
    """The confirmation of ``payment``, accepted at ``at``, for the terminal's merchant."""
    amount = money(payment.amount.amount, payment.currency)
    when = local_time(at, terminal)
    lines = [
        "Bonjour,",
        "",
        f"Un paiement a été accepté sur votre TPE {terminal.tpe} ({terminal.merchant_name}).",
        "",
        f"Référence de la commande : {payment.reference}",
        f"Montant : {amount}",
    ]
    first = payment.first_instalment
    if first is not None:
        count = len(payment.instalments)
        lines.append(f"Paiement en {count} fois, première échéance : {money(first.amount, first.currency)}")
    lines += [
        f"Date et heure : {when:%d/%m/%Y à %H:%M:%S} ({terminal.timezone})",
        f"Numéro d'autorisation : {payment.authorisation_number}",
        f"Carte : {payment.card}",
        "",
        "Ce message vous est envoyé à titre d'information : seule la confirmation reçue par votre serveur (CGI2) "
        "fait foi pour la livraison.",
    ]
    return MerchantMail(
        at=at,
        tpe=terminal.tpe,
        reference=payment.reference,
        to=terminal.merchant_email,
        subject=f"Paiement accepté : commande {payment.reference}, {amount}",
        text="\n".join(lines) + "\n",
    )
