"""The command line: find out why the bank rejects a seal, or seal fields from a script.

Exit codes: 0 done (``verify``: the seal holds), 1 the seal does not hold, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from ._confirmation import parse_form
from ._key import MerchantKey
from ._money import parse_request_amount
from ._seal import MAC_FIELD, Variant, control_string, seal, sealed_string
from .exceptions import InvalidKeyError, SealingError

EXIT_VALID, EXIT_MISMATCH, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message}\n")


KEY_ENVIRONMENT = "SEALING_KEY"
# The amounts a merchant writes, in a payment request or a back-office call: the bank reads them as
# ``Money.wire`` writes them (``62.73EUR``, ``1000JPY``); a back-office call writes a nil one ``0EUR``.
REQUEST_AMOUNTS = ("montant", "montantech1", "montantech2", "montantech3", "montantech4")
BACKOFFICE_AMOUNTS = (
    "montant_a_capturer", "montant_deja_capture", "montant_restant", "montant_recredit", "montant_possible",
)  # fmt: skip


def _key_argument(command: argparse.ArgumentParser) -> None:
    # The environment keeps the key out of the process list and the shell history.
    command.add_argument("--key", help=f"the merchant key (40 characters); default: ${KEY_ENVIRONMENT}")


def _merchant_key(given: str | None) -> MerchantKey:
    """The key from ``--key`` or the environment; an error names where the bad one came from."""
    source, text = ("--key", given) if given is not None else (KEY_ENVIRONMENT, os.environ.get(KEY_ENVIRONMENT))
    if not text:
        raise SealingError(f"no merchant key: give --key or set {KEY_ENVIRONMENT}")
    try:
        return MerchantKey(text)
    except InvalidKeyError as exc:
        raise SealingError(f"{source}: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m sealing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    variants = [variant.value for variant in Variant]
    for name, help_text in (
        ("seal", "read a JSON object of field name -> value on stdin, print its MAC"),
        ("verify", "read a form-urlencoded body on stdin, say whether its MAC holds"),
    ):
        command = commands.add_parser(name, help=help_text)
        _key_argument(command)
        command.add_argument("--variant", choices=variants, default=Variant.DSP2.value)
        command.add_argument("--tpe", help="legacy confirmations: the merchant's own TPE")
    control = commands.add_parser("control", help="print the kit's control string for a terminal")
    _key_argument(control)
    control.add_argument("--tpe", required=True)
    return parser


def _read_bytes(stdin: TextIO) -> bytes:
    # The bytes as they came: a text layer may have replaced undecodable ones (surrogateescape).
    return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8", "surrogatepass")


def _read_json_fields(stdin: TextIO) -> dict[str, str]:
    raw = _read_bytes(stdin)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SealingError("stdin is not UTF-8") from None
    except ValueError as exc:
        raise SealingError(f"stdin is not JSON: {exc}") from None
    except RecursionError:
        raise SealingError("stdin is not a JSON object of field name -> value (nested too deep)") from None
    if not isinstance(data, dict):
        raise SealingError("stdin must hold a JSON object of field name -> value")
    fields: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise SealingError(f"{name!r}: the value must be a string")
        fields[name] = str(value)
    return fields


def _check_amounts(fields: dict[str, str], variant: Variant) -> None:
    """A merchant's amount the bank would misread is an error (``6273EUR`` is not 62.73 EUR); a confirmation's
    amounts are the bank's own writing, sealed as they are. An empty one is a legacy string's unused slot."""
    if variant is Variant.LEGACY_CONFIRMATION or "code-retour" in fields:
        return
    for name in (*REQUEST_AMOUNTS, *BACKOFFICE_AMOUNTS):
        value = fields.get(name)
        if not value or (name in BACKOFFICE_AMOUNTS and value[:1] == "0" and value[1:].isalpha()):
            continue
        parse_request_amount(value, name)


def _run(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    key = _merchant_key(args.key)
    if args.command == "control":
        print(control_string(key, args.tpe), file=stdout)
        return EXIT_VALID
    variant = Variant(args.variant)
    if variant is Variant.LEGACY_CONFIRMATION and not args.tpe:
        raise SealingError("--tpe is required with --variant legacy-confirmation")
    if args.command == "seal":
        fields = _read_json_fields(stdin)
        _check_amounts(fields, variant)
        print(seal(key, fields, variant, tpe=args.tpe), file=stdout)
        return EXIT_VALID
    # A file's final line break is not part of the body the bank posted.
    form = parse_form(_read_bytes(stdin).rstrip(b"\r\n"))
    received = form.mac
    data = sealed_string(form.fields, variant, tpe=args.tpe)
    if key.matches(data, received):
        print("valid", file=stdout)
        return EXIT_VALID
    print(f"sealed: {data.decode('utf-8', 'backslashreplace')}", file=stdout)
    print(f"expected MAC: {key.mac(data)}", file=stdout)
    print(f"received MAC: {received}", file=stdout)
    return EXIT_MISMATCH


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args, stdin or sys.stdin, stdout or sys.stdout)
    except SealingError as exc:
        # One line whatever the input held (a field name may carry a newline).
        print("error:", " ".join(str(exc).splitlines()), file=sys.stderr)
        return EXIT_BAD_INPUT


__all__ = ["MAC_FIELD", "main"]
