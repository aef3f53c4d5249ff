"""Signing in and out: the e-mail and password, then the steps Cognito asks for (a new password, setting up an
authenticator app, its code), each a page of its own (``orders.users`` speaks to Cognito).

Between the steps, the sign-in under way (the e-mail, the step, Cognito's session for it and, while an
authenticator is set up, its secret) is kept in the browser, in a cookie no script reads (``HttpOnly``), sent to
the console alone (``__Host-``, ``Secure``, ``SameSite=Strict``) for ``SIGN_IN_SECONDS``: it is worth nothing
without the user's password already checked, and Cognito holds the session to the user it was given for. Signed
in, the console opens its own session (``console.sessions``: a new cookie at each sign-in) and keeps no token of
Cognito's. After signing in, the browser goes to ``next`` when it is one of the console's own pages, never
elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from orders.exceptions import SignInRefusedError
from orders.users import MFA_SETUP, NEW_PASSWORD_REQUIRED, SOFTWARE_TOKEN_MFA, Challenge, SignedIn, SoftwareToken, Step

from ..http import Response
from ..routing import SIGN_IN, Context, Route, form_field
from ..sessions import COOKIE, LIFETIME, cookie_header

SIGN_IN_COOKIE = "__Host-console_signin"
SIGN_IN_SECONDS = 300  # the app client's AuthSessionValidity (5 minutes)
HOME = "/console"
# A console page: /console, or /console/ and path segments of letters, digits, - _ . ~ (no "..", no "//", no
# scheme, no host: never another site).
NEXT = re.compile(r"/console(/[A-Za-z0-9_~-][A-Za-z0-9_.~-]*)*/?")
CODE = r"[0-9]{6}"
STEP_PAGES = {
    NEW_PASSWORD_REQUIRED: "/console/sign-in/new-password",
    MFA_SETUP: "/console/sign-in/authenticator",
    SOFTWARE_TOKEN_MFA: "/console/sign-in/code",
}
STEP_TEMPLATES = {
    NEW_PASSWORD_REQUIRED: "sign_in_new_password.html",
    MFA_SETUP: "sign_in_authenticator.html",
    SOFTWARE_TOKEN_MFA: "sign_in_code.html",
}


def safe_next(value: str | None) -> str:
    """``value`` if it is a console page, else the console's home."""
    return value if value and NEXT.fullmatch(value) else HOME


def _clear(name: str) -> str:
    return f"{name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"


def _under_way(ctx: Context) -> dict[str, str] | None:
    """The sign-in under way in this browser, if any."""
    text = ctx.request.cookies.get(SIGN_IN_COOKIE, "")
    try:
        data = json.loads(base64.urlsafe_b64decode(text.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("email", "step", "session")):
        return None
    if data["step"] not in STEP_PAGES:
        return None
    return {str(k): str(v) for k, v in data.items()}


def _refused(ctx: Context, template: str, exc: SignInRefusedError, **values: str) -> Response:
    return ctx.page(template, status=401, error=ctx.t(f"account.refused.{exc.reason}"), **values)


def _advance(ctx: Context, step: Step, next_page: str) -> Response:
    """Signed in: the session opened, the browser sent on; else the next step's page."""
    if isinstance(step, SignedIn):
        ctx.sessions.close(ctx.request.cookies.get(COOKIE, ""))  # a new session at each sign-in, never the old one
        cookie, _ = ctx.sessions.open(step.email, step.role, ctx.now)
        ctx.cookies += [cookie_header(cookie, int(LIFETIME.total_seconds())), _clear(SIGN_IN_COOKIE)]
        return ctx.redirect(next_page)
    state = {"email": step.email, "step": step.name, "session": step.session, "next": next_page}
    if step.name == MFA_SETUP:
        token = ctx.deps.console_users().software_token(step)
        state.update(session=token.session, secret=token.secret)
    value = base64.urlsafe_b64encode(json.dumps(state).encode()).decode("ascii")
    ctx.cookies.append(
        f"{SIGN_IN_COOKIE}={value}; Path=/; Max-Age={SIGN_IN_SECONDS}; Secure; HttpOnly; SameSite=Strict"
    )
    return ctx.redirect(STEP_PAGES[step.name])


def sign_in_page(ctx: Context) -> Response:
    next_page = safe_next(ctx.request.query.get("next"))
    if ctx.session is not None:
        return ctx.redirect(next_page)
    return ctx.page("sign_in.html", email="", next=next_page, error="")


def sign_in(ctx: Context) -> Response:
    next_page = safe_next(ctx.request.form.get("next"))
    email = ctx.request.form.get("email", "").strip()
    try:
        step = ctx.deps.console_users().sign_in(email, ctx.request.form.get("password", ""))
        return _advance(ctx, step, next_page)
    except SignInRefusedError as exc:
        return _refused(ctx, "sign_in.html", exc, email=email, next=next_page)


def step_page(name: str) -> Route:
    def view(ctx: Context) -> Response:
        state = _under_way(ctx)
        if state is None or state["step"] != name:
            return ctx.redirect(SIGN_IN)
        token = SoftwareToken(state.get("secret", ""), state["email"], state["session"])
        return ctx.page(STEP_TEMPLATES[name], email=state["email"], secret=token.secret, uri=token.uri(), error="")

    return Route("GET", STEP_PAGES[name], None, view)


def step_answer(name: str) -> Route:
    def view(ctx: Context) -> Response:
        state = _under_way(ctx)
        if state is None or state["step"] != name:
            error = ctx.t("account.refused.expired")
            ctx.cookies.append(_clear(SIGN_IN_COOKIE))
            return ctx.page("sign_in.html", status=401, email="", next=HOME, error=error)
        users = ctx.deps.console_users()
        challenge = Challenge(name, state["email"], state["session"])
        token = SoftwareToken(state.get("secret", ""), state["email"], state["session"])
        values = {"email": state["email"], "secret": token.secret, "uri": token.uri()}
        try:
            if name == NEW_PASSWORD_REQUIRED:
                password = form_field(ctx, "password")
                if password != ctx.request.form.get("confirm", ""):
                    return ctx.page(STEP_TEMPLATES[name], status=400, error=ctx.t("account.mismatch"), **values)
                step = users.new_password(challenge, password)
            elif name == MFA_SETUP:
                step = users.verify_software_token(token, form_field(ctx, "code", CODE))
            else:
                step = users.mfa_code(challenge, form_field(ctx, "code", CODE))
            return _advance(ctx, step, safe_next(state.get("next")))
        except SignInRefusedError as exc:
            if exc.reason == "expired":
                ctx.cookies.append(_clear(SIGN_IN_COOKIE))
                return _refused(ctx, "sign_in.html", exc, email=state["email"], next=HOME)
            return _refused(ctx, STEP_TEMPLATES[name], exc, **values)

    return Route("POST", STEP_PAGES[name], None, view)


def sign_out(ctx: Context) -> Response:
    ctx.sessions.close(ctx.request.cookies.get(COOKIE, ""))
    ctx.cookies.append(_clear(COOKIE))
    ctx.session = None
    return ctx.redirect(SIGN_IN)


ROUTES = [
    Route("GET", SIGN_IN, None, sign_in_page),
    Route("POST", SIGN_IN, None, sign_in),
    *(step_page(name) for name in STEP_PAGES),
    *(step_answer(name) for name in STEP_PAGES),
    Route("POST", "/console/sign-out", "viewer", sign_out),
]
