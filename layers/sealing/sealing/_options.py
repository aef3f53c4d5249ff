"""The payment request's options (``aliascb``, ``forcesaisiecb``, ``libelleMonetique``...), checked one by one.

A DSP2 terminal posts each option as its own field, which the sorted seal then covers; a legacy 3.0 terminal
packs them into one ``options`` field (``aliascb=client7&forcesaisiecb=1``), the last slot of its fixed-order
seal. The names and values the bank takes are the same either way, and are checked here, each naming the
option at fault; a name the bank does not know is refused, never sent on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .exceptions import FieldError

_PAYMENT_MEANS = ("1euro", "3xcb", "4xcb", "paypal", "lyfpay")
_FLAG = (re.compile(r"[01]"), '"0" or "1"')
OPTION_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "3dsdebrayable": _FLAG,  # allow the bank to skip 3-D Secure
    "aliascb": (re.compile(r"[A-Za-z0-9]{1,64}"), "1 to 64 letters or digits (the buyer's alias)"),
    "forcesaisiecb": _FLAG,  # ask for the card even when one is saved under the alias
    "libelleMonetique": (re.compile(r"[A-Za-z0-9 ]{1,32}"), "1 to 32 letters, digits or spaces"),
    # city\postal code\ISO 3166-1 alpha-3 country, the postal code may be empty: "Strasbourg\67000\FRA"
    "libelleMonetiqueLocalite": (
        re.compile(r"(?=.{1,32}\Z)[-A-Za-z0-9 ]+\\[-A-Za-z0-9 ]*\\[A-Za-z]{3}"),
        r'at most 32 characters like "Strasbourg\67000\FRA"',
    ),
    "desactivemoyenpaiement": (
        re.compile(rf"(?:{'|'.join(_PAYMENT_MEANS)})(?:,(?:{'|'.join(_PAYMENT_MEANS)}))*"),
        f"a comma-separated list of {', '.join(_PAYMENT_MEANS)}",
    ),
    "mode_affichage": (re.compile(r"iframe"), '"iframe" (the page shown in the merchant\'s frame)'),
}
OPTIONS: tuple[str, ...] = tuple(OPTION_RULES)


def check_option(name: str, value: str, field: str) -> str:
    """``value`` if the bank takes it for option ``name``; else ``FieldError`` naming ``field``."""
    rule = OPTION_RULES.get(name)
    if rule is None:
        raise FieldError(field, f"is not an option the bank knows ({', '.join(OPTIONS)})")
    pattern, expected = rule
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise FieldError(field, f"{str(value)[:80]!r} is not {expected}")
    if name == "desactivemoyenpaiement" and len(set(value.split(","))) != len(value.split(",")):
        raise FieldError(field, f"{value!r} names a payment means twice")
    return value


def check_options(options: Mapping[str, str], where: str = "options") -> list[tuple[str, str]]:
    """Every option checked, in the order given; errors name ``<where>.<name>``."""
    return [(name, check_option(name, value, f"{where}.{name}")) for name, value in options.items()]


def packed_options(options: list[tuple[str, str]]) -> str:
    """The legacy 3.0 ``options`` field: ``name=value`` joined by ``&``."""
    return "&".join(f"{name}={value}" for name, value in options)


def unpacked_options(text: str, field: str = "options") -> dict[str, str]:
    """A legacy ``options`` field read back, each option checked (what the bank does with it)."""
    options: dict[str, str] = {}
    for part in text.split("&") if text else ():
        name, separator, value = part.partition("=")
        if not separator:
            raise FieldError(field, f"{part[:40]!r} is not name=value")
        if name in options:
            raise FieldError(f"{field}.{name}", "appears twice")
        options[name] = check_option(name, value, f"{field}.{name}")
    return options
