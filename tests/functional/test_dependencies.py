"""Each function is a factory on its dependencies; Lambda's ``lambda_handler`` is that factory on the
environment's, built at the first invocation."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from orders.dependencies import Dependencies
from orders.exceptions import ConfigurationError
from orders.terminals import NO_MAIL
from tests.support.aws import ROOT, mail_config
from tests.support.merchant import BILLING, create, create_request

FIXED = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def fresh_module(name: str) -> Any:
    """The function's module imported anew: a cold start, nothing built yet."""
    spec = importlib.util.spec_from_file_location(f"cold_{name}_app", ROOT / "functions" / name / "app.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_handlers_read_the_time_from_the_clock_they_are_given(aws: Any, lambda_context: Any) -> None:
    aws.use(clock=lambda: FIXED)
    created = create(aws, lambda_context)
    assert created["status"] == 201
    assert aws.store.get(created["json"]["reference"]).created_at == FIXED


def test_lambda_handler_builds_its_dependencies_from_the_environment(aws: Any, lambda_context: Any) -> None:
    cgi1 = fresh_module("cgi1")
    body = {"amount": "62.73", "email": "buyer@example.com", "billing": BILLING}
    response = cgi1.lambda_handler(create_request(body), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    reference = response["headers"]["Location"].rsplit("/", 1)[-1]
    assert aws.store.get(reference).status.value == "awaiting_payment"  # the table ORDERS_TABLE names


def test_a_module_imports_without_its_environment_and_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    monkeypatch.delenv("ORDERS_TABLE", raising=False)
    cgi1 = fresh_module("cgi1")  # importing needs nothing
    with pytest.raises(ConfigurationError, match="ORDERS_TABLE"):
        cgi1.lambda_handler(create_request({}), lambda_context)


def test_the_mail_settings_come_from_their_parameter_never_from_the_terminal_secret(aws: Any) -> None:
    """The mail function's settings are an SSM parameter (MAIL_SETTINGS_PARAMETER): no parameter named, no mail; a
    parameter missing or unreadable names itself."""
    ssm = boto3.client("ssm", region_name="eu-west-3")
    document = json.dumps(mail_config(**{"0900158": {"sender": "a@b.example"}}))
    ssm.put_parameter(Name="/kit/mail", Value=document, Type="String")
    environment = {"ORDERS_TABLE": "orders", "MAIL_SETTINGS_PARAMETER": "/kit/mail"}
    settings = Dependencies.from_environment(environment).mail_settings()
    assert sorted(settings.by_tpe) == ["0900158"]
    mail = settings.get("0900158")
    assert mail is not None
    assert (mail.sender, mail.merchant_name) == ("a@b.example", "La boutique du CD")
    assert Dependencies.from_environment({"ORDERS_TABLE": "orders"}).mail_settings() is NO_MAIL
    missing = Dependencies.from_environment({"ORDERS_TABLE": "orders", "MAIL_SETTINGS_PARAMETER": "/kit/none"})
    with pytest.raises(ConfigurationError, match="the mail settings parameter cannot be read"):
        missing.mail_settings()
