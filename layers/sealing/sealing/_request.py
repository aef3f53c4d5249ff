"""The payment request (CGI1, the kits' ``CreerFormulaireCM``): an order as sealed hidden fields."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from ._context import BILLING_REQUIRED, check_order_context, order_context
from ._formats import (
    check_email,
    check_free_text,
    check_language,
    check_reference,
    check_sealable,
    format_day,
    format_order_date,
    local_time,
)
from ._money import Money, require_positive
from ._options import check_option, check_options, packed_options
from ._seal import MAC_FIELD, seal
from ._terminal import SealVariant, Terminal
from .exceptions import FieldError

THREE_DS_CHALLENGES: tuple[str, ...] = (
    "no_preference",
    "challenge_preferred",
    "challenge_mandated",
    "no_challenge_requested",
    # no challenge, and why: authenticated strongly already, by a trusted third party, or by the risk analysis
    "no_challenge_requested_strong_authentication",
    "no_challenge_requested_trusted_third_party",
    "no_challenge_requested_risk_analysis",
)


@dataclass(frozen=True)
class Instalment:
    """One instalment of a split payment: when and how much."""

    due: date
    amount: Money


@dataclass(frozen=True)
class PaymentRequest:
    """What the merchant asks the bank to collect. Attribute names are the domain's; see ``fields()``.

    ``card_alias`` (the option ``aliascb``) names the buyer whose card the bank keeps on file; ``options`` are
    the other options by their wire names (``forcesaisiecb``, ``libelleMonetique``...).
    """

    amount: Money
    reference: str
    ordered_at: datetime
    email: str
    language: str = "FR"
    free_text: str = ""
    return_ok_url: str = ""
    return_err_url: str = ""
    billing: Mapping[str, Any] | None = None
    shipping: Mapping[str, Any] | None = None
    instalments: tuple[Instalment, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    three_ds_challenge: str | None = None
    card_alias: str = ""


@dataclass(frozen=True)
class PaymentForm:
    """The form the buyer's browser posts to the bank: ``action`` and ordered hidden ``fields``."""

    action: str
    fields: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, str]:
        return dict(self.fields)

    @property
    def mac(self) -> str:
        return self.as_dict()[MAC_FIELD]


def last_instalment_day(ordered_on: date) -> date:
    """The latest day an instalment may fall on: the order date a year on (28 February for a 29 February).

    No public source gives the bank's own limit; a year bounds what the kit keeps track of (the books and the
    reconciliation look a year back for split payments) and refuses dates like 9999-12-31."""
    try:
        return ordered_on.replace(year=ordered_on.year + 1)
    except ValueError:  # 29 February, and no 29 February a year on
        return ordered_on.replace(year=ordered_on.year + 1, day=28)


def _check_instalments(request: PaymentRequest, ordered_on: date) -> None:
    instalments = request.instalments
    if not instalments:
        return
    if not 2 <= len(instalments) <= 4:
        raise FieldError("instalments", f"a split payment has 2 to 4 instalments, not {len(instalments)}")
    if instalments[0].due != ordered_on:
        raise FieldError("instalments[0].due", "the first instalment falls on the order date")
    for index, (before, after) in enumerate(itertools.pairwise(instalments), start=1):
        if after.due <= before.due:
            raise FieldError(f"instalments[{index}].due", "instalment dates must increase")
    latest = last_instalment_day(ordered_on)
    for index, instalment in enumerate(instalments):
        if instalment.due > latest:
            detail = f"an instalment falls at most a year after the order date ({latest.isoformat()} at the latest)"
            raise FieldError(f"instalments[{index}].due", detail)
    for index, instalment in enumerate(instalments):
        if instalment.amount.currency != request.amount.currency:
            raise FieldError(f"instalments[{index}].amount", "must be in the order's currency")
        require_positive(instalment.amount, f"instalments[{index}].amount")
    total = sum((i.amount.amount for i in instalments), start=request.amount.amount * 0)
    if total != request.amount.amount:
        raise FieldError("instalments", f"add up to {total}, the order is {request.amount.amount}")


def _option_fields(request: PaymentRequest, dsp2: bool) -> list[tuple[str, str]]:
    """DSP2: each option its own field, under the sorted seal; legacy: all in ``options``, its seal's last slot."""
    options = check_options(request.options)
    if request.card_alias:
        if "aliascb" in request.options:
            raise FieldError("options.aliascb", "is given twice (card_alias is the same option)")
        options.append(("aliascb", check_option("aliascb", request.card_alias, "card_alias")))
    if dsp2 or not options:
        return options
    return [("options", packed_options(options))]


def _check_url(url: str, field: str) -> str:
    if not url.isascii() or not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise FieldError(field, f"{url!r} is not an http(s) URL")
    return check_sealable(url, field)


def build_payment_form(terminal: Terminal, request: PaymentRequest) -> PaymentForm:
    """Validate ``request`` against ``terminal`` and produce the sealed form, fields in a stable order."""
    require_positive(request.amount)
    if request.amount.currency not in terminal.currencies:
        raise FieldError("currency", f"{request.amount.currency} is not one of {', '.join(terminal.currencies)}")
    check_reference(request.reference)
    check_language(request.language, terminal.languages)
    check_email(request.email)
    check_free_text(request.free_text)
    if request.three_ds_challenge is not None and request.three_ds_challenge not in THREE_DS_CHALLENGES:
        raise FieldError("three_ds_challenge", f"must be one of {', '.join(THREE_DS_CHALLENGES)}")
    moment = local_time(request.ordered_at, terminal.timezone)
    _check_instalments(request, moment.date())
    dsp2 = terminal.seal is SealVariant.DSP2

    fields: list[tuple[str, str]] = [
        ("TPE", terminal.tpe),
        ("date", format_order_date(moment)),
        ("montant", request.amount.wire()),
        ("reference", request.reference),
        ("texte-libre", request.free_text),
        ("version", terminal.version),
        ("lgue", request.language),
        ("societe", terminal.societe),
        ("mail", request.email),
    ]
    if request.instalments:
        fields.append(("nbrech", str(len(request.instalments))))
        for number, instalment in enumerate(request.instalments, start=1):
            fields.append((f"dateech{number}", format_day(instalment.due)))
            fields.append((f"montantech{number}", instalment.amount.wire()))
    fields.extend(_option_fields(request, dsp2))
    check_order_context(request.billing, request.shipping)  # legacy terminals do not send it: still no bad one
    if dsp2:
        if request.billing is None:
            raise FieldError("billing", f"is required for 3-D Secure v2 ({', '.join(BILLING_REQUIRED)})")
        fields.append(("contexte_commande", order_context(request.billing, request.shipping)))
        if request.three_ds_challenge:
            fields.append(("ThreeDSecureChallenge", request.three_ds_challenge))
    urls = (
        ("url_retour_ok", "return_ok_url", request.return_ok_url),
        ("url_retour_err", "return_err_url", request.return_err_url),
    )
    for name, attribute, url in urls:
        if url:
            fields.append((name, _check_url(url, attribute)))
    if not dsp2 and request.return_ok_url:
        fields.append(("url_retour", request.return_ok_url))
    for name, value in fields:  # every value was checked by its own rule; none may hold the seal's separator
        check_sealable(value, name)
    mac = seal(terminal.key, fields, terminal.seal.for_request())
    fields.append((MAC_FIELD, mac))
    return PaymentForm(action=terminal.payment_url, fields=tuple(fields))


def form_body(form: PaymentForm) -> bytes:
    """The form as the browser would post it (``application/x-www-form-urlencoded``)."""
    return urlencode(form.fields).encode("ascii")
