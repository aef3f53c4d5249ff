"""``contexte_commande`` (DSP2): the billing and shipping blocks, checked against the bank's limits.

The limits are those of Monetico's DSP2 documentation for the order context. A value the bank would
refuse (or cut) is refused here, naming it as the merchant sent it (``billing.city``), before an order is
stored; a name the bank does not know is refused too, never sent on as a guess.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .exceptions import FieldError

BILLING_REQUIRED = ("addressLine1", "city", "postalCode", "country")


@dataclass(frozen=True)
class _Rule:
    longest: int
    pattern: re.Pattern[str] | None = None
    example: str = ""

    def check(self, value: str, field: str) -> None:
        if len(value) > self.longest:
            should_be = f", and must be {self.example}" if self.example else ""
            raise FieldError(
                field, f"is {len(value)} characters long, the bank accepts at most {self.longest}{should_be}"
            )
        if self.pattern is not None and not self.pattern.fullmatch(value):
            raise FieldError(field, f"{value!r} is not {self.example}")


def _one_of(*values: str) -> _Rule:
    return _Rule(max(map(len, values)), re.compile("|".join(map(re.escape, values))), "one of " + ", ".join(values))


_PHONE = _Rule(18, re.compile(r"\+[0-9]{1,3}-[0-9]{1,14}"), 'a phone number like "+33-612345678"')
_ADDRESS: dict[str, _Rule] = {
    "civility": _Rule(32, re.compile(r"[^\W\d_]+(?: [^\W\d_]+)*"), 'letters only, like "Mme"'),
    "name": _Rule(45),
    "firstName": _Rule(45),
    "lastName": _Rule(45),
    "middleName": _Rule(150),
    "address": _Rule(255),
    "addressLine1": _Rule(50),
    "addressLine2": _Rule(50),
    "addressLine3": _Rule(50),
    "city": _Rule(50),
    "postalCode": _Rule(10),
    "country": _Rule(2, re.compile(r"[A-Z]{2}"), 'an ISO 3166-1 alpha-2 code like "FR"'),
    # 3-D Secure v2 carries the subdivision part of the ISO 3166-2 code, at most 3 characters ("CA" of US-CA).
    "stateOrProvince": _Rule(3, re.compile(r"[A-Z0-9]{1,3}"), 'an ISO 3166-2 subdivision code like "CA"'),
    "countrySubdivision": _Rule(6, re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}"), 'an ISO 3166-2 code like "FR-75"'),
    "email": _Rule(254, re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"), "an e-mail address"),
    "phone": _PHONE,
}
BILLING_FIELDS: dict[str, _Rule] = {**_ADDRESS, "mobilePhone": _PHONE, "homePhone": _PHONE, "workPhone": _PHONE}
SHIPPING_FIELDS: dict[str, _Rule] = {
    **_ADDRESS,
    "shipIndicator": _one_of(
        "digital_goods", "travel_and_event", "billing_address", "verified_address", "another_address", "pick-up",
        "other",
    ),
    "deliveryTimeframe": _one_of("same_day", "overnight", "two_day", "three_day", "long", "other", "none"),
    "firstUseDate": _Rule(10, re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "a date like 2026-11-27"),
}  # fmt: skip


def check_block(block: Mapping[str, Any], name: str, rules: Mapping[str, _Rule]) -> dict[str, str]:
    """``block`` (``billing`` or ``shipping``) as the bank takes it: known names, strings within its limits.

    A blank value is left out (the bank refuses an empty string in the order context): what a form left empty
    is not sent at all; a required field left blank is then missing, which ``order_context`` names.
    """
    if not isinstance(block, Mapping):
        raise FieldError(name, "must be an object")
    unknown = sorted(key for key in block if key not in rules)
    if unknown:
        raise FieldError(f"{name}.{unknown[0]}", f"is not a {name} field the bank knows")
    checked: dict[str, str] = {}
    for key, value in block.items():
        field = f"{name}.{key}"
        if not isinstance(value, str):
            raise FieldError(field, "must be a string")
        if not value.strip():
            continue
        rules[key].check(value, field)
        checked[key] = value
    if "firstUseDate" in checked:
        try:
            date.fromisoformat(checked["firstUseDate"])
        except ValueError:
            raise FieldError(f"{name}.firstUseDate", f"{checked['firstUseDate']!r} is not a real date") from None
    return checked


def check_order_context(billing: Mapping[str, Any] | None, shipping: Mapping[str, Any] | None = None) -> None:
    """Refuse, naming the field, a billing or shipping block the bank would not take."""
    if billing is not None:
        check_block(billing, "billing", BILLING_FIELDS)
    if shipping:
        check_block(shipping, "shipping", SHIPPING_FIELDS)


def order_context(billing: Mapping[str, Any], shipping: Mapping[str, Any] | None = None) -> str:
    """``contexte_commande``: base64 of the UTF-8 JSON order context (DSP2), blank values left out."""
    sent_billing = check_block(billing, "billing", BILLING_FIELDS)
    sent_shipping = check_block(shipping, "shipping", SHIPPING_FIELDS) if shipping else {}
    missing = [name for name in BILLING_REQUIRED if name not in sent_billing]
    if missing:
        raise FieldError(f"billing.{missing[0]}", "is required for 3-D Secure v2")
    context: dict[str, Any] = {"billing": sent_billing}
    if sent_shipping:  # never an empty shipping block
        context["shipping"] = sent_shipping
    raw = json.dumps(context, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")
