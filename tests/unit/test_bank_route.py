"""The bank's route, whatever floods it: a web ACL on the stage, the bank's addresses, CGI2's concurrency, and the
alarms that say the bank did not get through.

moto evaluates no WAF and delivers no alarm: these tests hold the template to the AWS documentation each rule
follows (named in each test).
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest

from stacktools.template import ROOT, Resolver, Template

BANK = {"WebAcl": "true", "BankAddresses": "192.0.2.10/32,198.51.100.0/28"}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def _web_acl(template: Template, parameters: dict[str, str]) -> dict[str, Any]:
    """The web ACL's properties as a stack deployed with ``parameters`` would hold them."""
    resolver = Resolver(
        template,
        parameters=parameters,
        attributes={"BankAddressSet.Arn": "arn:bank-set"},
        stack_name="merchant-kit",
    )
    assert resolver.condition(template.resources["PublicRoutesWebAcl"]["Condition"])
    return dict(resolver.resolve(template.resources["PublicRoutesWebAcl"]["Properties"]))


def _paths(statement: dict[str, Any]) -> set[tuple[str, str]]:
    """(constraint, string) of every path match in ``statement``."""
    text = json.dumps(statement)
    return set(re.findall(r'"PositionalConstraint": "(\w+)", "SearchString": "([^"]+)"', text))


# -- the web ACL ----------------------------------------------------------------------------------------------------


def test_the_web_acl_is_a_choice_off_by_default(template: Template) -> None:
    assert template.parameters["WebAcl"]["AllowedValues"] == ["true", "false"]
    assert not Resolver(template).condition("HasWebAcl"), "off by default (it costs about 6 USD a month)"
    for name in ("PublicRoutesWebAcl", "WebAclAssociation"):
        assert template.resources[name]["Condition"] == "HasWebAcl", name
    assert template.resources["BankAddressSet"]["Condition"] == "HasBankAddresses"
    assert not Resolver(template, parameters={"WebAcl": "true"}).condition("HasBankAddresses")
    assert not Resolver(template, parameters={"BankAddresses": "192.0.2.10/32"}).condition("HasBankAddresses")
    assert Resolver(template, parameters=BANK).condition("HasBankAddresses")


def test_the_web_acl_is_on_the_stage(template: Template) -> None:
    """AWS WAF API reference, AssociateWebACL: an API Gateway stage is named
    ``arn:aws:apigateway:{region}::/restapis/{api-id}/stages/{stage-name}`` (no account)."""
    association = template.resources["WebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["PublicRoutesWebAcl", "Arn"]}
    arn = association["ResourceArn"]["Fn::Sub"]
    assert arn == "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Api.Stage}"
    web_acl = template.resources["PublicRoutesWebAcl"]["Properties"]
    assert web_acl["Scope"] == "REGIONAL", "API Gateway's web ACLs are regional"
    assert web_acl["DefaultAction"] == {"Allow": {}}


def test_each_source_ip_is_rate_limited_on_the_public_routes(template: Template) -> None:
    """AWS WAF developer guide, "Rate-based rule statement" and its high-level settings: the requests of each
    aggregation instance (``AggregateKeyType: IP``: each source address) are counted over an evaluation window of
    60, 120, 300 or 600 seconds, the lowest limit is 10, and a scope-down statement narrows what is counted."""
    parameter = template.parameters["WebAclRateLimit"]
    assert parameter["MinValue"] >= 10
    (rule,) = [r for r in _web_acl(template, {"WebAcl": "true"})["Rules"] if r["Name"] == "RatePerSourceIp"]
    assert rule["Action"] == {"Block": {}}
    rate = rule["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "IP"
    assert rate["EvaluationWindowSec"] in (60, 120, 300, 600)
    assert rate["Limit"] == parameter["Default"]
    # The public routes only: a merchant backend posting orders from one address is never blocked.
    assert _paths(rate["ScopeDownStatement"]) == {("ENDS_WITH", "/confirmation"), ("CONTAINS", "/checkout/")}
    assert "IPSetReferenceStatement" not in json.dumps(rate), "no bank set without BankAddresses"


def test_with_the_banks_addresses_only_the_bank_posts_confirmations_and_it_is_never_rate_limited(
    template: Template,
) -> None:
    """AWS WAF developer guide, "IP set match rule statement": an IPSetReferenceStatement matches a request whose
    origin is in the set; a NotStatement negates it."""
    rules = {r["Name"]: r for r in _web_acl(template, BANK)["Rules"]}
    assert [r["Priority"] for r in rules.values()] == sorted(r["Priority"] for r in rules.values())
    only_bank = rules["ConfirmationFromTheBankOnly"]
    assert only_bank["Priority"] < rules["RatePerSourceIp"]["Priority"]
    assert only_bank["Action"] == {"Block": {}}
    route, not_bank = only_bank["Statement"]["AndStatement"]["Statements"]
    assert _paths(route) == {("ENDS_WITH", "/confirmation")}
    assert not_bank == {"NotStatement": {"Statement": {"IPSetReferenceStatement": {"Arn": "arn:bank-set"}}}}
    scope = rules["RatePerSourceIp"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["AndStatement"]
    assert not_bank in scope["Statements"], "the bank's addresses are never counted"
    bank_set = template.resources["BankAddressSet"]["Properties"]
    assert bank_set["Addresses"] == {"Ref": "BankAddresses"}
    assert (bank_set["Scope"], bank_set["IPAddressVersion"]) == ("REGIONAL", "IPV4")
    assert template.parameters["BankAddresses"]["Type"] == "CommaDelimitedList"


# -- CGI2's concurrency ---------------------------------------------------------------------------------------------


def test_production_reserves_concurrency_for_cgi2_and_puts_the_web_acl_on() -> None:
    """AWS Lambda developer guide, "Configuring reserved concurrency": reserved concurrency is kept for the function
    alone (no other function of the account can take it), and an account keeps 100 unreserved, so the test
    environment (often a small account) reserves none."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))

    def given(env: str) -> dict[str, str]:
        pairs = shlex.split(config[env]["deploy"]["parameters"]["parameter_overrides"])
        return dict(pair.split("=", 1) for pair in pairs)

    production = given("prod")
    assert int(production["Cgi2ReservedConcurrency"]) >= 10
    assert production["WebAcl"] == "true"
    assert "Cgi2ReservedConcurrency" not in given("test")


# -- alarms: the bank did not get through ---------------------------------------------------------------------------


def test_4xx_answers_of_the_confirmation_route_are_alarmed(template: Template) -> None:
    """API Gateway developer guide, "Amazon API Gateway dimensions and metrics": 4XXError (429 throttled included)
    per ApiName, Method, Resource and Stage, sent only for a method with detailed CloudWatch metrics enabled."""
    alarm = template.resources["ConfirmationRouteRefusedAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("AWS/ApiGateway", "4XXError", "Sum")
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "ApiName": {"Ref": "AWS::StackName"},
        "Method": "POST",
        "Resource": "/confirmation",
        "Stage": {"Ref": "StageName"},
    }
    assert alarm["Threshold"] == 1, "CGI2 never answers 4XX: each one is a confirmation or a flood kept out"
    (setting,) = [s for s in template.properties_of("Api")["MethodSettings"] if s["ResourcePath"] == "/~1confirmation"]
    assert (setting["HttpMethod"], setting["MetricsEnabled"]) == ("POST", True)
    assert ("POST", "/confirmation") in {(r.method, r.path) for r in template.routes()}


def test_no_confirmation_while_orders_are_created_is_alarmed(template: Template) -> None:
    """CloudWatch user guide, "Using metric math" and "Create a CloudWatch alarm based on a metric math expression":
    IF, AND and comparisons give 1 or 0, FILL(m, 0) gives 0 where a metric has no data (CGI2 silent emits none);
    one expression has ReturnData. A period times the evaluation periods is at most one day."""
    alarm = template.resources["NoConfirmationsAlarm"]["Properties"]
    queries = {query["Id"]: query for query in alarm["Metrics"]}
    (returned,) = [q for q in queries.values() if q.get("ReturnData")]
    assert returned["Expression"] == "IF(created > 0 AND FILL(applied, 0) + FILL(queued, 0) == 0, 1, 0)"
    metrics = {name: q["MetricStat"] for name, q in queries.items() if "MetricStat" in q}
    assert {name: stat["Metric"]["MetricName"] for name, stat in metrics.items()} == {
        "created": "OrdersCreated",
        "applied": "Confirmations",
        "queued": "ConfirmationsQueued",
    }
    hours = template.parameters["ConfirmationSilenceHours"]
    for value in hours["AllowedValues"]:
        resolver = Resolver(template, parameters={"ConfirmationSilenceHours": value})
        for stat in metrics.values():
            assert resolver.resolve(stat["Period"]) == int(value) * 3600
            assert stat["Stat"] == "Sum"
    assert max(int(value) for value in hours["AllowedValues"]) * alarm["EvaluationPeriods"] <= 24
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["TreatMissingData"] == "notBreaching", "no orders at all: nothing to say"
