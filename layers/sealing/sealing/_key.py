"""The merchant key: 40 characters from the bank, 20 bytes for HMAC-SHA1 (docs/protocol.md, The key)."""

from __future__ import annotations

import hashlib
import hmac
import re
import string

from .exceptions import InvalidKeyError

_HEX = frozenset(string.hexdigits)
# A MAC as the bank writes it: 40 hex digits, either case, nothing around them. Anything else (padding,
# a newline, a non-breaking space) is refused rather than trimmed, so one seal has one spelling.
_MAC = re.compile(r"[0-9A-Fa-f]{40}")


def canonical_mac(mac: str) -> str | None:
    """The MAC in lower case when it is spelt as the bank writes it, else ``None``."""
    return mac.lower() if _MAC.fullmatch(mac) else None


def _usable_key_text(text: str) -> str:
    """Apply the official kits' ``_getUsableKey`` fix-up to the last two characters of a 40-char key."""
    head, c38, c39 = text[:38], text[38], text[39]
    if 71 <= ord(c38) <= 96:  # 'G'..'`': the kits' encoding of a digit in position 38
        c38 = chr(ord(c38) - 23)
    elif c39 == "M":
        c39 = "0"
    return head + c38 + c39


class MerchantKey:
    """A merchant's secret key, ready to seal. Its value never appears in a repr, str or error."""

    __slots__ = ("_bytes",)

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise InvalidKeyError("the merchant key must be text")
        text = text.strip()
        if len(text) == 40:
            text = _usable_key_text(text)
            if not _HEX.issuperset(text):
                # The length is right: saying it must be 40 characters would send the reader the wrong way.
                raise InvalidKeyError(
                    "the merchant key has 40 characters but not the bank's: hexadecimal digits, the last two "
                    "as the bank's kits write them (a character mistyped or copied from the wrong place?)"
                )
        if len(text) < 32 or len(text) % 2 or not _HEX.issuperset(text):
            raise InvalidKeyError(
                f"the merchant key must be 40 characters as issued by the bank, or an even number of "
                f"hexadecimal digits (got {len(text)} characters, not a valid key)"
            )
        self._bytes = bytes.fromhex(text)

    def mac(self, data: bytes) -> str:
        """HMAC-SHA1 of ``data``, 40 lower-case hex digits."""
        return hmac.new(self._bytes, data, hashlib.sha1).hexdigest()

    def matches(self, data: bytes, mac: str) -> bool:
        """Whether ``mac`` seals ``data``: constant-time, case-insensitive, exactly 40 hex digits."""
        expected = self.mac(data).encode("ascii")
        received = canonical_mac(mac)
        return hmac.compare_digest(expected, received.encode("ascii") if received else b"")

    def __repr__(self) -> str:
        return "MerchantKey(<hidden>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MerchantKey) and hmac.compare_digest(self._bytes, other._bytes)

    def __hash__(self) -> int:
        return hash(hashlib.sha256(self._bytes).digest())

    def __reduce__(self) -> None:  # type: ignore[override]
        raise TypeError("a MerchantKey cannot be pickled")
