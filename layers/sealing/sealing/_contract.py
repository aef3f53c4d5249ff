"""A terminal's contract (docs/protocol.md, Payment modes) and its configuration, read the same way by both sides.

The merchant's stack and the sandbox bank each keep a JSON description of their terminals; the protocol
part of it (key, site code, bank, seal, ...) and the contract (payment mode, deferral, end policy) are read
here, so the two sides cannot drift apart (the end of a deferral period: ``_calendar``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ._formats import LANGUAGES
from ._key import MerchantKey
from ._money import DEFAULT_CURRENCIES
from ._terminal import Bank, Environment, SealVariant, Terminal
from .exceptions import ConfigurationError, FieldError, InvalidKeyError, shown

MAX_DEFERRAL_DAYS = 7
E = TypeVar("E", bound=enum.Enum)


class PaymentMode(enum.Enum):
    """One per terminal, fixed by contract."""

    IMMEDIATE = "immediate"
    DEFERRED = "deferred"
    DEFERRED_AUTHORIZATION = "deferred_authorization"


class EndPolicy(enum.Enum):
    """What happens to what is left at the end of the deferral period."""

    VALIDATE = "validate"
    CANCEL = "cancel"


def config_enum(kind: type[E], raw: Mapping[str, Any], name: str, default: E | None, where: str) -> E:
    """``raw[name]`` as a member of ``kind`` (``default`` when absent; no default: required); an error lists
    what is allowed."""
    if default is None and raw.get(name) is None:
        allowed = " or ".join(f'"{member.value}"' for member in kind)
        raise ConfigurationError(f"{where}.{name}: is required ({allowed})")
    value = raw.get(name, default.value if default is not None else None)
    try:
        return kind(value)
    except ValueError:
        allowed = " | ".join(str(member.value) for member in kind)
        raise ConfigurationError(f"{where}.{name}: {shown(value)} is not one of {allowed}") from None


def config_url(raw: Mapping[str, Any], name: str, where: str) -> str | None:
    """An optional http(s) URL setting (absent, null or "": none)."""
    value = raw.get(name)
    if value is None or value == "":
        return None
    if (
        not isinstance(value, str)
        or not value.startswith(("https://", "http://"))
        or not value.isascii()
        or any(char.isspace() for char in value)
    ):
        raise ConfigurationError(f"{where}.{name}: {shown(value)} is not an http or https URL")
    return value


@dataclass(frozen=True)
class Contract:
    mode: PaymentMode = PaymentMode.IMMEDIATE
    deferral_days: int = 0
    end_policy: EndPolicy = EndPolicy.VALIDATE

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str) -> Contract:
        mode = config_enum(PaymentMode, raw, "mode", PaymentMode.IMMEDIATE, where)
        days = raw.get("deferral_days", 0)
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DEFERRAL_DAYS:
            raise ConfigurationError(
                f"{where}.deferral_days: {shown(days)} must be a whole number of working days, 0 to {MAX_DEFERRAL_DAYS}"
            )
        end_policy = config_enum(EndPolicy, raw, "end_policy", EndPolicy.VALIDATE, where)
        if mode is PaymentMode.DEFERRED_AUTHORIZATION:
            end_policy = EndPolicy.CANCEL  # docs/protocol.md, Payment modes: what is left at the end is cancelled
        return cls(mode, days, end_policy)


def _text(raw: Mapping[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = raw.get(name, default)
    if value is None:
        raise ConfigurationError(f"{where}.{name}: is required")
    if not isinstance(value, str):
        raise ConfigurationError(f"{where}.{name}: must be a string")
    return value


def _codes(raw: Mapping[str, Any], name: str, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(name)
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ConfigurationError(f'{where}.{name}: {shown(value)} must be a list like ["{default[0]}"]')
    return tuple(value)


def _environment(raw: Mapping[str, Any], where: str, fixed: Environment | None) -> Environment:
    # Required: a production terminal taken for a test one would take the test server's "payetest" as paid.
    configured = config_enum(Environment, raw, "environment", fixed, where)
    if fixed is not None and configured is not fixed:
        raise ConfigurationError(f"{where}.environment: {configured.value!r}: every terminal here is {fixed.value!r}")
    return configured


def terminal_from_mapping(
    tpe: str, raw: Mapping[str, Any], where: str, *, environment: Environment | None = None
) -> Terminal:
    """The protocol part of a terminal's configuration (key, ``societe``, bank, seal, currencies, ...).

    ``environment`` is required in ``raw`` unless the caller's side has only one (the sandbox bank is a test
    server: it passes ``Environment.TEST``). ``currencies`` defaults to EUR alone.
    """
    try:
        key = MerchantKey(_text(raw, "key", where))
    except InvalidKeyError as exc:
        raise ConfigurationError(f"{where}.key: {exc}") from None
    try:
        return Terminal(
            tpe=tpe,
            key=key,
            societe=_text(raw, "societe", where),
            bank=config_enum(Bank, raw, "bank", Bank.CIC, where),
            environment=_environment(raw, where, environment),
            seal=config_enum(SealVariant, raw, "seal", SealVariant.DSP2, where),
            currencies=_codes(raw, "currencies", where, DEFAULT_CURRENCIES),
            languages=_codes(raw, "languages", where, LANGUAGES),
            timezone=_text(raw, "timezone", where, "Europe/Paris"),
            payment_base_url=config_url(raw, "payment_base_url", where),
            backoffice_base_url=config_url(raw, "backoffice_base_url", where),
        )
    except FieldError as exc:
        raise ConfigurationError(f"{where}.{exc.field}: {exc.reason}") from None
