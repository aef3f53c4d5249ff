"""E-mail the buyer and the merchant on order events (an EventBridge rule on the orders' bus), through SES.

Off the payment path: CGI2 has answered the bank long before. The order is read from the table (the event
carries no e-mail address), the terminal's ``mail`` settings say who is mailed. Each (event, recipient) is
claimed in the table before it is sent, so an event delivered twice mails once; a mail SES did not take gives
its claim back and the invocation fails, so Lambda's retries (then its on-failure queue, alarmed) send it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from orders.dependencies import Dependencies, Handler, environment_handler
from orders.exceptions import OrderNotFoundError
from orders.mail import mails_for

logger = Logger()
metrics = Metrics()


def create_handler(deps: Dependencies) -> Handler:
    """The mailer's handler on ``deps``."""

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        kind, detail = str(event.get("detail-type", "")), event.get("detail") or {}
        event_id, reference = str(detail.get("event_id", "")), str(detail.get("reference", ""))
        logger.append_keys(reference=reference, event_id=event_id, event_type=kind)
        store = deps.store
        try:
            order = store.get(reference)
        except OrderNotFoundError:
            logger.warning("no such order: nothing to mail")
            return {"sent": []}
        terminal = deps.terminals().get(order.tpe)
        sent = []
        for mail in mails_for(kind, detail, order, terminal):
            assert terminal.mail is not None  # mails_for sends nothing without the settings
            if not store.claim_mail(event_id, mail.kind, deps.clock()):
                logger.info("mailed already", extra={"recipient": mail.kind})
                continue
            try:
                deps.mail_sender.send(mail, terminal.mail.sender)
            except Exception:
                store.release_mail(event_id, mail.kind)
                metrics.add_metric(name="MailsNotSent", unit=MetricUnit.Count, value=1)
                raise
            metrics.add_metric(name="MailsSent", unit=MetricUnit.Count, value=1)
            sent.append(mail.kind)
        logger.info("order event mailed", extra={"sent": sent})
        return {"sent": sent}

    return handler


lambda_handler = environment_handler(create_handler)
