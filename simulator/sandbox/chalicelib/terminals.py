"""The bank's side of each terminal (TPE): key, contract and where to post confirmations, from a JSON file.

    {
      "terminals": {
        "0900157": {
          "key": "12345678901234567890123456789012345678P0",
          "societe": "boutiqueducd",
          "merchant_name": "La boutique du CD",
          "mode": "immediate",                 # immediate | deferred | deferred_authorization
          "deferral_days": 0,                  # 0-7 working days (deferred modes)
          "end_policy": "validate",            # validate | cancel (deferred_authorization always cancels)
          "cgi2_url": "http://127.0.0.1:3000/confirmation",
          "logo_url": null,                    # the merchant's logo (docs/protocol.md, The bank's pages)
          "seal": "dsp2",                      # dsp2 | legacy
          "currencies": ["EUR"],               # the default; others only under a currency contract
          "timezone": "Europe/Paris",
          "dashboard_password": "boutique",    # the merchant dashboard ("gestionnaire commerçant")
          "refunds": "any",                    # any | full_only | partial_only | none
          "backoffice_ips": [],                # callers allowed on the back-office CGIs; empty: anyone
          "bank": "cic",                       # creditmutuel | cic | obc | monetico: the pages' branding
          "american_express": false,           # an American Express contract: AM cards taken
          "return_link_text": null,            # the receipt's link back: a text, or one per language
          "merchant_email": null,              # where the bank mails the merchant (required by the next)
          "confirmation_mail": false           # mail the merchant each accepted payment (the bank's option)
        }
      }
    }

The sandbox is a test server, so its terminals are test terminals: ``environment`` may be left out, and
``production`` is refused.

The file is named by ``SANDBOX_TERMINALS_FILE``, or its JSON text given in ``SANDBOX_TERMINALS`` (handy for
``chalice deploy``: an environment variable of the stage), else ``chalicelib/terminals.json`` (git-ignored),
else, in a checkout, ``terminals.example.json``.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealing import (
    LANGUAGES,
    Bank,
    ConfigurationError,
    Contract,
    EndPolicy,
    Environment,
    MerchantKey,
    PaymentMode,
    Terminal,
    check_email,
    config_enum,
    terminal_from_mapping,
)

DEFAULT_FILE = Path(__file__).with_name("terminals.json")
EXAMPLE_FILE = Path(__file__).parent.parent / "terminals.example.json"  # in a checkout, not in a deployment


# The contract and its reading are the protocol's, shared with the merchant's side (sealing._contract).
Mode = PaymentMode


class RefundPolicy(enum.Enum):
    """What the terminal's contract allows for refunds (re-crédit)."""

    ANY = "any"
    FULL_ONLY = "full_only"  # a partial refund is refused (-48)
    PARTIAL_ONLY = "partial_only"  # a full refund is refused (-51)
    NONE = "none"  # every refund is refused (-48)


@dataclass(frozen=True)
class BankTerminal:
    terminal: Terminal
    merchant_name: str
    cgi2_url: str
    mode: Mode = Mode.IMMEDIATE
    deferral_days: int = 0
    end_policy: EndPolicy = EndPolicy.VALIDATE
    logo_url: str = ""
    dashboard_password: str = ""
    refunds: RefundPolicy = RefundPolicy.ANY
    backoffice_ips: tuple[str, ...] = ()
    american_express: bool = False
    return_link_text: Mapping[str, str] = field(default_factory=dict)  # by language, "*" for every language
    merchant_email: str = ""
    confirmation_mail: bool = False

    @property
    def tpe(self) -> str:
        return self.terminal.tpe

    @property
    def key(self) -> MerchantKey:
        return self.terminal.key

    @property
    def societe(self) -> str:
        return self.terminal.societe

    @property
    def timezone(self) -> str:
        return self.terminal.timezone

    @property
    def bank(self) -> Bank:
        return self.terminal.bank

    def link_text(self, language: str) -> str:
        """The merchant's own text for the receipt's link back, in ``language`` if given, "" for the bank's."""
        return self.return_link_text.get(language) or self.return_link_text.get("*", "")


def _url(value: Any, where: str, *, required: bool) -> str:
    if value in (None, ""):
        if required:
            raise ConfigurationError(f"{where}: is required (an http or https URL)")
        return ""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")) or not value.isascii():
        raise ConfigurationError(f"{where}: {value!r} is not an http or https URL")
    return value


def _link_text(value: Any, where: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        return {"*": value}
    if (
        isinstance(value, Mapping)
        and all(isinstance(k, str) and k in LANGUAGES and isinstance(v, str) for k, v in value.items())
        and value
    ):
        return dict(value)
    raise ConfigurationError(f'{where}: must be a text, or texts by language like {{"FR": "...", "EN": "..."}}')


def _flag(raw: Mapping[str, Any], name: str, where: str) -> bool:
    value = raw.get(name, False)
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}.{name}: {value!r} must be true or false")
    return value


def _merchant_email(raw: Mapping[str, Any], where: str) -> str:
    value = raw.get("merchant_email") or ""
    if value:
        try:
            check_email(value if isinstance(value, str) else "", f"{where}.merchant_email")
        except ValueError:
            raise ConfigurationError(f"{where}.merchant_email: {value!r} is not an e-mail address") from None
    elif _flag(raw, "confirmation_mail", where):
        raise ConfigurationError(f"{where}.merchant_email: is required when confirmation_mail is true")
    return str(value)


def _terminal(tpe: str, raw: Any) -> BankTerminal:
    where = f"terminals.{tpe}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: must be an object")
    contract = Contract.from_mapping(raw, where)
    ips = raw.get("backoffice_ips") or []
    if not isinstance(ips, list) or not all(isinstance(ip, str) for ip in ips):
        raise ConfigurationError(f"{where}.backoffice_ips: must be a list of IP addresses")
    terminal = terminal_from_mapping(tpe, raw, where, environment=Environment.TEST)  # the sandbox is a test server
    return BankTerminal(
        terminal=terminal,
        merchant_name=str(raw.get("merchant_name") or terminal.societe),
        cgi2_url=_url(raw.get("cgi2_url"), f"{where}.cgi2_url", required=True),
        mode=contract.mode,
        deferral_days=contract.deferral_days,
        end_policy=contract.end_policy,
        logo_url=_url(raw.get("logo_url"), f"{where}.logo_url", required=False),
        dashboard_password=str(raw.get("dashboard_password") or ""),
        refunds=config_enum(RefundPolicy, raw, "refunds", RefundPolicy.ANY, where),
        backoffice_ips=tuple(ips),
        american_express=_flag(raw, "american_express", where),
        return_link_text=_link_text(raw.get("return_link_text"), f"{where}.return_link_text"),
        merchant_email=_merchant_email(raw, where),
        confirmation_mail=_flag(raw, "confirmation_mail", where),
    )


@dataclass(frozen=True)
class BankConfig:
    terminals: Mapping[str, BankTerminal]

    def get(self, tpe: str) -> BankTerminal | None:
        return self.terminals.get(tpe)

    @classmethod
    def from_mapping(cls, data: Any) -> BankConfig:
        if not isinstance(data, Mapping) or not isinstance(data.get("terminals"), Mapping) or not data["terminals"]:
            raise ConfigurationError("the sandbox configuration needs a non-empty 'terminals' object")
        return cls({str(tpe): _terminal(str(tpe), raw) for tpe, raw in data["terminals"].items()})

    @classmethod
    def from_json(cls, text: str | bytes) -> BankConfig:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise ConfigurationError("the sandbox configuration is not JSON") from None
        return cls.from_mapping(data)

    @classmethod
    def from_file(cls, path: str | Path) -> BankConfig:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read the sandbox configuration {path}: {exc.strerror}") from None
        return cls.from_json(text)

    @classmethod
    def from_environment(cls) -> BankConfig:
        """``SANDBOX_TERMINALS`` (JSON text), else the file ``SANDBOX_TERMINALS_FILE``, else
        ``chalicelib/terminals.json``, else (``chalice local`` in a checkout) ``terminals.example.json``."""
        text = os.environ.get("SANDBOX_TERMINALS")
        if text:
            return cls.from_json(text)
        named = os.environ.get("SANDBOX_TERMINALS_FILE")
        if named:
            return cls.from_file(named)
        return cls.from_file(DEFAULT_FILE if DEFAULT_FILE.exists() or not EXAMPLE_FILE.exists() else EXAMPLE_FILE)


__all__ = ["Bank", "BankConfig", "BankTerminal", "ConfigurationError", "EndPolicy", "Mode", "RefundPolicy"]
