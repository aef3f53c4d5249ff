"""The public test vectors of docs/protocol.md, Test vectors, and independent helpers to check MACs against.

The helpers here re-implement the protocol in the plainest way (no code from ``sealing``), so a test
that compares ``sealing`` with them can fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlencode

TEST_KEY = "12345678901234567890123456789012345678P0"
TEST_KEY_BYTES = bytes.fromhex("1234567890123456789012345678901234567890")
SHORT_KEY = "3858F62230AC3C915F300C664312C63F"

LEGACY_REQUEST = (
    "1234567*05/12/2006:11:55:23*62.73EUR*ABERTPY00145*ExempleTexteLibre*3.0*FR*monSite1*"
    "internaute@sonemail.fr**********"
)
LEGACY_REQUEST_MAC = "a2104f7588ad691306145e5b849228f73d60998a"

LEGACY_INSTALMENTS = (
    "1234567*05/12/2006:11:55:23*62.73EUR*ABERTPY00145*ExempleTexteLibre*3.0*FR*monSite1*"
    "internaute@sonemail.fr*4*05/12/2006*15.69EUR*05/01/2007*15.68EUR*05/02/2007*15.68EUR*05/03/2007*15.68EUR*"
)
LEGACY_INSTALMENTS_MAC = "a883aafcef7a58e780773e291869d4bd29f13839"

LEGACY_CONFIRMATION = (
    "1234567*05/12/2006_a_11:55:23*62.73EUR*ABERTPY00145*ExempleTexteLibre*3.0*payetest*oui*1208*VI*-1*010101**"
    "FRA*010101*74E94B03C22D786E0F2C2CADBFC1C00B004B7C45*127.0.0.1*FRA***"
)
LEGACY_CONFIRMATION_MAC = "2a9198aac1ba0720b3de2d834a4d62dc5b715b1e"

LEGACY_CAPTURE = "1234567*10/12/2006:09:00:00*30.00EUR0EUR32.73EUR*ABERTPY00145**3.0*FR*monSite1*"
LEGACY_CAPTURE_MAC = "f5a0e679d40eb58120210b384ff893cf0076d575"
# LEGACY_CAPTURE's fields by name, as the command line takes them.
LEGACY_CAPTURE_FIELDS = {
    "TPE": "1234567",
    "date": "10/12/2006:09:00:00",
    "montant_a_capturer": "30.00EUR",
    "montant_deja_capture": "0EUR",
    "montant_restant": "32.73EUR",
    "reference": "ABERTPY00145",
    "texte-libre": "",
    "version": "3.0",
    "lgue": "FR",
    "societe": "monSite1",
}

DSP2_REQUEST = (
    "TPE=1234567*contexte_commande=eyJiaWxsaW5nIjp7ImFkZHJlc3NMaW5lMSI6IjEgcnVlIGRlIGxhIFBhaXgiLCJjaXR5IjoiUGFyaXMi"
    "LCJwb3N0YWxDb2RlIjoiNzUwMDIiLCJjb3VudHJ5IjoiRlIifX0=*date=05/12/2006:11:55:23*lgue=FR*"
    "mail=internaute@sonemail.fr*montant=62.73EUR*reference=ABERTPY00145*societe=monSite1*"
    "texte-libre=ExempleTexteLibre*url_retour_err=https://shop.example/err*url_retour_ok=https://shop.example/ok*"
    "version=3.0"
)
DSP2_REQUEST_MAC = "CD85305EA8522243AB40E3EB2EE5DB998C399A54"
DSP2_BILLING = {"addressLine1": "1 rue de la Paix", "city": "Paris", "postalCode": "75002", "country": "FR"}

DSP2_CONFIRMATION = (
    "TPE=1234567*authentification=eyJzdGF0dXMiOiJhdXRoZW50aWNhdGVkIiwicHJvdG9jb2wiOiIzRFNlY3VyZSIsInZlcnNpb24iOiIy"
    "LjEuMCJ9*bincb=000003*brand=VI*code-retour=payetest*cvx=oui*date=05/12/2006_a_11:55:23*ecard=non*"
    "hpancb=74E94B03C22D786E0F2C2CADBFC1C00B004B7C45*ipclient=127.0.0.1*modepaiement=CB*montant=62.73EUR*"
    "motifrefus=*numauto=000000*originecb=FRA*originetr=FRA*reference=ABERTPY00145*texte-libre=ExempleTexteLibre*"
    "typecompte=particulier*usage=credit*vld=1208"
)
DSP2_CONFIRMATION_MAC = "C54AF192B0C4398A3C508AEDA41F568A46A4AF00"

SHORT_KEY_CONFIRMATION = (
    "bar*25/07/2016_a_17:01:37*200EUR*myreference*dummy_text*3.0*payetest*oui*4242*VI*-1*000000**FRA*000001*test*"
    "127.0.0.1*FRA***"
)
SHORT_KEY_CONFIRMATION_MAC = "89b737eebe41200b32cd5f374310a0b509c73e47"

# docs/protocol.md, The seal: the slots of the legacy fixed-order strings.
LEGACY_REQUEST_SLOTS = (
    "TPE", "date", "montant", "reference", "texte-libre", "version", "lgue", "societe", "mail",
    "nbrech", "dateech1", "montantech1", "dateech2", "montantech2", "dateech3", "montantech3",
    "dateech4", "montantech4", "options",
)  # fmt: skip
LEGACY_CONFIRMATION_SLOTS = (
    "TPE", "date", "montant", "reference", "texte-libre", "version", "code-retour", "cvx", "vld",
    "brand", "status3ds", "numauto", "motifrefus", "originecb", "bincb", "hpancb", "ipclient",
    "originetr", "veres", "pares",
)  # fmt: skip


def sorted_pairs(sealed: str) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a DSP2 string (the vectors' values hold no ``*``)."""
    pairs = []
    for part in sealed.split("*"):
        name, _, value = part.partition("=")
        pairs.append((name, value))
    return pairs


def legacy_pairs(sealed: str, slots: tuple[str, ...]) -> list[tuple[str, str]]:
    """The named values of a legacy fixed-order string (trailing ``*`` tolerated)."""
    values = sealed.split("*")
    return list(zip(slots, values[: len(slots)], strict=True))


def legacy_json(sealed: str, slots: tuple[str, ...]) -> bytes:
    """A legacy fixed-order string's named values as the JSON object the command line's ``seal`` reads."""
    return json.dumps(dict(legacy_pairs(sealed, slots))).encode()


def legacy_confirmation_body(sealed: str, mac: str) -> bytes:
    """The urlencoded post a bank would make for a legacy confirmation vector (no ``version`` posted)."""
    pairs = [pair for pair in legacy_pairs(sealed, LEGACY_CONFIRMATION_SLOTS) if pair[0] != "version"]
    return urlencode([*pairs, ("MAC", mac)]).encode("ascii")


def dsp2_body(sealed: str, mac: str) -> bytes:
    return urlencode([*sorted_pairs(sealed), ("MAC", mac)]).encode("ascii")


def hmac_hex(key: bytes, data: str | bytes) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hmac.new(key, raw, hashlib.sha1).hexdigest()


def dsp2_string(fields: dict[str, str] | list[tuple[str, str]]) -> str:
    """docs/protocol.md, The seal (DSP2), written independently: every field but MAC, sorted by name bytes,
    joined by ``*``."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    kept = [(name, value) for name, value in pairs if name != "MAC"]
    kept.sort(key=lambda pair: pair[0].encode("utf-8"))
    return "*".join(f"{name}={value}" for name, value in kept)
