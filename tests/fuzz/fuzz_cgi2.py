"""atheris (coverage-guided) on CGI2's service: ``python tests/fuzz/fuzz_cgi2.py [libFuzzer options]``.

Seeded with genuine confirmations (written to the corpus directory given, if any) so that it explores bodies
next to a valid one: duplicated, re-encoded, truncated, padded fields. Any AssertionError or unexpected
exception is a crash that libFuzzer reports with the input that caused it. The suite runs it for a few
thousand inputs (tests/functional/test_fuzz.py); run it longer with ``-runs=1000000`` or ``-max_total_time=600``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "layers" / "sealing", ROOT / "layers" / "orders"):
    sys.path.insert(0, str(path))

with atheris.instrument_imports(include=["sealing", "orders"]):
    from tests.fuzz.cgi2_target import check, valid_body


def test_one_input(data: bytes) -> None:
    check(data)


def seed(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    seeds = [valid_body(), valid_body("Annulation", numauto="", motifrefus="Refus"), valid_body("paiement_pf2")]
    for number, body in enumerate(seeds):
        (corpus / f"seed-{number}").write_bytes(body)


def main() -> None:
    corpora = [Path(arg) for arg in sys.argv[1:] if not arg.startswith("-")]
    for corpus in corpora:
        seed(corpus)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
