"""Test and production apart: named deploy environments, metrics and alarms per stack, no test terminal in production.

Two stacks in one account share CloudWatch: an alarm of the production stack must never watch what a test stack
emits. A production stack must never take a test terminal's ``payetest`` for money.
"""

from __future__ import annotations

import json
import shlex
import tomllib
from typing import Any

import pytest

from orders.dependencies import Dependencies, SecretTerminals
from orders.exceptions import ConfigurationError
from stacktools.template import ROOT, Resolver, Template
from tests.support.aws import terminals_config

ENVIRONMENTS = {"test": "test", "prod": "production"}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def overrides(deploy: dict[str, Any]) -> dict[str, str]:
    """``parameter_overrides`` as SAM reads it: Name=Value pairs, shell-quoted."""
    return dict(pair.split("=", 1) for pair in shlex.split(deploy["parameter_overrides"]))


# -- samconfig.toml: `sam deploy --config-env test|prod` -----------------------------------------------------------


def test_each_environment_deploys_its_own_stack(samconfig: dict[str, Any], template: Template) -> None:
    """SAM CLI developer guide, "AWS SAM CLI configuration file": a table ``[<env>.<command>.parameters]`` is read
    by ``sam <command> --config-env <env>``, and ``parameter_overrides`` holds Name=Value pairs."""
    stacks = set()
    for env, stack_environment in ENVIRONMENTS.items():
        deploy = samconfig[env]["deploy"]["parameters"]
        stacks.add(deploy["stack_name"])
        assert deploy["resolve_s3"] is True, env
        assert deploy["s3_prefix"] == deploy["stack_name"], env
        assert deploy["capabilities"] == "CAPABILITY_IAM", env
        assert deploy["confirm_changeset"] is True, env
        given = overrides(deploy)
        assert given["StackEnvironment"] == stack_environment, env
        assert set(given) <= set(template.parameters), f"{env}: a parameter the template does not have"
    assert len(stacks) == 2, "the two environments deploy two stacks"
    assert "default" not in samconfig or "deploy" not in samconfig["default"], "no deploy without --config-env"


def test_the_stack_environment_is_asked_never_assumed(template: Template) -> None:
    parameter = template.parameters["StackEnvironment"]
    assert parameter["AllowedValues"] == ["test", "production"]
    assert "Default" not in parameter, "a stack is test or production because the deployer said so"
    variables = template.globals_for("Function")["Environment"]["Variables"]
    assert variables["STACK_ENVIRONMENT"] == {"Ref": "StackEnvironment"}
    for function in template.functions():
        assert function.environment["STACK_ENVIRONMENT"] == {"Ref": "StackEnvironment"}, function.logical_id


# -- metrics and alarms per stack ----------------------------------------------------------------------------------


def test_the_metrics_namespace_names_the_stack(template: Template) -> None:
    namespace = template.globals_for("Function")["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    resolved = {
        Resolver(template, stack_name=stack).resolve(namespace) for stack in ("merchant-kit", "merchant-kit-test")
    }
    assert resolved == {"MerchantKit/merchant-kit", "MerchantKit/merchant-kit-test"}


def _stack_specific(value: Any) -> bool:
    """True when ``value`` differs from one stack to another: it names the stack or one of its resources."""
    text = json.dumps(value)
    return "AWS::StackName" in text or '"Ref"' in text or '"Fn::GetAtt"' in text


def test_no_alarm_watches_another_stack(template: Template) -> None:
    """An alarm watches a metric of its own stack only: ours are in the stack's namespace, AWS's are filtered by
    a dimension naming one of the stack's resources (its function, its queue, its API)."""
    alarms = template.resources_of_type("AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        metrics = properties.get("Metrics") or [{"MetricStat": {"Metric": properties}}]
        for query in metrics:
            if "MetricStat" not in query:
                continue  # an expression over the queries checked here
            metric = query["MetricStat"]["Metric"]
            if str(metric["Namespace"]).startswith("AWS/"):
                assert any(_stack_specific(d["Value"]) for d in metric["Dimensions"]), name
            else:
                assert metric["Namespace"] == {"Fn::Sub": "MerchantKit/${AWS::StackName}"}, name


# -- no test terminal in a production stack --------------------------------------------------------------------------


class FakeSecrets:
    """The one Secrets Manager call the terminals provider makes."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.text = json.dumps(config)

    def get_secret_value(self, **_: Any) -> dict[str, str]:
        return {"SecretString": self.text}


def _environment(stack_environment: str) -> dict[str, str]:
    return {"ORDERS_TABLE": "orders", "TERMINALS_SECRET_ARN": "arn:secret", "STACK_ENVIRONMENT": stack_environment}


def test_a_production_stack_refuses_a_test_terminal() -> None:
    deps = Dependencies.from_environment(_environment("production"))
    assert isinstance(deps.terminals, SecretTerminals)
    production = terminals_config()
    terminals = SecretTerminals("arn:secret", client=FakeSecrets(production), stack_environment="production")
    with pytest.raises(ConfigurationError, match=r"terminals\.0900157\.environment: 'test'.*production stack"):
        terminals()
    only_production = {"default_tpe": "0900160", "terminals": {"0900160": production["terminals"]["0900160"]}}
    terminals = SecretTerminals("arn:secret", client=FakeSecrets(only_production), stack_environment="production")
    assert terminals().get().tpe == "0900160"


def test_the_stack_environment_reaches_the_terminals_provider() -> None:
    for stack_environment in ("test", "production"):
        deps = Dependencies.from_environment(_environment(stack_environment))
        assert isinstance(deps.terminals, SecretTerminals)
        assert deps.terminals.stack_environment == stack_environment


def test_a_test_stack_takes_test_and_production_terminals() -> None:
    terminals = SecretTerminals("arn:secret", client=FakeSecrets(terminals_config()), stack_environment="test")
    assert {"0900157", "0900160"} <= set(terminals().by_tpe)


@pytest.mark.parametrize("wrong", ["prod", "Production", "staging"])
def test_an_unknown_stack_environment_is_refused_when_the_dependencies_are_built(wrong: str) -> None:
    with pytest.raises(ConfigurationError, match=f"STACK_ENVIRONMENT: {wrong!r}"):
        Dependencies.from_environment(_environment(wrong))
