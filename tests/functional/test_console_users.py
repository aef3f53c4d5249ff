"""The console's users on moto's Cognito, the pool made from template.yaml: sign-in, its challenges, roles."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders.dependencies import Dependencies
from orders.exceptions import ConfigurationError, SignInRefusedError
from orders.users import MFA_SETUP, NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, Challenge, SignedIn, refused
from tests.support.console import UserPool, totp

PASSWORD = "Correct-Horse-42!"
NEW_PASSWORD = "Battery-Staple-43?"


@pytest.fixture(autouse=True)
def codes_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")  # moto checks the codes, as Cognito does


@pytest.fixture
def pool(aws: Any) -> UserPool:
    """The test stack's pool (MFA optional)."""
    pool: UserPool = aws.users.pool
    return pool


def not_(code: str) -> str:
    """A code of six digits that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def refusal(call: Any) -> str:
    with pytest.raises(SignInRefusedError) as caught:
        call()
    return caught.value.reason


def test_an_operator_signs_in_with_their_password(pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    assert pool.users.sign_in("Ops@Shop.example", PASSWORD) == SignedIn("ops@shop.example", "operator")


def test_operator_beats_viewer_and_a_viewer_is_a_viewer(pool: UserPool) -> None:
    pool.add("both@shop.example", PASSWORD, "viewer", "operator")
    pool.add("reader@shop.example", PASSWORD, "viewer")
    assert pool.users.sign_in("both@shop.example", PASSWORD) == SignedIn("both@shop.example", "operator")
    assert pool.users.sign_in("reader@shop.example", PASSWORD) == SignedIn("reader@shop.example", "viewer")


def test_a_wrong_password_and_an_unknown_user_are_refused_alike(pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    wrong = refusal(lambda: pool.users.sign_in("ops@shop.example", "Not-the-password-1!"))
    unknown = refusal(lambda: pool.users.sign_in("nobody@shop.example", PASSWORD))
    assert wrong == unknown == "credentials"


def test_a_user_in_no_group_is_refused_saying_so(pool: UserPool) -> None:
    pool.add("nogroup@shop.example", PASSWORD)
    assert refusal(lambda: pool.users.sign_in("nogroup@shop.example", PASSWORD)) == "no_role"


def test_the_role_is_read_again_demoted_and_disabled(pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "viewer", "operator")
    assert pool.users.role("ops@shop.example") == "operator"
    pool.idp.admin_remove_user_from_group(UserPoolId=pool.pool_id, Username="ops@shop.example", GroupName="operator")
    assert pool.users.role("ops@shop.example") == "viewer"
    pool.idp.admin_disable_user(UserPoolId=pool.pool_id, Username="ops@shop.example")
    assert refusal(lambda: pool.users.role("ops@shop.example")) == "disabled"
    pool.idp.admin_delete_user(UserPoolId=pool.pool_id, Username="ops@shop.example")
    assert refusal(lambda: pool.users.role("ops@shop.example")) == "credentials"


def test_a_new_user_chooses_a_password_the_policy_takes(pool: UserPool) -> None:
    pool.add("new@shop.example", "Temporary-Pass-1!", "viewer", temporary=True)
    step = pool.users.sign_in("new@shop.example", "Temporary-Pass-1!")
    assert isinstance(step, Challenge)
    assert step.name == NEW_PASSWORD_REQUIRED
    assert refusal(lambda: pool.users.new_password(step, "short")) == "password_policy"
    assert pool.users.new_password(step, NEW_PASSWORD) == SignedIn("new@shop.example", "viewer")
    assert pool.users.sign_in("new@shop.example", NEW_PASSWORD) == SignedIn("new@shop.example", "viewer")


def test_in_production_a_new_user_sets_up_an_authenticator_app(aws: Any) -> None:  # aws: moto running
    pool = UserPool("production")
    pool.add("new@shop.example", "Temporary-Pass-1!", "operator", temporary=True)
    first = pool.users.sign_in("new@shop.example", "Temporary-Pass-1!")
    assert isinstance(first, Challenge)
    setup = pool.users.new_password(first, NEW_PASSWORD)
    assert isinstance(setup, Challenge)
    assert setup.name == MFA_SETUP
    token = pool.users.software_token(setup)
    assert token.uri() == (
        f"otpauth://totp/Merchant%20kit%20console:new@shop.example?secret={token.secret}"
        "&issuer=Merchant%20kit%20console"
    )
    assert refusal(lambda: pool.users.verify_software_token(token, not_(totp(token.secret)))) == "code"
    assert pool.users.verify_software_token(token, totp(token.secret)) == SignedIn("new@shop.example", "operator")


def test_a_user_with_an_authenticator_gives_its_code(pool: UserPool) -> None:
    pool.add("ops@shop.example", PASSWORD, "operator")
    pool.with_authenticator("ops@shop.example", PASSWORD)
    step = pool.users.sign_in("ops@shop.example", PASSWORD)
    assert isinstance(step, Challenge)
    assert step.name == SOFTWARE_TOKEN_MFA
    # The user's authenticator holds the secret Cognito gave at its setup (moto gives every user the same one).
    code = totp(pool.idp.associate_software_token(Session=step.session)["SecretCode"])
    assert refusal(lambda: pool.users.mfa_code(step, not_(code))) == "code"
    assert pool.users.mfa_code(step, code) == SignedIn("ops@shop.example", "operator")


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("NotAuthorizedException", "Incorrect username or password.", "credentials"),
        ("UserNotFoundException", "User does not exist.", "credentials"),
        ("NotAuthorizedException", "Password attempts exceeded", "too_many"),
        ("TooManyRequestsException", "Rate exceeded", "too_many"),
        ("TooManyFailedAttemptsException", "Too many failed attempts", "too_many"),
        ("NotAuthorizedException", "Invalid session for the user, session is expired.", "expired"),
        ("ExpiredCodeException", "Invalid code provided, please request a code again.", "expired"),
        ("CodeMismatchException", "Invalid code received for user", "code"),
        ("InvalidPasswordException", "Password does not conform to policy", "password_policy"),
        ("InternalErrorException", "Internal error", "unavailable"),
    ],
)
def test_cognito_refusals_in_words(code: str, message: str, reason: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": message}}, "AdminInitiateAuth")
    assert refused(error).reason == reason


def test_the_user_pool_is_named_when_it_is_not_configured() -> None:
    deps = Dependencies.from_environment({"ORDERS_TABLE": "orders"})
    with pytest.raises(ConfigurationError, match="CONSOLE_USER_POOL_ID"):
        deps.console_users()
    deps = Dependencies.from_environment({"ORDERS_TABLE": "orders", "CONSOLE_USER_POOL_ID": "eu-west-3_pool"})
    with pytest.raises(ConfigurationError, match="CONSOLE_CLIENT_ID"):
        deps.console_users().sign_in("ops@shop.example", PASSWORD)
