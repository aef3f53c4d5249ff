"""E-mail, locally: the terminals' senders verified in the embedded SES, and what it sent shown at /_local/mail.

moto's SES keeps every message it accepted (``send_raw_email``: the whole MIME message); the local stack runs
moto in this process, so the pages read them straight from its backend. Each mail opens on a page of its own,
its HTML in a sandboxed frame (no script, no request anywhere) next to its plain text. The sandbox bank's own
mails are listed after them: its alerts (a confirmation CGI2 did not acknowledge), then the payment confirmations
it sends the merchant of a terminal that asks for them.
"""

from __future__ import annotations

import email
import email.policy
import json
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import boto3

from devhttp import HttpRequest, HttpResponse, Match

from .config import mail_settings_json
from .templating import render

if TYPE_CHECKING:
    from .host import Host

_HTML = [("Content-Type", "text/html; charset=utf-8")]


def senders(mail_settings_json: str) -> set[str]:
    """Every sender address of the terminals' mail settings (MailSettingsParameter)."""
    data = json.loads(mail_settings_json)
    return {str(t["sender"]) for t in data["terminals"].values()}


class LocalMail:
    name = "mail"

    def __init__(self) -> None:
        self._stack: Host | None = None

    def start(self, stack: Host) -> None:
        self._stack = stack
        client: Any = boto3.client("ses", region_name=stack.config.region)
        for sender in sorted(senders(mail_settings_json())):
            client.verify_email_identity(EmailAddress=sender)  # moto verifies at once; SES asks the owner
        stack.add_route("GET", "/_local/mail", self._list)
        stack.add_route("GET", "/_local/mail/{mail}", self._show)

    def stop(self) -> None:
        self._stack = None

    def describe(self) -> list[str]:
        return [f"  mail         {self._stack.base_url}/_local/mail   (what SES sent)"] if self._stack else []

    def messages(self) -> list[tuple[str, EmailMessage]]:
        """Every mail with its id, SES's oldest first, then the bank's. An id names one mail for good: SES's
        ``ses-N`` is its N-th sent message, the bank's ``alert-N`` and ``bank-N`` its N-th alert and mail (its
        ledger lists them oldest first), so a mail sent later never takes another's link."""
        ses = [(f"ses-{number}", message) for number, message in enumerate(self.ses_messages())]
        return ses + self.bank_messages()

    def ses_messages(self) -> list[EmailMessage]:
        """Every mail SES sent, oldest first."""
        from moto.ses.models import ses_backends  # the embedded moto server runs in this process

        assert self._stack is not None
        backend = ses_backends[self._stack.config.account_id][self._stack.config.region]
        found = []
        for message in backend.sent_messages:
            raw = getattr(message, "raw_data", None)
            if raw is not None:
                found.append(email.message_from_string(raw, policy=email.policy.default))
            else:  # a SendEmail message: moto keeps one body
                plain = EmailMessage()
                plain["From"], plain["Subject"] = message.source, message.subject
                plain["To"] = ", ".join(a for addresses in message.destinations.values() for a in addresses)
                plain.set_content(message.body)
                found.append(plain)
        return found

    def bank_messages(self) -> list[tuple[str, EmailMessage]]:
        """The sandbox bank's mails with their ids, when it runs: its alerts (a confirmation the merchant's CGI2
        did not acknowledge), then its payment confirmations to the merchant."""
        assert self._stack is not None
        alerts, confirmations = [], []
        for service in self._stack.services:
            ledger = getattr(getattr(service, "bank", None), "ledger", None)
            if ledger is None:
                continue
            for alert in ledger.alerts():
                mail = EmailMessage()
                mail["From"] = "alertes@sandbox-bank.example"
                mail["To"] = f"the merchant of terminal {alert.tpe}"
                mail["Subject"] = f"Alerte : la confirmation de la commande {alert.reference} n'a pas abouti"
                mail.set_content(
                    f"Le {alert.at:%d/%m/%Y à %H:%M:%S}, votre serveur n'a pas accusé réception de la confirmation "
                    f"de paiement de la commande {alert.reference} (TPE {alert.tpe}) : {alert.detail}\n"
                    "Le paiement est bien enregistré par la banque : vérifiez la commande.\n"
                )
                alerts.append(mail)
            for sent in ledger.merchant_mails():
                mail = EmailMessage()
                mail["From"], mail["To"], mail["Subject"] = "paiements@sandbox-bank.example", sent.to, sent.subject
                mail.set_content(sent.text)
                confirmations.append(mail)
        return [(f"alert-{number}", mail) for number, mail in enumerate(alerts)] + [
            (f"bank-{number}", mail) for number, mail in enumerate(confirmations)
        ]

    def _list(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        mails = [
            {"id": mail_id, "to": str(m["To"]), "sender": str(m["From"]), "subject": str(m["Subject"])}
            for mail_id, m in reversed(self.messages())
        ]
        return HttpResponse(200, _HTML, render("mails.html", title="E-mails sent", mails=mails))

    def _show(self, request: HttpRequest, match: Match[Any]) -> HttpResponse:
        mail_id = match.path_parameters.get("mail", "")
        message = dict(self.messages()).get(mail_id)
        if message is None:
            return HttpResponse.json(404, {"error": {"message": f"no mail {mail_id!r}", "field": "mail"}})
        text, rich = message.get_body(("plain",)), message.get_body(("html",))
        page = render(
            "mail.html",
            title=str(message["Subject"]),
            sender=str(message["From"]),
            to=str(message["To"]),
            text=None if text is None else text.get_content(),
            rich=None if rich is None else rich.get_content(),
        )
        return HttpResponse(200, _HTML, page)
