"""Micro-benchmark: verifying one DSP2 confirmation, as a ratio to a bare HMAC-SHA1 of the same string.

Measures ``parse_form`` + ``verify_confirmation`` + ``read_confirmation`` on the urlencoded body of
the DSP2 confirmation vector (docs/protocol.md, Test vectors) against
``hmac.new(key, data, hashlib.sha1).hexdigest()`` + ``hmac.compare_digest`` on the string that vector seals,
both in the same run, best of several repeats.
Not a test: timings depend on the machine; for information (``make bench`` holds the goal, as
``verify_vs_minimal``: against a minimal faithful verifier, not a bare HMAC no parser can approach).

    .venv/bin/python benchmarks/verify_confirmation.py [--number N] [--repeat R]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

LAYER = Path(__file__).resolve().parents[1] / "layers" / "sealing"
if str(LAYER) not in sys.path:  # run as a script from a checkout: the layer is not installed
    sys.path.insert(0, str(LAYER))

from sealing import MerchantKey, parse_form, read_confirmation, verify_confirmation  # noqa: E402

# docs/protocol.md, Test vectors: the kits' test key and the DSP2 confirmation vector.
KEY_TEXT = "12345678901234567890123456789012345678P0"
KEY_BYTES = bytes.fromhex("1234567890123456789012345678901234567890")
SEALED = (
    "TPE=1234567*authentification=eyJzdGF0dXMiOiJhdXRoZW50aWNhdGVkIiwicHJvdG9jb2wiOiIzRFNlY3VyZSIsInZlcnNpb24iOiIy"
    "LjEuMCJ9*bincb=000003*brand=VI*code-retour=payetest*cvx=oui*date=05/12/2006_a_11:55:23*ecard=non*"
    "hpancb=74E94B03C22D786E0F2C2CADBFC1C00B004B7C45*ipclient=127.0.0.1*modepaiement=CB*montant=62.73EUR*"
    "motifrefus=*numauto=000000*originecb=FRA*originetr=FRA*reference=ABERTPY00145*texte-libre=ExempleTexteLibre*"
    "typecompte=particulier*usage=credit*vld=1208"
)
MAC = "C54AF192B0C4398A3C508AEDA41F568A46A4AF00"


def confirmation_body() -> bytes:
    """The vector as the bank posts it: form-urlencoded, MAC last."""
    pairs = [(name, value) for name, _, value in (part.partition("=") for part in SEALED.split("*"))]
    return urlencode([*pairs, ("MAC", MAC)]).encode("ascii")


@dataclass(frozen=True)
class Timing:
    number: int
    verify_seconds: float
    bare_hmac_seconds: float

    @property
    def ratio(self) -> float:
        return self.verify_seconds / self.bare_hmac_seconds


def measure(number: int, repeat: int) -> Timing:
    body = confirmation_body()
    key = MerchantKey(KEY_TEXT)
    data = SEALED.encode("ascii")
    received = MAC.lower()

    def verify() -> object:
        form = parse_form(body)
        verify_confirmation(form, key)
        return read_confirmation(form)

    def bare_hmac() -> bool:
        return hmac.compare_digest(hmac.new(KEY_BYTES, data, hashlib.sha1).hexdigest(), received)

    if not bare_hmac():  # both sides must do the real work on valid data
        raise AssertionError("the bare HMAC does not match the vector")
    verify()

    def once(function: Callable[[], object]) -> float:
        return timeit.timeit(function, number=number) / number

    # Interleave the two so that a change in machine load affects both alike; keep the best of each.
    verify_best, bare_best = float("inf"), float("inf")
    for _ in range(repeat):
        verify_best = min(verify_best, once(verify))
        bare_best = min(bare_best, once(bare_hmac))
    return Timing(number=number, verify_seconds=verify_best, bare_hmac_seconds=bare_best)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing (default 20000)")
    parser.add_argument("--repeat", type=int, default=5, help="timings; the best one counts (default 5)")
    args = parser.parse_args(argv)
    timing = measure(max(args.number, 1), max(args.repeat, 1))
    print(f"verify one DSP2 confirmation: {timing.verify_seconds * 1e6:8.2f} µs")
    print(f"bare hmac + compare_digest:   {timing.bare_hmac_seconds * 1e6:8.2f} µs")
    print(f"ratio: {timing.ratio:.2f}x (for information; best of {args.repeat} x {timing.number} calls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
