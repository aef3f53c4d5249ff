"""The strings to seal ("chaînes à sceller") and their MAC, in both protocol variants (docs/protocol.md, The seal)."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from ._key import MerchantKey
from .exceptions import FieldError, SealMismatchError

PROTOCOL_VERSION = "3.0"
MAC_FIELD = "MAC"

# What is sealed: name/value pairs, by name or in the order they are sent.
Fields = Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]]


class Variant(enum.Enum):
    """Which string is sealed: the DSP2 sorted one, or one of the legacy 3.0 fixed orders."""

    DSP2 = "dsp2"
    LEGACY_REQUEST = "legacy-request"
    LEGACY_CONFIRMATION = "legacy-confirmation"
    LEGACY_CAPTURE = "legacy-capture"


LEGACY_REQUEST_ORDER: tuple[str, ...] = (
    "TPE", "date", "montant", "reference", "texte-libre", "version", "lgue", "societe", "mail",
    "nbrech", "dateech1", "montantech1", "dateech2", "montantech2", "dateech3", "montantech3",
    "dateech4", "montantech4", "options",
)  # fmt: skip
LEGACY_CONFIRMATION_ORDER: tuple[str, ...] = (
    "TPE", "date", "montant", "reference", "texte-libre", "version", "code-retour", "cvx", "vld",
    "brand", "status3ds", "numauto", "motifrefus", "originecb", "bincb", "hpancb", "ipclient",
    "originetr", "veres", "pares",
)  # fmt: skip
_CAPTURE_AMOUNTS = ("montant_a_capturer", "montant_deja_capture", "montant_restant")
LEGACY_CAPTURE_ORDER: tuple[str, ...] = (
    "TPE", "date", "+".join(_CAPTURE_AMOUNTS), "reference", "texte-libre", "version", "lgue", "societe",
)  # fmt: skip


def _utf8(text: str, field: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON "\ud800", or undecodable input read with surrogateescape
        raise FieldError(field, "is not valid Unicode text") from None


def _as_bytes(value: str | bytes, field: str) -> bytes:
    return value if isinstance(value, bytes) else _utf8(value, field)


def _by_name(
    fields: Fields,
) -> dict[str, str | bytes]:
    """The fields by name, ``MAC`` left out; a name given twice is an error."""
    if isinstance(fields, dict):  # names are unique already
        by_name = dict(fields)
        by_name.pop(MAC_FIELD, None)
        return by_name
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    by_name = dict(pairs)
    if len(by_name) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise FieldError(name, "appears twice")
            seen.add(name)
    by_name.pop(MAC_FIELD, None)
    return by_name


def _dsp2_string(by_name: dict[str, str | bytes]) -> bytes:
    # Code point order is UTF-8 byte order, so sorting the names as text sorts them as the bank does.
    return b"*".join(_utf8(name, name) + b"=" + _as_bytes(by_name[name], name) for name in sorted(by_name))


def received_dsp2_string(by_name: Mapping[str, bytes]) -> bytes:
    """The DSP2 string of a received form's fields by name (``MAC`` left out), in one pass: the hot path of
    every confirmation. A name that is not valid Unicode raises ``UnicodeEncodeError``."""
    return b"*".join([name.encode() + b"=" + by_name[name] for name in sorted(by_name) if name != MAC_FIELD])


def sealed_string(
    fields: Fields,
    variant: Variant = Variant.DSP2,
    *,
    tpe: str | None = None,
    version: str = PROTOCOL_VERSION,
) -> bytes:
    """The exact bytes the MAC covers.

    DSP2: every field but ``MAC``, sorted by name in byte order, ``name=value`` joined by ``*``.
    Legacy: the fixed order of the variant, absent fields as empty slots. For legacy confirmations
    ``TPE`` and ``version`` come from the merchant's configuration (``tpe``, ``version``), not the post.
    """
    by_name = _by_name(fields)
    if variant is Variant.DSP2:
        return _dsp2_string(by_name)
    values = {name: _as_bytes(value, name) for name, value in by_name.items()}
    if variant is Variant.LEGACY_REQUEST:
        return b"*".join(values.get(name, b"") for name in LEGACY_REQUEST_ORDER)
    if variant is Variant.LEGACY_CONFIRMATION:
        if tpe is None:
            raise FieldError("TPE", "the merchant's own TPE is needed to check a legacy confirmation")
        values["TPE"] = _utf8(tpe, "TPE")
        values["version"] = _utf8(version, "version")
        return b"".join(values.get(name, b"") + b"*" for name in LEGACY_CONFIRMATION_ORDER)
    amounts = b"".join(values.get(name, b"") for name in _CAPTURE_AMOUNTS)
    slots = [values.get(name, b"") if "+" not in name else amounts for name in LEGACY_CAPTURE_ORDER]
    return b"".join(slot + b"*" for slot in slots)


def seal(
    key: MerchantKey,
    fields: Fields,
    variant: Variant = Variant.DSP2,
    *,
    tpe: str | None = None,
    version: str = PROTOCOL_VERSION,
) -> str:
    """The MAC (40 lower-case hex digits) of ``fields`` for ``variant``."""
    return key.mac(sealed_string(fields, variant, tpe=tpe, version=version))


def verify(
    key: MerchantKey,
    fields: Fields,
    mac: str,
    variant: Variant = Variant.DSP2,
    *,
    tpe: str | None = None,
    version: str = PROTOCOL_VERSION,
) -> None:
    """Raise ``SealMismatchError`` unless ``mac`` seals ``fields`` (constant-time, any letter case)."""
    check(key, sealed_string(fields, variant, tpe=tpe, version=version), mac)


def check(key: MerchantKey, data: bytes, mac: str) -> None:
    """Raise ``SealMismatchError`` unless ``mac`` seals the string ``data``."""
    if not key.matches(data, mac):
        raise SealMismatchError(data, mac)


def control_string(key: MerchantKey, tpe: str, version: str = PROTOCOL_VERSION) -> str:
    """The kits' control string, which the bank's support uses to check a key is installed right."""
    sealed = f"CtlHmac{version}{tpe}"
    return f"V1.04.sha1.py--[{sealed}]-{key.mac(_utf8(sealed, 'TPE'))}"
