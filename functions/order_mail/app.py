"""E-mail the buyer and the merchant on order events (an EventBridge rule on the orders' bus), through SES.

Off the payment path: CGI2 has answered the bank long before. The order is read from the table (the event
carries no e-mail address), the terminal's mail settings (``MAIL_SETTINGS_PARAMETER``: never the terminal secret,
whose keys this function cannot read) say who is mailed. Each (event, recipient) is claimed in the table before it
is sent (under the order, ``MAIL#<reference>``, where the console's timeline finds it), so an event delivered twice
mails once, and each mail goes whatever became of the other: a mail SES refuses for good (its recipient, its
address) keeps its claim with SES's reason and is not retried; a mail SES did not take now gives its claim back,
and once the others are sent the invocation fails, so Lambda's retries (then its on-failure queue, alarmed) send
that one alone.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import MailRejectedError, MailUnavailableError, OrderNotFoundError
from orders.mail import Mail, mails_for

logger = Logger()
metrics = Metrics()


def _send(deps: Dependencies, reference: str, event_id: str, mail: Mail, sender: str) -> tuple[str, str]:
    """Claim and send one mail: ``sent``, ``claimed`` (by an earlier delivery), ``rejected`` (for good: the claim
    kept, with SES's reason) or ``not_sent`` (SES did not take it now: the claim given back for the retry), and
    why."""
    store = deps.store
    if not store.claim_mail(reference, event_id, mail.kind, deps.clock()):
        logger.info("mailed already", extra={"recipient": mail.kind})
        return "claimed", ""
    try:
        deps.mail_sender.send(mail, sender)
    except MailRejectedError as exc:
        store.record_mail_rejected(reference, event_id, mail.kind, str(exc), deps.clock())
        logger.error("SES rejected the mail for good: not retried", extra={"recipient": mail.kind, "reason": str(exc)})
        metrics.add_metric(name="MailsNotSent", unit=MetricUnit.Count, value=1)
        return "rejected", str(exc)
    except Exception as exc:
        store.release_mail(reference, event_id, mail.kind)
        logger.warning("SES did not take the mail: retried", extra={"recipient": mail.kind, "reason": str(exc)})
        metrics.add_metric(name="MailsNotSent", unit=MetricUnit.Count, value=1)
        return "not_sent", str(exc)
    metrics.add_metric(name="MailsSent", unit=MetricUnit.Count, value=1)
    return "sent", ""


def create_handler(deps: Dependencies) -> Handler:
    """The mailer's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        kind, detail = str(event.get("detail-type", "")), event.get("detail") or {}
        event_id, reference = str(detail.get("event_id", "")), str(detail.get("reference", ""))
        logger.append_keys(reference=reference, event_id=event_id, event_type=kind)
        try:
            order = deps.store.get(reference)
        except OrderNotFoundError:
            logger.warning("no such order: nothing to mail")
            return {"sent": []}
        settings = deps.mail_settings().get(order.tpe)
        outcomes: dict[str, list[str]] = {"sent": [], "claimed": [], "rejected": [], "not_sent": []}
        reasons = []
        for mail in mails_for(kind, detail, order, settings):
            assert settings is not None  # mails_for sends nothing without the settings
            outcome, reason = _send(deps, order.reference, event_id, mail, settings.sender)
            outcomes[outcome].append(mail.kind)
            if outcome == "not_sent":
                reasons.append(f"{mail.kind}: {reason}")
        logger.info("order event mailed", extra=outcomes)
        if reasons:  # Lambda tries the event again: only these mails go then
            raise MailUnavailableError("; ".join(reasons))
        answer = {"sent": outcomes["sent"]}
        return {**answer, "rejected": outcomes["rejected"]} if outcomes["rejected"] else answer

    return handler


lambda_handler = environment_handler(create_handler)
