"""The console's users: an Amazon Cognito user pool, signed in on the server (the console's function) alone.

Cognito's "Admin authentication flow" (Amazon Cognito developer guide, "Authentication flows": server-side
authentication with ``AdminInitiateAuth`` and ``ADMIN_USER_PASSWORD_AUTH``, then ``AdminRespondToAuthChallenge``):
the app client has no secret and allows only ``ALLOW_ADMIN_USER_PASSWORD_AUTH`` and ``ALLOW_REFRESH_TOKEN_AUTH``, so
a password is tried through the console (behind the stack's web ACL) and never against Cognito's public endpoint.
A sign-in is a sequence of steps, each answered with the next one (``Challenge``) or the user signed in
(``SignedIn``):

- ``NEW_PASSWORD_REQUIRED``: a user an administrator created chooses a password at the first sign-in;
- ``MFA_SETUP``: the pool requires MFA (production) and the user has none yet: ``AssociateSoftwareToken`` gives a
  secret for the user's authenticator app, ``VerifySoftwareToken`` takes its first code (Cognito developer guide,
  "TOTP software token MFA");
- ``SOFTWARE_TOKEN_MFA``: the code of the user's authenticator app.

No token Cognito answers is kept: the console keeps its own session (``console.sessions``). A user's role is the
group they are in: ``operator`` (acts) beats ``viewer`` (reads); in neither, the user is refused. ``role`` reads it
again (the user still enabled, still in the group): the console asks before every action.

Cognito's refusals become ``SignInRefusedError`` with a ``reason`` the console says in words; a wrong password and
an unknown user are the same reason (the pool's client also says so: ``PreventUserExistenceErrors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from botocore.exceptions import BotoCoreError, ClientError

from .exceptions import ConfigurationError, SignInRefusedError

ROLES = ("viewer", "operator")  # weakest first: the strongest group a user is in is their role
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 (a challenge's name, no password)
MFA_SETUP = "MFA_SETUP"
SOFTWARE_TOKEN_MFA = "SOFTWARE_TOKEN_MFA"  # noqa: S105 (a challenge's name)
CHALLENGES = (NEW_PASSWORD_REQUIRED, MFA_SETUP, SOFTWARE_TOKEN_MFA)
ISSUER = "Merchant kit console"

# Cognito's error codes (its API reference's "Errors" of each call), by what the user is told.
REASONS = {
    "NotAuthorizedException": "credentials",  # wrong password, unknown user (PreventUserExistenceErrors), disabled
    "UserNotFoundException": "credentials",  # never told apart from a wrong password
    "PasswordResetRequiredException": "reset_required",
    "UserNotConfirmedException": "credentials",
    "TooManyRequestsException": "too_many",
    "TooManyFailedAttemptsException": "too_many",
    "LimitExceededException": "too_many",
    "CodeMismatchException": "code",
    "EnableSoftwareTokenMFAException": "code",
    "ExpiredCodeException": "expired",
    "InvalidPasswordException": "password_policy",
    "PasswordHistoryPolicyViolationException": "password_policy",
}
# NotAuthorizedException's messages that are not a wrong password: the sign-in took too long, or too many tries.
EXPIRED_SESSION = "session is expired"
ATTEMPTS_EXCEEDED = "attempts exceeded"


@dataclass(frozen=True)
class SignedIn:
    email: str
    role: str  # viewer or operator


@dataclass(frozen=True)
class Challenge:
    """The next step of a sign-in: ``name`` one of ``CHALLENGES``; ``session`` Cognito's, for the answer."""

    name: str
    email: str
    session: str


@dataclass(frozen=True)
class SoftwareToken:
    """The secret of a new authenticator app entry, and the Cognito session its first code is verified with."""

    secret: str
    email: str
    session: str

    def uri(self, issuer: str = ISSUER) -> str:
        """The ``otpauth://`` URI authenticator apps take (Google Authenticator's "Key Uri Format")."""
        label = quote(f"{issuer}:{self.email}", safe="@:")
        return f"otpauth://totp/{label}?" + urlencode({"secret": self.secret, "issuer": issuer}, quote_via=quote)


Step = SignedIn | Challenge


def refused(exc: ClientError) -> SignInRefusedError:
    """Cognito's refusal in the console's words (its reason), the user's input never repeated."""
    code = str(exc.response.get("Error", {}).get("Code", ""))
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    reason = REASONS.get(code, "unavailable")
    if code == "NotAuthorizedException" and EXPIRED_SESSION in message:
        reason = "expired"
    elif code == "NotAuthorizedException" and ATTEMPTS_EXCEEDED in message:
        reason = "too_many"
    return SignInRefusedError(reason, f"Cognito {code or 'error'}")


class Users:
    """The pool's users, through Cognito's admin API (the console function's role may call it on this pool only)."""

    def __init__(self, user_pool_id: str, client_id: str, client: Any = None) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._client = client

    @property
    def client(self) -> Any:
        if not self.user_pool_id:
            raise ConfigurationError("the environment variable CONSOLE_USER_POOL_ID is not set")
        if not self.client_id:
            raise ConfigurationError("the environment variable CONSOLE_CLIENT_ID is not set")
        if self._client is None:
            import boto3

            self._client = boto3.client("cognito-idp")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            raise refused(exc) from None
        except BotoCoreError as exc:
            raise SignInRefusedError("unavailable", f"Cognito {operation} failed: {exc}") from None
        return answer

    def sign_in(self, email: str, password: str) -> Step:
        """The first step: the e-mail and password (``ADMIN_USER_PASSWORD_AUTH``). The pool's user names are not
        case-sensitive (``UsernameConfiguration``): the e-mail is sent in lower case."""
        email = email.strip().lower()
        if not email or not password:
            raise SignInRefusedError("credentials", "no e-mail or no password")
        answer = self._call(
            "admin_initiate_auth",
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        return self._next(email, answer)

    def new_password(self, challenge: Challenge, password: str) -> Step:
        """``NEW_PASSWORD_REQUIRED`` answered with the password the user chose."""
        return self._answer(challenge, NEW_PASSWORD_REQUIRED, {"NEW_PASSWORD": password})

    def software_token(self, challenge: Challenge) -> SoftwareToken:
        """``MFA_SETUP``: a new authenticator secret for the user (shown once, as text and as an otpauth URI)."""
        if challenge.name != MFA_SETUP:
            raise SignInRefusedError("expired", f"{challenge.name} is not {MFA_SETUP}")
        answer = self._call("associate_software_token", Session=challenge.session)
        return SoftwareToken(str(answer["SecretCode"]), challenge.email, str(answer.get("Session") or ""))

    def verify_software_token(self, token: SoftwareToken, code: str) -> Step:
        """The authenticator's first code: MFA set up, then ``MFA_SETUP`` answered with the verified session."""
        answer = self._call("verify_software_token", Session=token.session, UserCode=code, FriendlyDeviceName="console")
        if answer.get("Status") != "SUCCESS":
            raise SignInRefusedError("code", f"VerifySoftwareToken answered {answer.get('Status')}")
        challenge = Challenge(MFA_SETUP, token.email, str(answer.get("Session") or ""))
        return self._answer(challenge, MFA_SETUP, {})

    def mfa_code(self, challenge: Challenge, code: str) -> Step:
        """``SOFTWARE_TOKEN_MFA`` answered with the authenticator's code."""
        return self._answer(challenge, SOFTWARE_TOKEN_MFA, {"SOFTWARE_TOKEN_MFA_CODE": code})

    def _answer(self, challenge: Challenge, name: str, responses: dict[str, str]) -> Step:
        if challenge.name != name:
            raise SignInRefusedError("expired", f"{challenge.name} is not {name}")
        answer = self._call(
            "admin_respond_to_auth_challenge",
            UserPoolId=self.user_pool_id,
            ClientId=self.client_id,
            ChallengeName=name,
            Session=challenge.session,
            ChallengeResponses={"USERNAME": challenge.email, **responses},
        )
        return self._next(challenge.email, answer)

    def _next(self, email: str, answer: dict[str, Any]) -> Step:
        name = answer.get("ChallengeName")
        if name:
            if name not in CHALLENGES:
                raise SignInRefusedError("unsupported", f"Cognito asked {name}, which the console does not answer")
            return Challenge(str(name), email, str(answer.get("Session") or ""))
        if "AuthenticationResult" not in answer:
            raise SignInRefusedError("unavailable", "Cognito answered neither a challenge nor a sign-in")
        return self.signed_in(email)

    def signed_in(self, email: str) -> SignedIn:
        """Who ``email`` is now: their e-mail as the pool holds it and their role (refused when disabled or in no
        group)."""
        user = self._call("admin_get_user", UserPoolId=self.user_pool_id, Username=email)
        if not user.get("Enabled", True):
            raise SignInRefusedError("disabled", "the user is disabled")
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes") or []}
        groups = self._call("admin_list_groups_for_user", UserPoolId=self.user_pool_id, Username=email, Limit=60)
        names = {str(g.get("GroupName")) for g in groups.get("Groups") or []}
        held = [role for role in ROLES if role in names]
        if not held:
            raise SignInRefusedError("no_role", "the user is in neither the viewer nor the operator group")
        return SignedIn(str(attributes.get("email") or email).lower(), held[-1])

    def role(self, email: str) -> str:
        """``email``'s role now (``SignInRefusedError`` if they are disabled, gone, or in no group)."""
        return self.signed_in(email).role
