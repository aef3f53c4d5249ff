"""The payment page's protocol side: reading the merchant's sealed request, and the confirmation (CGI2).

``read_request`` checks the seal and every field of a request posted to ``paiement.cgi`` (docs/protocol.md,
Payment request) and raises ``RequestError`` naming the first field at fault. ``confirmation_fields`` builds the sealed
confirmation (docs/protocol.md, Confirmation), ``post_confirmation`` posts it to the terminal's CGI2 URL and
``check_acknowledgement`` says whether the answer is the expected ``version=2 / cdr=0``.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sealing import (
    BILLING_REQUIRED,
    CONFIRMATION_DATE_FORMAT,
    DAY_FORMAT,
    LANGUAGES,
    MAC_FIELD,
    MAX_FREE_TEXT,
    OPTIONS,
    ORDER_DATE_FORMAT,
    THREE_DS_CHALLENGES,
    FieldError,
    MalformedMessageError,
    Money,
    ReceivedForm,
    SealingError,
    SealMismatchError,
    SealVariant,
    check_email,
    check_option,
    check_reference,
    parse_form,
    parse_request_amount,
    seal,
    unpacked_options,
    verify_confirmation,
)
from sealing import DAY_PATTERN as _DAY
from sealing import ORDER_DATE_PATTERN as _ORDER_DATE

from .exceptions import RequestError
from .terminals import BankConfig, BankTerminal, Mode


@dataclass(frozen=True)
class PaymentRequestIn:
    """A request that passed every check."""

    terminal: BankTerminal
    fields: tuple[tuple[str, str], ...]
    amount: Money
    reference: str
    ordered_at: datetime
    language: str
    email: str
    free_text: str
    return_ok_url: str
    return_err_url: str
    instalments: tuple[tuple[date, Money], ...]  # nbrech's days and amounts, the first at the order
    options: dict[str, str]  # aliascb, forcesaisiecb...: their own fields (DSP2) or the packed options (3.0)

    def difference(self, fields: tuple[tuple[str, str], ...]) -> str:
        """The first sealed field in which this request differs from ``fields`` (the first post for the
        reference), or "". The bank keeps the order as first posted: the same reference asking anything else
        (amount, date, texte-libre, mail, lgue, return URLs...) is another order under a used reference."""
        earlier, now = dict(fields), dict(self.fields)
        names = [name for name, _ in fields] + [name for name, _ in self.fields if name not in earlier]
        return next((name for name in names if name != MAC_FIELD and earlier.get(name) != now.get(name)), "")


def _texts(form: ReceivedForm) -> dict[str, str]:
    texts = {}
    for name, value in form.fields:
        try:
            texts[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(name, "n'est pas du texte UTF-8 / is not UTF-8 text") from None
    return texts


def _required(texts: dict[str, str], name: str) -> str:
    if name not in texts:
        raise RequestError(name, "champ obligatoire absent / required field missing")
    return texts[name]


def _url(texts: dict[str, str], name: str, required: bool) -> str:
    value = texts.get(name, "")
    if not value:
        if required:
            raise RequestError(name, "champ obligatoire absent / required field missing")
        return ""
    if not value.isascii() or not value.startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise RequestError(name, f"{value[:80]!r} n'est pas une URL http(s) / is not an http(s) URL")
    return value


def _order_date(text: str, timezone: str) -> datetime:
    if not _ORDER_DATE.fullmatch(text):
        raise RequestError("date", f"{text[:30]!r} n'est pas au format jj/mm/aaaa:hh:mm:ss")
    try:
        moment = datetime.strptime(text, ORDER_DATE_FORMAT)
    except ValueError:
        raise RequestError("date", f"{text!r} n'est pas une date réelle / is not a real date") from None
    return moment.replace(tzinfo=ZoneInfo(timezone))


def _amount(text: str, name: str, currencies: tuple[str, ...]) -> Money:
    if "," in text:
        raise RequestError(name, f"{text[:30]!r}: la virgule n'est pas un séparateur décimal (62.73EUR)")
    try:
        money = parse_request_amount(text, name)  # docs/protocol.md, Payment request: the currency's minor digits
    except FieldError:
        message = f"{text[:30]!r} n'est pas un montant comme 62.73EUR ou 1000JPY (les décimales de la devise)"
        raise RequestError(name, f"{message} / not an amount like 62.73EUR or 1000JPY") from None
    if money.amount <= 0:
        raise RequestError(name, "le montant doit être positif / must be greater than zero")
    if money.currency not in currencies:
        raise RequestError(name, f"devise {money.currency} non acceptée par ce TPE ({', '.join(currencies)})")
    return money


def _context(text: str) -> None:
    try:
        data = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):
        raise RequestError("contexte_commande", "n'est pas du JSON en base64 / is not base64 JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("billing"), dict):
        raise RequestError("contexte_commande", "billing est obligatoire (3-D Secure v2) / billing is required")
    missing = [name for name in BILLING_REQUIRED if not str(data["billing"].get(name, "")).strip()]
    if missing:
        raise RequestError("contexte_commande", f"billing.{missing[0]} est obligatoire / is required")
    if "shipping" in data and not data["shipping"]:
        raise RequestError("contexte_commande", "shipping ne doit pas être vide / must not be empty")


def _options(texts: dict[str, str], dsp2: bool) -> dict[str, str]:
    """The request's options, each checked as the merchant's side checks it: on a DSP2 terminal each is its own
    field, covered by the sorted seal; on a 3.0 terminal they are packed in ``options``, the last slot of the
    fixed-order seal, which covers no field of its own."""
    separate = [name for name in OPTIONS if name in texts]
    try:
        if dsp2:
            if "options" in texts:
                raise FieldError("options", "en DSP2 chaque option est un champ / on DSP2 each option is its own field")
            return {name: check_option(name, texts[name], name) for name in separate}
        if separate:
            raise FieldError(separate[0], "non scellé en 3.0 : à mettre dans options / not sealed in 3.0: use options")
        return unpacked_options(texts.get("options", ""))
    except FieldError as error:
        raise RequestError(error.field, error.reason) from None


def _instalments(texts: dict[str, str], amount: Money, ordered_on: date) -> tuple[tuple[date, Money], ...]:
    count_text = texts.get("nbrech", "")
    if not count_text:
        extra = [name for name in texts if re.fullmatch(r"(dateech|montantech)[1-4]", name) and texts[name]]
        if extra:
            raise RequestError(extra[0], "échéance sans nbrech / instalment without nbrech")
        return ()
    if count_text not in ("2", "3", "4"):
        raise RequestError("nbrech", f"{count_text!r}: 2 à 4 échéances / 2 to 4 instalments")
    count = int(count_text)
    total = Decimal(0)
    previous: date | None = None
    parts: list[tuple[date, Money]] = []
    for number in range(1, count + 1):
        day_text = _required(texts, f"dateech{number}")
        if not _DAY.fullmatch(day_text):
            raise RequestError(f"dateech{number}", f"{day_text!r} n'est pas une date jj/mm/aaaa")
        try:
            day = datetime.strptime(day_text, DAY_FORMAT).date()
        except ValueError:
            raise RequestError(f"dateech{number}", f"{day_text!r} n'est pas une date réelle") from None
        if number == 1 and day != ordered_on:
            raise RequestError("dateech1", "la première échéance est à la date de la commande")
        if previous is not None and day <= previous:
            raise RequestError(f"dateech{number}", "les dates d'échéance doivent croître")
        previous = day
        part = _amount(_required(texts, f"montantech{number}"), f"montantech{number}", (amount.currency,))
        total += part.amount
        parts.append((day, part))
    if total != amount.amount:
        raise RequestError("montantech1", f"les échéances font {total}, la commande {amount.amount}")
    return tuple(parts)


def _sealed_form(body: bytes, config: BankConfig) -> tuple[ReceivedForm, BankTerminal]:
    """The form posted and its terminal, once its seal is checked with that terminal's key."""
    try:
        form = parse_form(body)
    except MalformedMessageError as exc:
        raise RequestError("formulaire", f"illisible / unreadable: {exc}") from None
    tpe_bytes = form.get("TPE")
    if tpe_bytes is None:
        raise RequestError("TPE", "champ obligatoire absent / required field missing")
    terminal = config.get(tpe_bytes.decode("utf-8", "replace"))
    if terminal is None:
        raise RequestError("TPE", "TPE inconnu du serveur de paiement / unknown terminal")
    if form.get(MAC_FIELD) is None:
        raise RequestError("MAC", "champ obligatoire absent / required field missing")
    try:
        verify_confirmation(form, terminal.key, terminal.terminal.seal.for_request(), tpe=terminal.tpe)
    except SealMismatchError:
        raise RequestError("MAC", "le sceau ne correspond pas aux données / the seal does not match") from None
    except SealingError as exc:
        raise RequestError("MAC", f"sceau illisible / unreadable seal: {exc}") from None
    return form, terminal


def _order_fields(texts: dict[str, str], terminal: BankTerminal) -> tuple[str, str, str, str]:
    """The order's reference, free text, language and the buyer's e-mail, each checked."""
    reference = _required(texts, "reference")
    try:
        check_reference(reference)
    except FieldError:
        message = f"{reference[:20]!r}: 1 à 12 lettres ou chiffres / 1-12 letters or digits"
        raise RequestError("reference", message) from None
    free_text = _required(texts, "texte-libre")
    if len(free_text) > MAX_FREE_TEXT:
        raise RequestError("texte-libre", f"{len(free_text)} caractères, au plus {MAX_FREE_TEXT}")
    language = _required(texts, "lgue")
    if language not in LANGUAGES:
        raise RequestError("lgue", f"{language[:10]!r} n'est pas une langue connue ({' '.join(LANGUAGES)})")
    societe = _required(texts, "societe")
    if societe != terminal.societe:
        raise RequestError("societe", f"{societe[:20]!r} n'est pas le code site de ce TPE / not this TPE's site")
    email = _required(texts, "mail")
    try:
        check_email(email, "mail")
    except FieldError:
        raise RequestError("mail", f"{email[:40]!r} n'est pas une adresse e-mail / not an e-mail address") from None
    return reference, free_text, language, email


def _return_urls(texts: dict[str, str], dsp2: bool) -> tuple[str, str]:
    ok_url = _url(texts, "url_retour_ok", dsp2) or _url(texts, "url_retour", False)
    err_url = _url(texts, "url_retour_err", dsp2) or ok_url
    if not ok_url:
        raise RequestError("url_retour_ok", "champ obligatoire absent / required field missing")
    return ok_url, err_url


def read_request(body: bytes, config: BankConfig) -> PaymentRequestIn:
    """The merchant's request, checked: seal first, then every field (docs/protocol.md, Payment request)."""
    form, terminal = _sealed_form(body, config)
    texts = _texts(form)
    dsp2 = terminal.terminal.seal is SealVariant.DSP2

    version = _required(texts, "version")
    if version != "3.0":
        raise RequestError("version", f"{version[:10]!r}: la version attendue est 3.0 / expected 3.0")
    ordered_at = _order_date(_required(texts, "date"), terminal.timezone)
    amount = _amount(_required(texts, "montant"), "montant", terminal.terminal.currencies)
    reference, free_text, language, email = _order_fields(texts, terminal)
    ok_url, err_url = _return_urls(texts, dsp2)
    if dsp2:
        _context(_required(texts, "contexte_commande"))
    challenge = texts.get("ThreeDSecureChallenge")
    if challenge is not None and challenge not in THREE_DS_CHALLENGES:
        raise RequestError("ThreeDSecureChallenge", f"{challenge[:30]!r}: {', '.join(THREE_DS_CHALLENGES)}")
    options = _options(texts, dsp2)
    instalments = _instalments(texts, amount, ordered_at.date())
    if instalments and terminal.mode is not Mode.IMMEDIATE:
        # Each instalment is captured on its day: the sandbox splits immediate payments only.
        raise RequestError("nbrech", "paiement fractionné : TPE en paiement immédiat seulement / immediate only")
    return PaymentRequestIn(
        terminal=terminal,
        fields=tuple((name, texts[name]) for name, _ in form.fields),
        amount=amount,
        reference=reference,
        ordered_at=ordered_at,
        language=language,
        email=email,
        free_text=free_text,
        return_ok_url=ok_url,
        return_err_url=err_url,
        instalments=instalments,
        options=options,
    )


# -- the confirmation -------------------------------------------------------------------------------------------

_AUTHENTICATION = base64.b64encode(
    json.dumps(
        {"status": "authenticated", "protocol": "3DSecure", "version": "2.2.0", "details": {"liabilityShift": "Y"}},
        separators=(",", ":"),
    ).encode()
).decode("ascii")
_AUTHORISATION_REFUSALS = {"Refus": "refus_emetteur", "Interdit": "carte_en_opposition"}


class CardFacts(Protocol):
    """What a confirmation says of the card (``cards.Card`` as typed, or what the ledger kept of it)."""

    @property
    def brand(self) -> str: ...
    @property
    def masked(self) -> str: ...
    @property
    def bin(self) -> str: ...
    @property
    def hashed(self) -> str: ...
    @property
    def expiry(self) -> str: ...
    @property
    def cvv_entered(self) -> bool: ...


@dataclass(frozen=True)
class KeptCard:
    """The card as the ledger keeps it for later confirmations (a split payment's instalments): never its
    number."""

    brand: str
    masked: str
    hashed: str
    expiry: str
    cvv_entered: bool

    @property
    def bin(self) -> str:
        return self.masked[:6]


@dataclass(frozen=True)
class ConfirmationFacts:
    """What one attempt (or one later instalment) produced, for the confirmation."""

    reference: str
    amount: Money
    free_text: str
    at: datetime
    card: CardFacts
    refusal: str
    authorisation_number: str
    client_ip: str
    instalment_amount: Money | None = None  # ``montantech``: the first at the order, then each later one
    instalment: int | None = None  # 2 to 4 for a later instalment (``paiement_pfN`` / ``Annulation_pfN``)
    card_saved: bool = False  # this payment kept the card under the request's aliascb

    @property
    def return_code(self) -> str:
        if self.instalment is None:
            return "Annulation" if self.refusal else "payetest"
        return f"{'Annulation' if self.refusal else 'paiement'}_pf{self.instalment}"


def confirmation_fields(terminal: BankTerminal, facts: ConfirmationFacts) -> list[tuple[str, str]]:
    """The sealed confirmation for one attempt: every DSP2 field of docs/protocol.md, Confirmation (legacy
    terminals get the 3.0 set), ``code-retour=payetest`` (the test server's acceptance) or ``Annulation``; a
    later instalment's ``paiement_pfN`` or ``Annulation_pfN``."""
    card = facts.card
    accepted = not facts.refusal
    moment = facts.at.astimezone(ZoneInfo(terminal.timezone))
    fields = [
        ("TPE", terminal.tpe),
        ("date", moment.strftime(CONFIRMATION_DATE_FORMAT)),
        ("montant", facts.amount.wire()),
        ("reference", facts.reference),
        ("texte-libre", facts.free_text),
        ("code-retour", facts.return_code),
        ("cvx", "oui" if card.cvv_entered else "non"),
        ("vld", card.expiry),
        ("brand", card.brand),
        ("status3ds", "1"),
        ("numauto", facts.authorisation_number if accepted else ""),
        ("motifrefus", facts.refusal),
        ("originecb", "FRA"),
        ("bincb", card.bin),
        ("hpancb", card.hashed),
        ("ipclient", facts.client_ip),
        ("originetr", "FRA"),
        ("veres", ""),
        ("pares", ""),
        ("montantech", facts.instalment_amount.wire() if facts.instalment_amount else ""),
        ("filtragecause", ""),
        ("filtragevaleur", ""),
        ("cbenregistree", "1" if facts.card_saved else "0"),
        ("cbmasquee", card.masked.replace("#", "*")),
    ]
    if terminal.terminal.seal is SealVariant.DSP2:
        fields += [
            ("authentification", _AUTHENTICATION),
            ("usage", "credit"),
            ("typecompte", "particulier"),
            ("ecard", "non"),
            ("modepaiement", "CB"),
            ("motifrefusautorisation", _AUTHORISATION_REFUSALS.get(facts.refusal, "")),
            ("filtrage_etat", ""),
        ]
    mac = seal(terminal.key, fields, terminal.terminal.seal.for_confirmation(), tpe=terminal.tpe)
    return [*fields, (MAC_FIELD, mac)]


@dataclass(frozen=True)
class PostResult:
    status: int  # 0: no HTTP answer at all
    content_type: str
    body: bytes
    error: str = ""


Poster = Callable[[str, bytes, float], PostResult]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a CGI2 URL must answer itself (docs/protocol.md, Confirmation): a redirect is not followed


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_confirmation(url: str, body: bytes, timeout: float) -> PostResult:
    """POST the confirmation to the merchant's CGI2, as the bank does: form-urlencoded, no redirect followed."""
    request = urllib.request.Request(  # noqa: S310 - the URL is the terminal's configured CGI2
        url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with _OPENER.open(request, timeout=timeout) as answer:
            body = answer.read(4096)
            if answer.length:  # cut short, or far longer than an acknowledgement: not one
                raise http.client.IncompleteRead(body, answer.length)
            return PostResult(answer.status, answer.headers.get("Content-Type", ""), body)
    except urllib.error.HTTPError as error:
        return PostResult(error.code, error.headers.get("Content-Type", ""), error.read(4096))
    except (OSError, ValueError, http.client.HTTPException) as exc:  # no HTTP answer: refused, cut, not HTTP
        return PostResult(0, "", b"", failure(exc))


def failure(exc: BaseException) -> str:
    """What went wrong with a post, for the alert."""
    return f"{type(exc).__name__}: {exc}"[:200]


def confirmation_body(fields: list[tuple[str, str]]) -> bytes:
    return urlencode(fields).encode("ascii")


def check_acknowledgement(result: PostResult) -> str:
    """ "" when the merchant acknowledged properly (``text/plain``, ``version=2`` and ``cdr=0``), else what was
    wrong."""
    if result.status == 0:
        return f"pas de réponse du serveur commerçant ({result.error})"
    if result.status != 200:
        return f"le serveur commerçant a répondu HTTP {result.status}"
    media_type = result.content_type.split(";", 1)[0].strip().lower()
    if media_type != "text/plain":
        return f"accusé de réception en {media_type or 'type inconnu'!r}, text/plain attendu"
    text = result.body.decode("latin-1").replace("\r\n", "\n").strip()
    pairs = dict(line.split("=", 1) for line in text.split("\n") if "=" in line)
    if pairs.get("version") != "2" or pairs.get("cdr") not in ("0", "1"):
        return f"accusé de réception invalide: {text[:60]!r}"
    if pairs["cdr"] == "1":
        return "le serveur commerçant a répondu cdr=1 (sceau refusé)"
    return ""
