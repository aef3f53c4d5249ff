"""The console's user pool of template.yaml as Cognito's API creates it (the kit's tests and the local stack make
theirs with it): CreateUserPool, CreateUserPoolClient and CreateGroup requests from the resources' resolved
properties, and the pool's MFA setting (SetUserPoolMfaConfig: CloudFormation's ``EnabledMfas``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .template import Resolver, Template

POOL, CLIENT = "ConsoleUserPool", "ConsoleUserPoolClient"
# CloudFormation property → CreateUserPool parameter, for those the API takes as they are.
_POOL_PROPERTIES = (
    "Policies",
    "UsernameAttributes",
    "UsernameConfiguration",
    "AutoVerifiedAttributes",
    "AdminCreateUserConfig",
    "AccountRecoverySetting",
    "DeletionProtection",
    "MfaConfiguration",
)
_CLIENT_PROPERTIES = (
    "ClientName",
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "AuthSessionValidity",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


@dataclass(frozen=True)
class UserPoolRequests:
    pool: dict[str, Any]  # CreateUserPool's parameters
    mfa: dict[str, Any]  # SetUserPoolMfaConfig's, but UserPoolId
    client: dict[str, Any]  # CreateUserPoolClient's, but UserPoolId
    groups: list[dict[str, Any]]  # CreateGroup's, but UserPoolId


def _resolved(resolver: Resolver, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = resolver.resolve(resolver.template.properties_of(logical_id))
    return properties


def user_pool_requests(template: Template, parameters: Mapping[str, Any]) -> UserPoolRequests:
    """The requests that make the console's pool, client and groups as the template declares them for a stack of
    ``parameters`` (StackEnvironment decides the MFA and the deletion protection)."""
    resolver = Resolver(template, parameters=parameters, resources={POOL: "pool"})
    pool = _resolved(resolver, POOL)
    request = {"PoolName": pool["UserPoolName"], **{k: pool[k] for k in _POOL_PROPERTIES if k in pool}}
    enabled = "SOFTWARE_TOKEN_MFA" in (pool.get("EnabledMfas") or [])
    mfa = {"SoftwareTokenMfaConfiguration": {"Enabled": enabled}, "MfaConfiguration": pool.get("MfaConfiguration")}
    client = _resolved(resolver, CLIENT)
    groups = [
        {k: v for k, v in _resolved(resolver, logical_id).items() if k != "UserPoolId"}
        for logical_id in template.resources_of_type("AWS::Cognito::UserPoolGroup")
    ]
    return UserPoolRequests(
        pool=request,
        mfa=mfa,
        client={k: client[k] for k in _CLIENT_PROPERTIES if k in client},
        groups=groups,
    )


def create_user_pool(idp: Any, requests: UserPoolRequests) -> tuple[str, str]:
    """The pool, its MFA setting, its client and its groups made with ``idp`` (a cognito-idp client): the pool's id
    and the client's."""
    pool_id = str(idp.create_user_pool(**requests.pool)["UserPool"]["Id"])
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, **requests.mfa)
    client_id = str(idp.create_user_pool_client(UserPoolId=pool_id, **requests.client)["UserPoolClient"]["ClientId"])
    for group in requests.groups:
        idp.create_group(UserPoolId=pool_id, **group)
    return pool_id, client_id
