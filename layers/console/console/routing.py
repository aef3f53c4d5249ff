"""Which view answers a request, and what is checked before it runs.

Every route names the role it needs: ``None`` (the sign-in pages and the stylesheet), ``viewer`` (reading: a
viewer or an operator) or ``operator`` (acting). Before a view runs, the router finds the session from its cookie
(none: a GET goes to the sign-in page, a POST is refused, nothing done), checks the role (403 otherwise: the
route refuses, not only the page), and for every POST the form's CSRF token (the session's; before sign-in, the
one of the form cookie the sign-in page set), compared in constant time. Before an operator's POST (an action),
the user's role is read again from Cognito: a user demoted since signing in is refused (403), one disabled or
removed too, their session closed. The orders table down (the session unreadable, or a view's read) is a 503. A
view raises the console's errors; the router answers them as pages in the user's language.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from orders.dependencies import Dependencies
from orders.exceptions import SignInRefusedError, StoreUnavailableError

from .exceptions import CsrfRefused, FormError, NotSignedIn, PageNotFound, RoleRefused, UserRefused
from .http import Request, Response, redirect
from .i18n import LANGUAGE_COOKIE, Translator, choose
from .rendering import render
from .sessions import COOKIE, Session, Sessions

FORM_COOKIE = "__Host-console_form"  # before sign-in: the sign-in forms' CSRF token (double submit)
ROLE_RANK = {"viewer": 1, "operator": 2}
SIGN_IN = "/console/sign-in"


@dataclass
class Context:
    """What a view works with: the kit's dependencies, the request, who is signed in, their language."""

    deps: Dependencies
    sessions: Sessions
    request: Request
    session: Session | None
    t: Translator
    now: datetime
    params: dict[str, str] = field(default_factory=dict)  # the path's {names}
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values every answer of this request carries
    store_down: bool = False  # the session could not be read: no page is answered (503), nothing is done
    _form_token: str = ""

    def csrf(self) -> str:
        """The token this request's forms carry."""
        if self.session is not None:
            return self.session.csrf
        if not self._form_token:
            self._form_token = self.request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)
            if self.request.cookies.get(FORM_COOKIE) != self._form_token:
                self.cookies.append(
                    f"{FORM_COOKIE}={self._form_token}; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Strict"
                )
        return self._form_token

    def url(self, path: str, **query: str) -> str:
        """A console path (``/console/orders``) as the browser asks for it, with ``query``."""
        text = self.request.url(path)
        pairs = [f"{quote(k)}={quote(str(v), safe='')}" for k, v in query.items() if v not in ("", None)]
        return f"{text}?{'&'.join(pairs)}" if pairs else text

    def page(self, template: str, status: int = 200, **values: Any) -> Response:
        """``template`` rendered with what every page has (the texts, the user, the CSRF token, URLs)."""
        body = render(
            template,
            t=self.t,
            lang=self.t.language,
            session=self.session,
            csrf=self.csrf(),
            url=self.url,
            path=self.request.path,
            query=self.request.query,
            **values,
        )
        return Response(status, body, cookies=list(self.cookies))

    def redirect(self, path: str, **query: str) -> Response:
        return redirect(self.url(path, **query), self.cookies)

    def can(self, role: str) -> bool:
        return self.session is not None and ROLE_RANK[self.session.role] >= ROLE_RANK[role]


View = Callable[[Context], Response]


@dataclass(frozen=True)
class Route:
    method: str  # GET or POST
    path: str  # /console/orders/{reference}
    role: str | None  # None, viewer or operator
    view: View

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


class Router:
    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = list(routes)
        self._compiled = [(route, route.pattern()) for route in self.routes]

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route, its path parameters, and whether the path exists under another method."""
        other_method = False
        for route, pattern in self._compiled:
            found = pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict(), False
                other_method = True
        return None, {}, other_method

    def answer(self, ctx: Context) -> Response:
        route, params, other_method = self.match(ctx.request.method, ctx.request.path)
        if route is None:
            return _error(ctx, 405 if other_method else 404, ctx.t("error.not_found"))
        ctx.params = params
        if ctx.store_down:  # whoever the cookie names is not known: neither a page for them nor the sign-in page
            return _error(ctx, 503, ctx.t("error.unexpected"))
        try:
            _check(ctx, route)
            return route.view(ctx)
        except NotSignedIn:
            if ctx.request.method == "GET":
                return ctx.redirect(SIGN_IN, next=ctx.request.path)
            return _error(ctx, 401, ctx.t("error.csrf"))
        except RoleRefused as exc:
            role = ctx.t(f"role.{exc.held or (ctx.session.role if ctx.session else 'viewer')}")
            return _error(ctx, 403, ctx.t("error.role", role=role, needed=ctx.t(f"role.{exc.needed}")))
        except UserRefused as exc:
            return _error(ctx, 403, ctx.t(f"account.refused.{exc.reason}"))
        except CsrfRefused:
            return _error(ctx, 403, ctx.t("error.csrf"))
        except FormError as exc:
            return _error(ctx, 400, ctx.t("error.form", field=exc.field, message=exc.message))
        except PageNotFound:
            return _error(ctx, 404, ctx.t("error.not_found"))
        except StoreUnavailableError:
            return _error(ctx, 503, ctx.t("error.unexpected"))


def _check(ctx: Context, route: Route) -> None:
    if route.role is not None:
        if ctx.session is None:
            raise NotSignedIn()
        if not ctx.can(route.role):
            raise RoleRefused(route.role)
    if ctx.request.method == "POST":
        fetch_site = ctx.request.headers.get("sec-fetch-site", "same-origin")
        if fetch_site not in ("same-origin", "none"):
            raise CsrfRefused()
        sent = ctx.request.form.get("csrf", "")
        expected = ctx.session.csrf if ctx.session is not None else ctx.request.cookies.get(FORM_COOKIE, "")
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CsrfRefused()
        if route.role == "operator":
            _still_operator(ctx)


def _still_operator(ctx: Context) -> None:
    """The signed-in operator's role as Cognito says now (an action is never taken on the role of the sign-in)."""
    if ctx.session is None:
        raise NotSignedIn()
    try:
        role = ctx.deps.console_users().role(ctx.session.email)
    except SignInRefusedError as exc:
        if exc.reason == "unavailable":
            raise StoreUnavailableError(f"the user's role could not be read: {exc}") from exc
        ctx.sessions.close(ctx.request.cookies.get(COOKIE, ""))
        ctx.cookies.append(f"{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
        ctx.session = None
        raise UserRefused("disabled" if exc.reason == "credentials" else exc.reason) from exc
    if role != "operator":
        raise RoleRefused("operator", held=role)


def _still_allowed(deps: Dependencies, sessions: Sessions, request: Request, session: Session) -> Session | None:
    """The session, when the page read moved its last page's time (at most once a minute): still its user's, in
    the role Cognito gives them now; ended when they were disabled, deleted or given another role (they sign in
    again), so a user stopped in Cognito reads nothing more within a minute. Cognito not answering leaves it be
    (every action asks again, and refuses then)."""
    try:
        role = deps.console_users().role(session.email)
    except SignInRefusedError as exc:
        if exc.reason == "unavailable":
            return session
        role = ""
    if role == session.role:
        return session
    sessions.close(request.cookies.get(COOKIE, ""))
    return None


def _error(ctx: Context, status: int, message: str) -> Response:
    return ctx.page("error.html", status=status, message=message)


def context(deps: Dependencies, sessions: Sessions, request: Request, now: datetime) -> Context:
    """The context of ``request``: its session (if its cookie names one still open) and its language."""
    asked = request.query.get("lang")
    language = choose(asked, request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language", ""))
    try:
        session, store_down = sessions.find(request.cookies.get(COOKIE, ""), now), False
    except StoreUnavailableError:
        session, store_down = None, True
    if session is not None and session.seen_at == now and session.signed_in_at != now:
        session = _still_allowed(deps, sessions, request, session)
    ctx = Context(deps, sessions, request, session, Translator(language), now, store_down=store_down)
    if asked == language:
        ctx.cookies.append(f"{LANGUAGE_COOKIE}={language}; Path=/; Max-Age=31536000; Secure; SameSite=Lax")
    return ctx


def form_field(ctx: Context, name: str, pattern: str | None = None, *, required: bool = True) -> str:
    """A field of the posted form (400 naming it when missing or not of the expected shape)."""
    value = ctx.request.form.get(name, "").strip()
    if not value and required:
        raise FormError(name, "is required")
    if value and pattern is not None and not re.fullmatch(pattern, value):
        raise FormError(name, "is not of the expected form")
    return value
