"""Is a terminal ready for production? Every point the bank's go-live asks, each with what to do when it fails.

    python -m orders.golive --tpe 0900157 --cgi2-url https://api.shop.example/v1/confirmation

reads the stack's configuration from the environment (``TERMINALS_SECRET_ARN``, ``MAIL_SETTINGS_PARAMETER``,
``ORDERS_TABLE``, ``ALARM_TOPIC_ARN``) and exits 0 when every point passes. Alarm delivery is proved possible, not
only subscribed: CloudWatch may publish to the alarm topic (its access policy) and use its key (the key policy), and
someone confirmed a subscription. The console's ``GET /terminals/{tpe}/golive`` answers the same checks as JSON.

``--smoke --api-url <the stack's ApiUrl>`` runs the smoke test instead (``orders.smoke``: the deployed stack, end to
end, with ``SMOKE_ALARM_NAME`` set too), as the console's ``POST /terminals/{tpe}/smoke`` does.

Either run is kept as the terminal's last of its kind in the reports bucket (``RECONCILIATION_BUCKET``:
``checks/<tpe>/golive.json``, ``checks/<tpe>/smoke.json``), which the merchant's console shows on its terminals page.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from sealing import MerchantKey, control_string

from .calendar import local_day
from .checks import Check, CheckRun, Http, Probe, ResultsBucket, http_call, http_probe, keep_run, render
from .exceptions import ConfigurationError, OrdersError, ReportUnavailableError
from .smoke import Smoke
from .store import OrderStore
from .terminals import MailSettings, TerminalConfig

PUBLIC_TEST_KEY = "12345678901234567890123456789012345678P0"  # the kits' published key: never a real terminal's
GARBAGE = b"TPE=0000000&reference=GOLIVE&MAC=0000000000000000000000000000000000000000"
CDR_1 = "version=2\ncdr=1\n"
TEST_PAYMENT_DAYS = 60  # how far back test payments are looked for
COMMAND_LINE = "python -m orders.golive"  # what ran a check kept from the command line


def check_key(terminal: TerminalConfig) -> Check:
    control = control_string(terminal.terminal.key, terminal.tpe)
    if terminal.terminal.key == MerchantKey(PUBLIC_TEST_KEY):
        return Check(
            "key",
            False,
            "the terminal uses the kits' public test key",
            "put the key the bank gave for this TPE in the terminal secret, then give the bank's support the "
            "control string this check prints",
        )
    return Check("key", True, f"control string for the bank's support: {control}")


def check_cgi2(url: str, probe: Probe) -> list[Check]:
    checks = [
        Check("cgi2_https", url.startswith("https://"), f"CGI2 URL {url or '(none)'}", "register an https:// URL")
    ]
    if not url:
        return checks
    try:
        status, body = probe(url, GARBAGE)
    except OSError as exc:
        return [*checks, Check("cgi2_answers", False, f"no answer: {exc}", "deploy the stack; check the URL")]
    if 300 <= status < 400:
        fix = "register the final URL (no redirect: the bank does not follow one)"
        return [*checks, Check("cgi2_answers", False, f"answered a redirect ({status})", fix)]
    ok = status == 200 and body == CDR_1
    detail = f"a garbage post got {status} {body!r}"
    return [*checks, Check("cgi2_answers", ok, detail, "CGI2 must answer exactly version=2 / cdr=1 to a bad seal")]


def check_return_urls(terminal: TerminalConfig) -> Check:
    urls = {"return_ok_url": terminal.return_ok_url, "return_err_url": terminal.return_err_url}
    bad = [name for name, url in urls.items() if not url.startswith("https://")]
    detail = ", ".join(f"{name}={url or '(none)'}" for name, url in urls.items())
    return Check("return_urls_https", not bad, detail, f"set {' and '.join(bad)} to https:// pages of the shop")


def check_environment(terminal: TerminalConfig) -> Check:
    protocol = terminal.terminal
    urls = {"payment": protocol.payment_url, "back-office": protocol.url("etatpaiement.cgi")}
    wrong = [name for name, url in urls.items() if ("/test/" in url) != protocol.is_test]
    detail = f"environment {protocol.environment.value}: " + ", ".join(f"{k} {v}" for k, v in urls.items())
    if wrong:
        fix = f"make environment and the {' and '.join(wrong)} URL agree (only the test server's URLs have /test/)"
        return Check("environment_and_hosts", False, detail, fix)
    production = not protocol.is_test
    return Check("environment_and_hosts", production, detail, "set environment to production once the bank says so")


def check_test_payments(terminal: TerminalConfig, store: OrderStore, now: datetime) -> Check:
    accepted = refused = 0
    today = local_day(now, terminal.terminal.timezone)
    for back in range(TEST_PAYMENT_DAYS):
        start: dict[str, Any] | None = None
        while True:
            orders, start = store.orders_of_day((today - timedelta(days=back)).isoformat(), limit=100, start_key=start)
            for order in (o for o in orders if o.tpe == terminal.tpe):
                codes = [a.return_code.lower() for a in order.attempts]
                accepted += codes.count("payetest")
                refused += codes.count("annulation")
            if not start:
                break
    ok = accepted > 0 and refused > 0
    detail = f"{accepted} accepted and {refused} refused test payments confirmed in the last {TEST_PAYMENT_DAYS} days"
    fix = "on the test configuration, pay once with an accepted and once with a refused test card"
    return Check("test_payments", ok, detail, fix)


def check_sender(mail: MailSettings | None, ses: Any) -> Check:
    if mail is None:
        return Check("mail_sender_verified", True, "no e-mails configured for this terminal")
    sender = mail.sender
    identities = [sender, sender.rpartition("@")[2]]
    try:
        answer = ses.get_identity_verification_attributes(Identities=identities)["VerificationAttributes"]
    except (ClientError, BotoCoreError) as exc:
        return Check("mail_sender_verified", False, f"SES cannot be asked: {exc}", "allow ses:GetIdentity*")
    ok = any((answer.get(i) or {}).get("VerificationStatus") == "Success" for i in identities)
    fix = f"verify {sender} (or its domain) in SES: aws ses verify-email-identity --email-address {sender}"
    return Check("mail_sender_verified", ok, f"sender {sender}", fix)


ALARM_FIX = "subscribe to the stack's AlarmTopicArn (AlarmEmail parameter) and confirm the subscription"
CLOUDWATCH = "cloudwatch.amazonaws.com"
AWS_MANAGED_SNS_KEY = "alias/aws/sns"
# What CloudWatch does with the key of an encrypted topic it publishes to (SNS developer guide, "Key management":
# the key policy must let the service principal use kms:Decrypt and kms:GenerateDataKey*).
KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
ALARM_CHECKS = ("alarm_topic_key", "alarm_topic_policy", "alarms_subscribed")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(statement: Mapping[str, Any], action: str) -> bool:
    """Whether the statement's actions name ``action`` (IAM's action names ignore case; ``*`` patterns)."""
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in _listed(statement.get("Action", [])))


def _allows(statement: Mapping[str, Any], action: str, principal: Callable[[Any], bool]) -> bool:
    """Whether an Allow statement grants ``action`` to a principal ``principal`` accepts (``"*"``, or the values of
    its ``AWS`` and ``Service`` entries)."""
    if statement.get("Effect") != "Allow" or not _names(statement, action):
        return False
    named = statement.get("Principal", {})
    names = [named] if named == "*" else [n for k in ("AWS", "Service") for n in _listed(named.get(k, []))]
    return any(principal(name) for name in names)


def _denies(statement: Mapping[str, Any], action: str) -> bool:
    return statement.get("Effect") == "Deny" and _names(statement, action)


def _statements(document: str) -> list[Mapping[str, Any]]:
    try:
        return [s for s in _listed(json.loads(document or "{}").get("Statement", [])) if isinstance(s, Mapping)]
    except (ValueError, AttributeError):
        return []


def check_alarm_key(attributes: Mapping[str, str], kms: Any) -> Check:
    """The topic's key lets CloudWatch publish to it (or the topic is not encrypted)."""
    key = attributes.get("KmsMasterKeyId", "")
    fix = (
        "encrypt the alarm topic with a customer managed key whose key policy lets cloudwatch.amazonaws.com "
        "use kms:Decrypt and kms:GenerateDataKey* (the stack's AlarmTopicKey, AlarmTopicEncryption=kms)"
    )
    if not key:
        return Check("alarm_topic_key", True, "the alarm topic is not encrypted (AlarmTopicEncryption=none)")
    if key.endswith(AWS_MANAGED_SNS_KEY):
        detail = f"the alarm topic is encrypted with {AWS_MANAGED_SNS_KEY}, which CloudWatch cannot use"
        return Check("alarm_topic_key", False, detail, fix)
    try:
        policy = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    except (ClientError, BotoCoreError) as exc:
        return Check("alarm_topic_key", False, f"the key policy of {key} cannot be read: {exc}", fix)
    statements = _statements(policy)
    missing = [
        action
        for action in KEY_ACTIONS
        if not any(_allows(s, action, lambda name: name == CLOUDWATCH) for s in statements)
        or any(_denies(s, action) for s in statements)
    ]
    if missing:
        detail = f"the key policy of {key} does not let {CLOUDWATCH} use {' and '.join(missing)}"
        return Check("alarm_topic_key", False, detail, fix)
    return Check(
        "alarm_topic_key", True, f"the key policy of {key} lets {CLOUDWATCH} use kms:Decrypt and kms:GenerateDataKey"
    )


def check_alarm_topic_policy(topic_arn: str, attributes: Mapping[str, str]) -> Check:
    """The topic's access policy lets CloudWatch's alarms publish: a statement for its service principal, or SNS's
    default one (every principal of the owner's account)."""
    account = topic_arn.split(":")[4] if topic_arn.count(":") >= 5 else ""
    statements = _statements(attributes.get("Policy", ""))

    def cloudwatch_or_owner(name: Any) -> bool:
        return name in {CLOUDWATCH, "*", account, f"arn:aws:iam::{account}:root"}

    allowed = any(_allows(s, "sns:Publish", cloudwatch_or_owner) for s in statements)
    denied = any(_denies(s, "sns:Publish") for s in statements)
    fix = f"let {CLOUDWATCH} publish in the topic's access policy (the stack's AlarmTopicPolicy)"
    if allowed and not denied:
        return Check("alarm_topic_policy", True, f"the topic's access policy lets {CLOUDWATCH} publish")
    return Check("alarm_topic_policy", False, f"the topic's access policy does not let {CLOUDWATCH} publish", fix)


def check_alarms(topic_arn: str, sns: Any, kms: Any) -> list[Check]:
    """Alarm delivery is possible: CloudWatch may publish to the topic and use its key, and someone listens."""
    if not topic_arn:
        detail = "no alarm topic known (ALARM_TOPIC_ARN)"
        return [
            Check(name, False, detail, ALARM_FIX)
            for name in ("alarm_topic_key", "alarm_topic_policy", "alarms_subscribed")
        ]
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    except (ClientError, BotoCoreError) as exc:
        detail = f"SNS cannot be asked: {exc}"
        return [
            Check(name, False, detail, ALARM_FIX)
            for name in ("alarm_topic_key", "alarm_topic_policy", "alarms_subscribed")
        ]
    confirmed = [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]
    return [
        check_alarm_key(attributes, kms),
        check_alarm_topic_policy(topic_arn, attributes),
        Check("alarms_subscribed", bool(confirmed), f"{len(confirmed)} confirmed subscription(s)", ALARM_FIX),
    ]


def golive(
    terminal: TerminalConfig,
    *,
    cgi2_url: str,
    store: OrderStore,
    now: datetime,
    probe: Probe | None = None,
    ses: Any = None,
    sns: Any = None,
    kms: Any = None,
    alarm_topic_arn: str = "",
    mail: MailSettings | None = None,
) -> list[Check]:
    """Every go-live point for ``terminal`` (``mail``: its mail settings), in the order a merchant would fix them."""
    return [
        check_key(terminal),
        *check_cgi2(cgi2_url, probe or http_probe),
        check_return_urls(terminal),
        check_environment(terminal),
        check_test_payments(terminal, store, now),
        check_sender(mail, ses or boto3.client("ses")),
        *check_alarms(alarm_topic_arn, sns or boto3.client("sns"), kms or boto3.client("kms")),
    ]


def keep_last(reports: ResultsBucket | None, run: CheckRun) -> str:
    """Keep ``run`` as its terminal's last of its kind: one line saying where, or why it is not kept (the checks
    themselves stand either way)."""
    if reports is None:
        return f"{run.kind} result not kept: RECONCILIATION_BUCKET is not set (the console shows no result)"
    try:
        return f"{run.kind} result kept as {keep_run(reports, run)}"
    except ReportUnavailableError as exc:
        return f"{run.kind} result not kept: {exc}"


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    probe: Probe | None = None,
    *,
    http: Http = http_call,
    cloudwatch: Any = None,
) -> int:
    """The command line; ``probe`` posts to the CGI2 URL (``http_probe`` unless a test gives its own), ``http``
    and ``cloudwatch`` are what the smoke test reaches the stack with."""
    from .dependencies import Dependencies

    parser = argparse.ArgumentParser(prog="python -m orders.golive", description=__doc__.splitlines()[0])
    parser.add_argument("--tpe", required=True, help="the terminal to check")
    parser.add_argument("--cgi2-url", default=os.environ.get("CONFIRMATION_URL", ""), help="the stack's CGI2 URL")
    parser.add_argument("--smoke", action="store_true", help="run the smoke test of the deployed stack instead")
    parser.add_argument("--api-url", default=os.environ.get("API_URL", ""), help="the stack's ApiUrl (--smoke)")
    args = parser.parse_args(argv)
    if args.smoke and not args.api_url.startswith(("https://", "http://")):
        print("cannot run the smoke test: --api-url (or API_URL) must be the stack's ApiUrl output", file=out)
        return 2
    try:
        deps = Dependencies.from_environment()
        terminal = deps.terminals().get(args.tpe)
        if args.smoke:
            smoke = Smoke(
                terminal,
                deps.store,
                args.api_url.rstrip("/"),
                cloudwatch or boto3.client("cloudwatch"),
                deps.smoke_alarm_name,
                clock=deps.clock,
                http=http,
            )
            ran = smoke.run()
            print(
                keep_last(deps.reports, CheckRun(terminal.tpe, "smoke", deps.clock(), COMMAND_LINE, tuple(ran))),
                file=out,
            )
            return 0 if render(ran, out, ("the stack works", "the stack does not work yet")) else 1
        checks = golive(
            terminal,
            cgi2_url=args.cgi2_url,
            store=deps.store,
            now=deps.clock(),
            probe=probe,
            alarm_topic_arn=deps.alarm_topic_arn,
            mail=deps.mail_settings().get(terminal.tpe),
        )
    except (OrdersError, ConfigurationError) as exc:
        print(f"cannot check: {exc}", file=out)
        return 2
    except BotoCoreError as exc:  # no region or no credentials: nothing could be asked of the account
        print(f"cannot check: {exc} (set AWS_DEFAULT_REGION and the account's credentials)", file=out)
        return 2
    print(
        keep_last(deps.reports, CheckRun(terminal.tpe, "golive", deps.clock(), COMMAND_LINE, tuple(checks))), file=out
    )
    return 0 if render(checks, out) else 1


if __name__ == "__main__":
    sys.exit(main())
