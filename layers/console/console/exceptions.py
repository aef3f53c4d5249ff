"""What the console refuses, each with what happened and (for a form) which field."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of the console's errors."""


class NotSignedIn(ConsoleError):
    """No session, or one that ended: the page sends the browser to the sign-in page."""


class RoleRefused(ConsoleError):
    """The signed-in user's role may not do this (a viewer asking for an operator's action): 403."""

    def __init__(self, needed: str, held: str | None = None) -> None:
        super().__init__(f"this needs the {needed} role")
        self.needed = needed
        self.held = held  # the role Cognito gives the user now, when read again (else the session's)


class UserRefused(ConsoleError):
    """The signed-in user may no longer use the console (disabled, removed, in no group): their session is closed
    and the action refused (403); ``reason`` is ``orders.users``' word for it."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the user is refused: {reason}")
        self.reason = reason


class CsrfRefused(ConsoleError):
    """A form posted without the session's CSRF token, or from another origin: 403, nothing done."""


class FormError(ConsoleError):
    """A form or query field the console cannot take: 400 naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PageNotFound(ConsoleError):
    """No such page, or no such order: 404."""
