"""Terminal configuration: one JSON secret describing every TPE of the stack.

The secret (Secrets Manager, ARN in ``TERMINALS_SECRET_ARN``) looks like::

    {
      "default_tpe": "0900157",
      "terminals": {
        "0900157": {
          "key": "12345678901234567890123456789012345678P0",
          "previous_key": null,               # during a key rotation: the key the bank may still seal with,
          "previous_key_until": null,         # accepted on confirmations until then (ISO 8601 with its zone)
          "societe": "boutiqueducd",
          "bank": "cic",                      # creditmutuel | cic | obc | monetico
          "environment": "test",              # required: test | production
          "seal": "dsp2",                     # dsp2 | legacy
          "mode": "immediate",                # immediate | deferred | deferred_authorization
          "deferral_days": 0,                 # 0-7 working days (deferred modes)
          "end_policy": "validate",           # validate | cancel (deferred; deferred_authorization always cancels)
          "currencies": ["EUR"],              # default; others only under a currency contract
          "languages": ["FR", "EN", "DE", "IT", "ES", "NL", "PT", "SV"],
          "timezone": "Europe/Paris",
          "return_ok_url": "https://shop.example/ok",
          "return_err_url": "https://shop.example/err",
          "payment_base_url": null,           # default: the bank's host (+ /test)
          "backoffice_base_url": null,        # default: the bank's host (+ /test)
          "merchant_name": "La boutique du CD"
        }
      }
    }

The terminals' e-mail settings are a document of their own (``MailConfiguration``), read by the mail function, which
never reads the keys: an SSM parameter (its name in ``MAIL_SETTINGS_PARAMETER``) that looks like::

    {
      "terminals": {
        "0900157": {                          # a terminal not listed sends no e-mail
          "sender": "boutique@shop.example",    # an SES-verified identity
          "merchant": "orders@shop.example",    # told of each payment, refusal needing attention, review
          "buyer": true,                        # the buyer's payment confirmation, in the order's language
          "merchant_name": "La boutique du CD", # the name the buyer's mail gives (required while buyer is true)
          "merchant_language": "FR"             # FR | EN | DE | IT | ES
        }
      }
    }
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sealing import (
    Contract,
    EndPolicy,
    FieldError,
    InvalidKeyError,
    MerchantKey,
    PaymentMode,
    Terminal,
    check_email,
    check_tpe,
    config_url,
    shown,
    terminal_from_mapping,
)

from .exceptions import ConfigurationError, UnknownTerminalError

MAIL_LANGUAGES = ("FR", "EN", "DE", "IT", "ES")
# Every setting the secret may hold, by level: any other name is a mistake (``return_url_ok``), refused.
SETTINGS = ("default_tpe", "terminals")
TERMINAL_SETTINGS = (
    "key", "previous_key", "previous_key_until", "societe", "bank", "environment", "seal", "mode", "deferral_days",
    "end_policy", "currencies", "languages", "timezone", "return_ok_url", "return_err_url", "payment_base_url",
    "backoffice_base_url", "merchant_name",
)  # fmt: skip
MAIL_SETTINGS = ("sender", "merchant", "buyer", "merchant_name", "merchant_language")
TPE_LENGTH = 7  # docs/protocol.md, Payment request: the bank's terminal numbers are 7 characters
# How far ahead of a read of the secret ``previous_key_until`` may be: a rotation's overlap lasts while the bank
# switches to the new key (days); a key kept longer is a key forgotten, accepting seals nobody means to use.
MAX_PREVIOUS_KEY_DAYS = 30


@dataclass(frozen=True)
class MailSettings:
    """Who the terminal's e-mails come from and go to; empty ``merchant``: the merchant is not mailed."""

    sender: str
    merchant: str = ""
    buyer: bool = True
    merchant_name: str = ""  # the name the buyer's mail gives
    merchant_language: str = "FR"


@dataclass(frozen=True)
class TerminalConfig:
    """A terminal as the merchant's side uses it: the protocol terminal plus its contract."""

    terminal: Terminal
    mode: PaymentMode = PaymentMode.IMMEDIATE
    deferral_days: int = 0
    end_policy: EndPolicy = EndPolicy.VALIDATE
    return_ok_url: str = ""
    return_err_url: str = ""
    merchant_name: str = ""
    # A key rotation: the key the bank sealed with before ``terminal.key``, accepted on confirmations received up
    # to ``previous_key_until``. Only confirmations: forms and back-office calls are sealed with the current key.
    previous_key: MerchantKey | None = None
    previous_key_until: datetime | None = None

    @property
    def tpe(self) -> str:
        return self.terminal.tpe

    def confirmation_keys(self, received_at: datetime) -> tuple[MerchantKey, ...]:
        """The keys a confirmation received at ``received_at`` may be sealed with: the current one, then the
        previous one until its date."""
        previous = self.previous_key
        if previous is None or self.previous_key_until is None or received_at > self.previous_key_until:
            return (self.terminal.key,)
        return (self.terminal.key, previous)


def _only_known(raw: Mapping[str, Any], known: tuple[str, ...], where: str, what: str) -> None:
    """Refuse a setting the kit does not read, naming it and the nearest known one. A name as long as a key is
    not repeated: it may be a secret pasted in the wrong place, and the message is logged."""
    for name in raw:
        if name in known:
            continue
        nearest = difflib.get_close_matches(str(name), known, n=1)
        hint = f"; did you mean {nearest[0]}?" if nearest else f" ({', '.join(known)})"
        if shown(name) == repr(name):  # short enough to be no secret
            raise ConfigurationError(f"{where}.{name}: is not a setting of {what}{hint}".removeprefix("."))
        unnamed = f"a name of {len(str(name))} characters (not repeated here)"
        raise ConfigurationError(f"{where or 'the configuration'}: {unnamed} is not a setting of {what}{hint}")


def _address(raw: Mapping[str, Any], name: str, where: str, *, required: bool) -> str:
    value = raw.get(name)
    if value in (None, "") and not required:
        return ""
    if isinstance(value, str):
        with suppress(FieldError):
            return check_email(value)  # as SES reads an address: one, bare, ASCII
    raise ConfigurationError(f"{where}.{name}: must be one e-mail address, got {shown(value)}")


def _json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ConfigurationError(f"{what}: not JSON") from None


def _mail(tpe: str, raw: Any) -> MailSettings:
    where = f"terminals.{_check_tpe(tpe)}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: must be an object")
    _only_known(raw, MAIL_SETTINGS, where, "a terminal's mail")
    buyer = raw.get("buyer", True)
    if not isinstance(buyer, bool):
        raise ConfigurationError(f"{where}.buyer: must be true or false")
    language = raw.get("merchant_language", "FR")
    if language not in MAIL_LANGUAGES:
        raise ConfigurationError(f"{where}.merchant_language: must be one of {', '.join(MAIL_LANGUAGES)}")
    name = raw.get("merchant_name", "")
    if not isinstance(name, str) or (buyer and not name.strip()):
        raise ConfigurationError(
            f"{where}.merchant_name: the name the buyer's mail gives (required while buyer is true)"
        )
    return MailSettings(
        sender=_address(raw, "sender", where, required=True),
        merchant=_address(raw, "merchant", where, required=False),
        buyer=buyer,
        merchant_name=name.strip(),
        merchant_language=language,
    )


@dataclass(frozen=True)
class MailConfiguration:
    """The terminals' e-mail settings, by TPE: a document apart from the terminal secret, so that the mail function
    never reads a key. A terminal it does not list sends no e-mail."""

    by_tpe: Mapping[str, MailSettings]

    def get(self, tpe: str) -> MailSettings | None:
        return self.by_tpe.get(tpe)

    @classmethod
    def from_json(cls, text: str | bytes) -> MailConfiguration:
        return cls.from_mapping(_json(text, "the mail settings"))

    @classmethod
    def from_mapping(cls, data: Any) -> MailConfiguration:
        if not isinstance(data, Mapping) or not isinstance(data.get("terminals"), Mapping):
            raise ConfigurationError("the mail settings need a 'terminals' object (each terminal's mail by TPE)")
        _only_known(data, ("terminals",), "", "the mail settings")
        return cls(by_tpe={str(tpe): _mail(str(tpe), raw) for tpe, raw in data["terminals"].items()})


NO_MAIL = MailConfiguration(by_tpe={})


def _previous_key(
    raw: Mapping[str, Any], current: MerchantKey, where: str
) -> tuple[MerchantKey | None, datetime | None]:
    """The rotation's previous key and its end, both or neither. No message repeats a key."""
    text, until = raw.get("previous_key"), raw.get("previous_key_until")
    if text is None:
        if until is not None:
            raise ConfigurationError(f"{where}.previous_key_until: is given without previous_key (remove it)")
        return None, None
    try:
        key = MerchantKey(text)
    except InvalidKeyError as exc:
        raise ConfigurationError(f"{where}.previous_key: {exc}") from None
    if key == current:
        raise ConfigurationError(f"{where}.previous_key: is the same key as key (put the new key the bank gave as key)")
    if until is None:
        raise ConfigurationError(
            f"{where}.previous_key_until: is required with previous_key (when the bank stops sealing with it, "
            "ISO 8601 with its zone, like 2026-12-01T12:00:00+01:00)"
        )
    moment = None
    if isinstance(until, str):
        with suppress(ValueError):
            moment = datetime.fromisoformat(until)
    if moment is None or moment.tzinfo is None:
        raise ConfigurationError(
            f"{where}.previous_key_until: {shown(until)} is not a date and time with its zone, "
            "like 2026-12-01T12:00:00+01:00"
        )
    return key, moment


def _check_tpe(tpe: str) -> str:
    try:
        check_tpe(tpe)
    except FieldError:
        pass
    else:
        if len(tpe) == TPE_LENGTH:
            return tpe
    raise ConfigurationError(
        f"terminals: {shown(tpe)} is not a terminal number ({TPE_LENGTH} letters or digits, as the bank gives it)"
    )


def _terminal(tpe: str, raw: Mapping[str, Any]) -> TerminalConfig:
    where = f"terminals.{_check_tpe(tpe)}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: must be an object")
    if "mail" in raw:
        raise ConfigurationError(
            f"{where}.mail: e-mail settings are not kept with the keys: put them in the mail settings parameter "
            "(the stack's MailSettingsParameter), which the mail function reads instead of this secret"
        )
    _only_known(raw, TERMINAL_SETTINGS, where, "a terminal")
    contract = Contract.from_mapping(raw, where)
    terminal = terminal_from_mapping(tpe, raw, where)
    # Checked here, not blamed on the merchant's request when an order falls back on them.
    return_ok_url = config_url(raw, "return_ok_url", where) or ""
    return_err_url = config_url(raw, "return_err_url", where) or ""
    merchant_name = raw.get("merchant_name") or terminal.societe
    if not isinstance(merchant_name, str):
        raise ConfigurationError(f"{where}.merchant_name: must be a string")
    previous_key, previous_key_until = _previous_key(raw, terminal.key, where)
    return TerminalConfig(
        terminal=terminal,
        mode=contract.mode,
        deferral_days=contract.deferral_days,
        end_policy=contract.end_policy,
        return_ok_url=return_ok_url,
        return_err_url=return_err_url,
        merchant_name=merchant_name,
        previous_key=previous_key,
        previous_key_until=previous_key_until,
    )


@dataclass(frozen=True)
class Terminals:
    """Every configured terminal, by TPE, and the default one for orders that name none.

    The use cases are given the terminals one way, a ``TerminalsProvider``, and call it when they use them: the
    deployed one (``orders.dependencies.SecretTerminals``) reads the secret through its cache, so a key the merchant
    rotates is taken by the next use, even by a sweep already running. A fixed configuration provides itself.
    """

    by_tpe: Mapping[str, TerminalConfig]
    default_tpe: str

    def __call__(self) -> Terminals:
        return self

    def get(self, tpe: str | None = None) -> TerminalConfig:
        wanted = tpe or self.default_tpe
        try:
            return self.by_tpe[wanted]
        except KeyError:
            raise UnknownTerminalError(wanted) from None

    def __contains__(self, tpe: object) -> bool:
        return tpe in self.by_tpe

    def timezone(self, tpe: str) -> str:
        """The time zone the bank counts ``tpe``'s days in; Paris for a terminal not configured (an order stays
        on the books after its terminal left the configuration)."""
        config = self.by_tpe.get(tpe)
        return config.terminal.timezone if config is not None else "Europe/Paris"

    def check_rotation(self, now: datetime) -> None:
        """Refuse a ``previous_key_until`` more than ``MAX_PREVIOUS_KEY_DAYS`` after ``now`` (the time the secret
        is read): a previous key is accepted for a rotation's days, not kept. One already past is no mistake:
        that key is not accepted after it (remove it from the secret)."""
        bound = now + timedelta(days=MAX_PREVIOUS_KEY_DAYS)
        for tpe, config in self.by_tpe.items():
            until = config.previous_key_until
            if until is not None and until > bound:
                raise ConfigurationError(
                    f"terminals.{tpe}.previous_key_until: {until.isoformat()} is more than {MAX_PREVIOUS_KEY_DAYS} "
                    "days ahead: give the date the bank stops sealing with the previous key"
                )

    @classmethod
    def from_json(cls, text: str | bytes) -> Terminals:
        return cls.from_mapping(_json(text, "the terminal configuration"))

    @classmethod
    def from_mapping(cls, data: Any) -> Terminals:
        if not isinstance(data, Mapping) or not isinstance(data.get("terminals"), Mapping) or not data["terminals"]:
            raise ConfigurationError("the terminal configuration needs a non-empty 'terminals' object")
        _only_known(data, SETTINGS, "", "the terminal configuration")
        by_tpe = {str(tpe): _terminal(str(tpe), raw) for tpe, raw in data["terminals"].items()}
        default = str(data.get("default_tpe") or next(iter(by_tpe)))
        if default not in by_tpe:
            raise ConfigurationError(f"default_tpe: {shown(default)} is not one of the terminals")
        return cls(by_tpe=by_tpe, default_tpe=default)


# What a use case is given: called each time it needs the terminals (a ``Terminals`` provides itself).
TerminalsProvider = Callable[[], Terminals]

__all__ = [
    "NO_MAIL",
    "EndPolicy",
    "MailConfiguration",
    "MailSettings",
    "PaymentMode",
    "TerminalConfig",
    "Terminals",
    "TerminalsProvider",
]
