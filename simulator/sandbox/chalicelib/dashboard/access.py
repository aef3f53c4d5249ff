"""The dashboard's door, a blueprint: log in (with the wrong-password brake), log out, change the password."""

from __future__ import annotations

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import Blueprint

from .. import sessions
from ..terminals import BankTerminal
from ..views import FORM, redirect
from .board import BANK_TIMEZONE, COOKIE, EXPIRED_FORM, Board, same


class Access:
    def __init__(self, board: Board) -> None:
        self.board = board
        self.ledger = board.bank.ledger

    def login(self) -> Response:
        board = self.board
        posted = board.form()
        tpe = posted.get("tpe", "").strip()
        terminal = board.bank.config.get(tpe)
        # An unknown TPE counts against the address only: typed names must not fill the store.
        keys = [sessions.address_key(board.client_ip())] + ([sessions.terminal_key(tpe)] if terminal else [])
        timezone = terminal.timezone if terminal else BANK_TIMEZONE
        now = board.bank.now()
        locked = sessions.locked_until(self.ledger, keys, now)
        if locked is not None:  # the password is not even looked at
            return board.locked_page(locked, now, timezone)
        if terminal is None or not sessions.password_matches(self.ledger, terminal, posted.get("password", "")):
            locked = sessions.failed(self.ledger, keys, now)
            if locked is not None:
                return board.locked_page(locked, now, timezone)
            return board.login_page("TPE ou mot de passe incorrect.", 401)
        sessions.succeeded(self.ledger, tpe)
        if board.session_id():  # a new session id at each login: whatever id the browser had is dropped
            sessions.end(self.ledger, board.session_id())
        cookie = board.cookie_for(sessions.start(self.ledger, tpe, now))
        return redirect(f"{board.base}/", {"Set-Cookie": cookie})

    def logout(self) -> Response:
        board = self.board
        session = board.session()
        if session is not None:
            terminal = board.bank.config.get(session.tpe)
            if terminal is not None and not same(session.csrf_token, board.form().get("jeton", "")):
                # Another site's form cannot sign the merchant out: the session stays.
                return board.message(terminal, "Déconnexion", EXPIRED_FORM, 403)
            sessions.end(self.ledger, board.session_id())
        return redirect(f"{board.base}/", {"Set-Cookie": f"{COOKIE}=; Max-Age=0; {board.cookie_attributes()}"})

    def password_form(self, terminal: BankTerminal) -> Response:
        return self.password_page(terminal)

    def change_password(self, terminal: BankTerminal) -> Response:
        posted = self.board.checked_form()
        if posted is None:
            return self.password_page(terminal, EXPIRED_FORM, error=True, status=403)
        now = self.board.bank.now()
        keys = [sessions.address_key(self.board.client_ip()), sessions.terminal_key(terminal.tpe)]
        if sessions.locked_until(self.ledger, keys, now) is not None:
            # The same brake as the login page: this form must not be a way to guess.
            return self.password_page(terminal, "Trop de mots de passe incorrects : réessayez plus tard.", True, 429)
        if not sessions.password_matches(self.ledger, terminal, posted.get("actuel", "")):
            sessions.failed(self.ledger, keys, now)
            return self.password_page(terminal, "Le mot de passe actuel est incorrect.", error=True, status=401)
        problem = new_password_problem(posted.get("nouveau", ""), posted.get("confirmation", ""))
        if problem:
            return self.password_page(terminal, problem, error=True, status=400)
        sessions.set_password(self.ledger, terminal.tpe, posted["nouveau"])
        return self.password_page(terminal, "Votre mot de passe a été changé.")

    def password_page(
        self, terminal: BankTerminal, message: str = "", error: bool = False, status: int = 200
    ) -> Response:
        return self.board.page(
            terminal,
            "password",
            "Changez votre mot de passe",
            status,
            message=message,
            error=error,
            min_password=sessions.MIN_PASSWORD,
        )


def new_password_problem(new: str, again: str) -> str:
    """Why the new password is refused, "" when it is not."""
    if len(new) < sessions.MIN_PASSWORD:
        return f"Le nouveau mot de passe doit avoir au moins {sessions.MIN_PASSWORD} caractères."
    if new != again:
        return "Les deux saisies du nouveau mot de passe diffèrent."
    return ""


def blueprint(board: Board) -> Blueprint:
    access = Blueprint(__name__)
    views = Access(board)
    access.route("/connexion", methods=["POST"], content_types=FORM, name="login")(views.login)
    access.route("/deconnexion", methods=["POST"], content_types=FORM, name="logout")(views.logout)
    access.route("/mot-de-passe", methods=["GET"], name="password_form")(board.logged_in(views.password_form))
    access.route("/mot-de-passe", methods=["POST"], content_types=FORM, name="change_password")(
        board.logged_in(views.change_password)
    )
    return access
