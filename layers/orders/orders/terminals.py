"""Terminal configuration: one JSON secret describing every TPE of the stack.

The secret (Secrets Manager, ARN in ``TERMINALS_SECRET_ARN``) looks like::

    {
      "default_tpe": "0900157",
      "terminals": {
        "0900157": {
          "key": "12345678901234567890123456789012345678P0",
          "societe": "boutiqueducd",
          "bank": "cic",                      # creditmutuel | cic | obc | monetico
          "environment": "test",              # test | production
          "seal": "dsp2",                     # dsp2 | legacy
          "mode": "immediate",                # immediate | deferred | deferred_authorization
          "deferral_days": 0,                 # 0-7 working days (deferred modes)
          "end_policy": "validate",           # validate | cancel (deferred; deferred_authorization always cancels)
          "currencies": ["EUR", "USD", "GBP", "CHF"],
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
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sealing import Bank, Environment, MerchantKey, SealingError, SealVariant, Terminal

from .exceptions import ConfigurationError, UnknownTerminalError


class PaymentMode(enum.Enum):
    IMMEDIATE = "immediate"
    DEFERRED = "deferred"
    DEFERRED_AUTHORIZATION = "deferred_authorization"


class EndPolicy(enum.Enum):
    VALIDATE = "validate"
    CANCEL = "cancel"


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

    @property
    def tpe(self) -> str:
        return self.terminal.tpe


def _enum[E: enum.Enum](kind: type[E], raw: Mapping[str, Any], name: str, default: E, where: str) -> E:
    value = raw.get(name, default.value)
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(str(member.value) for member in kind)
        raise ConfigurationError(f"{where}.{name}: {value!r} is not one of {allowed}") from None


def _terminal(tpe: str, raw: Mapping[str, Any]) -> TerminalConfig:
    where = f"terminals.{tpe}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: must be an object")
    mode = _enum(PaymentMode, raw, "mode", PaymentMode.IMMEDIATE, where)
    deferral = raw.get("deferral_days", 0)
    if isinstance(deferral, bool) or not isinstance(deferral, int) or not 0 <= deferral <= 7:
        raise ConfigurationError(f"{where}.deferral_days: {deferral!r} must be a whole number of working days, 0 to 7")
    end_policy = _enum(EndPolicy, raw, "end_policy", EndPolicy.VALIDATE, where)
    if mode is PaymentMode.DEFERRED_AUTHORIZATION:
        end_policy = EndPolicy.CANCEL  # the seed: what is left at the end is cancelled
    try:
        terminal = Terminal(
            tpe=tpe,
            key=MerchantKey(str(raw.get("key", ""))),
            societe=str(raw.get("societe", "")),
            bank=_enum(Bank, raw, "bank", Bank.CIC, where),
            environment=_enum(Environment, raw, "environment", Environment.TEST, where),
            seal=_enum(SealVariant, raw, "seal", SealVariant.DSP2, where),
            currencies=tuple(raw.get("currencies") or ("EUR", "USD", "GBP", "CHF")),
            languages=tuple(raw.get("languages") or ("FR", "EN", "DE", "IT", "ES", "NL", "PT", "SV")),
            timezone=str(raw.get("timezone", "Europe/Paris")),
            payment_base_url=raw.get("payment_base_url") or None,
            backoffice_base_url=raw.get("backoffice_base_url") or None,
        )
    except SealingError as exc:
        raise ConfigurationError(f"{where}: {exc}") from None
    return TerminalConfig(
        terminal=terminal,
        mode=mode,
        deferral_days=deferral,
        end_policy=end_policy,
        return_ok_url=str(raw.get("return_ok_url", "")),
        return_err_url=str(raw.get("return_err_url", "")),
        merchant_name=str(raw.get("merchant_name", raw.get("societe", ""))),
    )


@dataclass(frozen=True)
class Terminals:
    """Every configured terminal, by TPE, and the default one for orders that name none."""

    by_tpe: Mapping[str, TerminalConfig]
    default_tpe: str

    def get(self, tpe: str | None = None) -> TerminalConfig:
        wanted = tpe or self.default_tpe
        try:
            return self.by_tpe[wanted]
        except KeyError:
            raise UnknownTerminalError(wanted) from None

    def __contains__(self, tpe: object) -> bool:
        return tpe in self.by_tpe

    @classmethod
    def from_json(cls, text: str | bytes) -> Terminals:
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigurationError("the terminal configuration is not JSON") from None
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Any) -> Terminals:
        if not isinstance(data, Mapping) or not isinstance(data.get("terminals"), Mapping) or not data["terminals"]:
            raise ConfigurationError("the terminal configuration needs a non-empty 'terminals' object")
        by_tpe = {str(tpe): _terminal(str(tpe), raw) for tpe, raw in data["terminals"].items()}
        default = str(data.get("default_tpe") or next(iter(by_tpe)))
        if default not in by_tpe:
            raise ConfigurationError(f"default_tpe: {default!r} is not one of the terminals")
        return cls(by_tpe=by_tpe, default_tpe=default)
