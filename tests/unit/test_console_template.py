"""The console's resources in template.yaml: its users (Cognito), its function, its routes, its permissions."""

from __future__ import annotations

from typing import Any

import pytest

from stacktools.cognito import user_pool_requests
from stacktools.template import ROOT, Template


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def statements(template: Template, function: str) -> dict[str, dict[str, Any]]:
    policies = template.properties_of(function)["Policies"]
    return {
        s["Sid"]: s
        for p in policies
        if isinstance(p, dict) and "Statement" in p
        for s in p["Statement"]
        if isinstance(s, dict)
    }


def test_the_user_pool_signs_in_by_e_mail_created_by_an_administrator_with_a_strong_password(
    template: Template,
) -> None:
    pool = template.properties_of("ConsoleUserPool")
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["AccountRecoverySetting"] == {"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]}
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 14
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))


@pytest.mark.parametrize(
    ("environment", "mfa", "protection"), [("production", "ON", "ACTIVE"), ("test", "OPTIONAL", "INACTIVE")]
)
def test_mfa_is_required_and_the_pool_protected_in_production_only(
    template: Template, environment: str, mfa: str, protection: str
) -> None:
    requests = user_pool_requests(template, {"StackEnvironment": environment})
    assert requests.pool["MfaConfiguration"] == mfa
    assert requests.pool["DeletionProtection"] == protection
    assert requests.mfa == {"SoftwareTokenMfaConfiguration": {"Enabled": True}, "MfaConfiguration": mfa}


def test_the_client_allows_the_admin_flow_alone_and_never_says_who_exists(template: Template) -> None:
    # Amazon Cognito developer guide, "Authentication flows" (admin authentication): no secret, no SRP or
    # USER_PASSWORD_AUTH a browser could use against Cognito's public endpoint.
    client = template.properties_of("ConsoleUserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["ExplicitAuthFlows"] == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    assert client["AccessTokenValidity"] == client["IdTokenValidity"] == 5
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes"


def test_the_roles_are_two_groups_and_the_first_user_an_operator(template: Template) -> None:
    groups = {g["Properties"]["GroupName"] for g in template.resources_of_type("AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"viewer", "operator"}
    assert template.parameters["ConsoleFirstUserEmail"]["Default"] == ""
    user = template.resources["ConsoleFirstUser"]
    assert user["Condition"] == "HasConsoleFirstUser"
    attachment = template.resources["ConsoleFirstUserIsOperator"]
    assert attachment["Condition"] == "HasConsoleFirstUser"
    assert attachment["Properties"]["GroupName"] == {"Ref": "ConsoleOperatorGroup"}


def test_the_console_runs_on_the_three_layers_with_its_users_in_its_environment(template: Template) -> None:
    console = template.function("ConsoleFunction")
    assert console.properties["Layers"] == [{"Ref": "SealingLayer"}, {"Ref": "OrdersLayer"}, {"Ref": "ConsoleLayer"}]
    variables = console.properties["Environment"]["Variables"]
    assert variables["CONSOLE_USER_POOL_ID"] == {"Ref": "ConsoleUserPool"}
    assert variables["CONSOLE_CLIENT_ID"] == {"Ref": "ConsoleUserPoolClient"}
    assert {(r.method, r.path, r.authorizer, r.api) for r in console.routes} == {
        ("GET", "/console", "NONE", "Api"),
        ("GET", "/console/{proxy+}", "NONE", "Api"),
        ("POST", "/console/{proxy+}", "NONE", "Api"),
    }


def test_the_console_calls_cognito_on_its_pool_only_and_writes_only_its_sessions_and_operations(
    template: Template,
) -> None:
    granted = statements(template, "ConsoleFunction")
    users = granted["ConsoleUsers"]
    assert users["Resource"] == {"Fn::GetAtt": ["ConsoleUserPool", "Arn"]}
    assert sorted(users["Action"]) == [
        "cognito-idp:AdminGetUser",
        "cognito-idp:AdminInitiateAuth",
        "cognito-idp:AdminListGroupsForUser",
        "cognito-idp:AdminRespondToAuthChallenge",
    ]
    leading = {
        sid: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for sid, s in granted.items()
        if "Condition" in s and "ForAllValues:StringLike" in s["Condition"]
    }
    assert leading == {
        "Operations": ["ORDER#*", "IDEMPOTENCY#*", "UNMATCHED#*"],
        "IdempotencyKeys": ["IDEMPOTENCY#*"],
        "OrderMails": ["MAIL#*"],
        "ConsoleSessions": ["CONSOLESESSION#*"],
    }
    written = {a for s in granted.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert not {a for a in written if a.startswith("s3:Put") or a.startswith("cognito-idp:AdminCreate")}


def test_the_web_acl_limits_the_sign_ins_of_each_source_ip(template: Template) -> None:
    rules = template.properties_of("PublicRoutesWebAcl")["Rules"]
    rule = next(r for r in rules if isinstance(r, dict) and r.get("Name") == "ConsoleSignInRatePerSourceIp")
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement["Limit"] == {"Ref": "ConsoleSignInRateLimit"}
    assert statement["AggregateKeyType"] == "IP"
    matches = [s["ByteMatchStatement"] for s in statement["ScopeDownStatement"]["AndStatement"]["Statements"]]
    assert {(m["PositionalConstraint"], m["SearchString"]) for m in matches} == {
        ("EXACTLY", "POST"),
        ("ENDS_WITH", "/console/sign-in"),
    }
