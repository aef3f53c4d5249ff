"""The public test vectors (docs/protocol.md, Test vectors) through ``sealing`` as its wheel installed it.

tests/integration/test_sealing_wheel.py runs this with each fresh venv's own interpreter, from the repository's
root so that the vectors import (``python -m tests.support.installed_sealing``); ``sealing`` itself must come from
that venv's site-packages, never from the repository. Written for the oldest Python the package supports (3.10).
Prints ``ok <check>`` for each check that holds; exits non-zero, naming it, on the first that does not.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

import sealing
from sealing import MerchantKey, Money, SealVariant, Terminal, Variant
from tests.support import sealing_vectors as v

TEST_KEY = MerchantKey(v.TEST_KEY)
Fields = list[tuple[str, str]]


class Failed(Exception):
    pass


def expect(holds: bool, what: str) -> None:
    if not holds:
        raise Failed(what)


def eur(text: str) -> Money:
    return Money(Decimal(text), "EUR")


def terminal(seal: SealVariant) -> Terminal:
    return Terminal(tpe="1234567", key=TEST_KEY, societe="monSite1", seal=seal)


def installed_here() -> None:
    package = Path(sealing.__file__).resolve().parent
    site_packages = Path(sysconfig.get_paths()["purelib"]).resolve()
    expect(package.parent == site_packages, f"sealing imported from {package}, not from {site_packages}")
    expect((package / "py.typed").is_file(), f"no py.typed in {package}")


# name, key, fields, the string they seal, its MAC, variant, the merchant's TPE (legacy confirmations)
SEALS: list[tuple[str, MerchantKey, Fields, str, str, Variant, str | None]] = [
    ("legacy request", TEST_KEY, v.legacy_pairs(v.LEGACY_REQUEST, v.LEGACY_REQUEST_SLOTS), v.LEGACY_REQUEST,
     v.LEGACY_REQUEST_MAC, Variant.LEGACY_REQUEST, None),
    ("legacy instalments", TEST_KEY, v.legacy_pairs(v.LEGACY_INSTALMENTS, v.LEGACY_REQUEST_SLOTS),
     v.LEGACY_INSTALMENTS, v.LEGACY_INSTALMENTS_MAC, Variant.LEGACY_REQUEST, None),
    ("legacy confirmation", TEST_KEY, v.legacy_pairs(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS),
     v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC, Variant.LEGACY_CONFIRMATION, "1234567"),
    ("legacy capture", TEST_KEY, list(v.LEGACY_CAPTURE_FIELDS.items()), v.LEGACY_CAPTURE, v.LEGACY_CAPTURE_MAC,
     Variant.LEGACY_CAPTURE, None),
    ("dsp2 request", TEST_KEY, v.sorted_pairs(v.DSP2_REQUEST), v.DSP2_REQUEST, v.DSP2_REQUEST_MAC, Variant.DSP2,
     None),
    ("dsp2 confirmation", TEST_KEY, v.sorted_pairs(v.DSP2_CONFIRMATION), v.DSP2_CONFIRMATION,
     v.DSP2_CONFIRMATION_MAC, Variant.DSP2, None),
    ("short key confirmation", MerchantKey(v.SHORT_KEY),
     v.legacy_pairs(v.SHORT_KEY_CONFIRMATION, v.LEGACY_CONFIRMATION_SLOTS), v.SHORT_KEY_CONFIRMATION,
     v.SHORT_KEY_CONFIRMATION_MAC, Variant.LEGACY_CONFIRMATION, "bar"),
]  # fmt: skip


def seals_and_verifies(
    key: MerchantKey, fields: Fields, sealed: str, mac: str, variant: Variant, tpe: str | None
) -> None:
    expect(sealing.sealed_string(fields, variant, tpe=tpe) == sealed.encode(), "the sealed string")
    expect(sealing.seal(key, fields, variant, tpe=tpe) == mac.lower(), "the MAC")
    sealing.verify(key, fields, mac.upper(), variant, tpe=tpe)
    try:
        sealing.verify(key, fields, "0" * 40, variant, tpe=tpe)
    except sealing.SealMismatchError:
        return
    raise Failed("a wrong MAC was taken")


def payment_forms() -> None:
    request = sealing.PaymentRequest(
        amount=eur("62.73"),
        reference="ABERTPY00145",
        ordered_at=datetime(2006, 12, 5, 11, 55, 23),
        email="internaute@sonemail.fr",
        free_text="ExempleTexteLibre",
        return_ok_url="https://shop.example/ok",
        return_err_url="https://shop.example/err",
        billing=v.DSP2_BILLING,
    )
    dsp2 = sealing.build_payment_form(terminal(SealVariant.DSP2), request)
    expect(v.dsp2_string(list(dsp2.fields)) == v.DSP2_REQUEST, "the DSP2 form's fields")
    expect(dsp2.mac.lower() == v.DSP2_REQUEST_MAC.lower(), "the DSP2 form's MAC")
    legacy = sealing.build_payment_form(terminal(SealVariant.LEGACY), replace(request, billing=None))
    expect(legacy.mac == v.LEGACY_REQUEST_MAC, "the legacy form's MAC")


def confirmations() -> None:
    form = sealing.parse_form(v.dsp2_body(v.DSP2_CONFIRMATION, v.DSP2_CONFIRMATION_MAC))
    confirmation = sealing.read_confirmation(sealing.verify_confirmation(form, TEST_KEY))
    expect(confirmation.amount == eur("62.73") and confirmation.accepted, "the DSP2 confirmation read")
    legacy = sealing.parse_form(v.legacy_confirmation_body(v.LEGACY_CONFIRMATION, v.LEGACY_CONFIRMATION_MAC))
    sealing.verify_confirmation(legacy, TEST_KEY, Variant.LEGACY_CONFIRMATION, tpe="1234567")
    expect(sealing.acknowledgement(True).body == "version=2\ncdr=0\n", "the acknowledgement")


def capture() -> None:
    """The legacy capture vector's fields, as ``capture_request`` makes them from its amounts and dates."""
    wire = v.LEGACY_CAPTURE_FIELDS
    amounts = {
        argument: sealing.parse_wire_amount(wire[name])
        for argument, name in [
            ("to_capture", "montant_a_capturer"),
            ("already_captured", "montant_deja_capture"),
            ("remaining", "montant_restant"),
        ]
    }
    request = sealing.capture_request(
        terminal(SealVariant.LEGACY),
        reference=wire["reference"],
        ordered_on=date(2006, 12, 5),
        total=sum(amounts.values(), start=eur("0")),
        at=datetime.strptime(wire["date"], "%d/%m/%Y:%H:%M:%S"),
        **amounts,
    )
    fields = request.as_dict()
    expect({name: fields[name] for name in wire} == wire, "the legacy capture's fields")
    expect(fields["MAC"] == v.LEGACY_CAPTURE_MAC, "the legacy capture's MAC")


def main() -> int:
    steps: list[tuple[str, Callable[[], None]]] = [("installed", installed_here)]
    steps += [(name, partial(seals_and_verifies, *arguments)) for name, *arguments in SEALS]
    steps += [("payment forms", payment_forms), ("confirmations", confirmations), ("capture", capture)]
    for name, step in steps:
        try:
            step()
        except (Failed, sealing.SealingError) as exc:
            print(f"{name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"ok {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
