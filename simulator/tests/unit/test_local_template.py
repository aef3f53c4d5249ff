"""The local stack's reading of template.yaml: functions with their Globals, events, and resolved values."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacktools.template import ROOT, Resolver, Template, TemplateError, load_yaml


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def _template(text: str, root: Path = ROOT) -> Template:
    return Template(data=load_yaml(text), path=root / "template.yaml", root=root)


def test_functions_carry_globals_and_their_own_settings(template: Template) -> None:
    cgi2 = template.function("Cgi2Function")
    assert cgi2.code_uri == ROOT / "functions" / "cgi2"
    assert cgi2.handler == "app.lambda_handler"
    assert (cgi2.module_name, cgi2.handler_name) == ("app", "lambda_handler")
    assert cgi2.module_path == ROOT / "functions" / "cgi2" / "app.py"
    assert cgi2.timeout_seconds == 10
    assert cgi2.memory_size == 256
    assert cgi2.environment["ORDERS_TABLE"] == {"Ref": "OrdersTable"}
    assert [(r.method, r.path, r.api, r.authorizer) for r in cgi2.routes] == [("POST", "/confirmation", "Api", "NONE")]


def test_unknown_function(template: Template) -> None:
    with pytest.raises(TemplateError, match="Nope"):
        template.function("Nope")


def test_environment_resolves_to_local_values(template: Template) -> None:
    resolver = Resolver(
        template,
        parameters={
            "TerminalsSecretArn": "arn:local:secret",
            "CheckoutBaseUrl": "http://127.0.0.1:3000",
            "StackEnvironment": "test",
        },
        resources={"OrdersTable": "merchant-kit-orders"},
    )
    env = resolver.resolve(dict(template.function("Cgi1Function").environment))
    assert env == {
        "POWERTOOLS_SERVICE_NAME": "merchant-kit",
        "POWERTOOLS_METRICS_NAMESPACE": "MerchantKit/merchant-kit-local",  # the stack's own
        "STACK_ENVIRONMENT": "test",
        "POWERTOOLS_LOG_LEVEL": "INFO",  # the parameter's default
        "ORDERS_TABLE": "merchant-kit-orders",
        "TERMINALS_SECRET_ARN": "arn:local:secret",
        "CHECKOUT_BASE_URL": "http://127.0.0.1:3000",
        "PENDING_ORDER_RETENTION_DAYS": 180,
        "AWS_ENDPOINT_URL": "",  # declared for `sam local --env-vars`; the local stack sets its own
    }


def test_a_reference_without_a_local_value_is_an_error(template: Template) -> None:
    resolver = Resolver(template)
    with pytest.raises(TemplateError, match="OrdersTable"):
        resolver.resolve({"Ref": "OrdersTable"})
    with pytest.raises(TemplateError, match="no default"):
        resolver.resolve({"Ref": "TerminalsSecretArn"})
    with pytest.raises(TemplateError, match=r"OrdersTable\.Arn"):
        resolver.resolve({"Fn::GetAtt": ["OrdersTable", "Arn"]})


def test_intrinsic_functions() -> None:
    template = _template(
        """
        Parameters:
          Stage: {Type: String, Default: v1}
          Domain: {Type: String, Default: ""}
        Conditions:
          HasDomain: !Not [!Equals [!Ref Domain, ""]]
          Both: !And [!Condition HasDomain, !Equals [!Ref Stage, v1]]
        Mappings:
          Sizes: {small: {memory: 128}}
        Resources:
          Table: {Type: AWS::DynamoDB::Table}
        """
    )
    resolver = Resolver(template, resources={"Table": "t"}, attributes={"Table.Arn": "arn:t"})
    assert resolver.resolve({"Fn::Sub": "https://${Table}.${AWS::Region}.${AWS::URLSuffix}/${Stage}"}) == (
        "https://t.eu-west-3.amazonaws.com/v1"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}-${Table.Arn}-${!Literal}", {"A": {"Ref": "Stage"}}]}) == (
        "v1-arn:t-${Literal}"
    )
    assert resolver.resolve({"Fn::If": ["HasDomain", "custom", "default"]}) == "default"
    assert resolver.resolve({"A": {"Fn::If": ["HasDomain", "x", {"Ref": "AWS::NoValue"}]}, "B": 1}) == {"B": 1}
    assert resolver.resolve({"Fn::Join": ["/", ["a", {"Ref": "Stage"}]]}) == "a/v1"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}) == "b"
    assert resolver.resolve({"Fn::FindInMap": ["Sizes", "small", "memory"]}) == 128
    assert resolver.resolve({"Fn::GetAtt": "Table.Arn"}) == "arn:t"
    overridden = Resolver(template, parameters={"Domain": "pay.example"})
    assert overridden.resolve({"Fn::If": ["Both", "custom", "default"]}) == "custom"


def test_schedules_and_implicit_api(tmp_path: Path) -> None:
    template = _template(
        """
        Globals:
          Api:
            Auth: {DefaultAuthorizer: AWS_IAM}
        Resources:
          Sweeper:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: sweeper/
              Handler: handlers.sweep.run
              Events:
                Every5:
                  Type: Schedule
                  Properties: {Schedule: rate(5 minutes)}
                Paused:
                  Type: ScheduleV2
                  Properties: {ScheduleExpression: rate(1 hour), State: DISABLED, Input: '{"x": 1}'}
                Manual:
                  Type: Api
                  Properties: {Path: /sweep, Method: post}
        """,
        root=tmp_path,
    )
    (sweeper,) = template.functions()
    assert sweeper.module_path == tmp_path / "sweeper" / "handlers" / "sweep.py"
    assert sweeper.handler_name == "run"
    assert sweeper.timeout_seconds == 3, "Lambda's default when neither Globals nor the function says"
    assert [(s.event, s.expression, s.enabled, s.input) for s in sweeper.schedules] == [
        ("Every5", "rate(5 minutes)", True, None),
        ("Paused", "rate(1 hour)", False, '{"x": 1}'),
    ]
    (route,) = sweeper.routes
    assert (route.method, route.api, route.authorizer) == ("POST", "ServerlessRestApi", "AWS_IAM")


def test_rest_api_id_must_be_a_ref() -> None:
    template = _template(
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: f/
              Handler: app.handler
              Events:
                E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: some-id}}
        """
    )
    with pytest.raises(TemplateError, match="RestApiId"):
        template.functions()


def test_missing_template(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read"):
        Template.load(tmp_path / "nope.yaml")


def test_not_a_mapping() -> None:
    with pytest.raises(TemplateError):
        load_yaml("- a\n- b\n")
