"""A terminal (TPE) as the protocol sees it: which bank, which server, which key, which seal."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._formats import LANGUAGES, check_tpe, zone
from ._key import MerchantKey
from ._money import DEFAULT_CURRENCIES, minor_digits
from ._seal import PROTOCOL_VERSION, Variant
from .exceptions import FieldError, shown


class Bank(enum.Enum):
    """The banks selling the service, with their payment servers (docs/protocol.md, Servers)."""

    CREDIT_MUTUEL = "creditmutuel"
    CIC = "cic"
    OBC = "obc"
    MONETICO = "monetico"

    @property
    def host(self) -> str:
        return _HOSTS[self]


_HOSTS = {
    Bank.CREDIT_MUTUEL: "https://paiement.creditmutuel.fr",
    Bank.CIC: "https://ssl.paiement.cic-banques.fr",
    Bank.OBC: "https://ssl.paiement.banque-obc.fr",
    Bank.MONETICO: "https://p.monetico-services.com",
}


class Environment(enum.Enum):
    TEST = "test"
    PRODUCTION = "production"


class SealVariant(enum.Enum):
    """Per terminal: the DSP2 sorted seal (default) or the legacy 3.0 fixed-order seals."""

    DSP2 = "dsp2"
    LEGACY = "legacy"

    def for_request(self) -> Variant:
        return Variant.DSP2 if self is SealVariant.DSP2 else Variant.LEGACY_REQUEST

    def for_confirmation(self) -> Variant:
        return Variant.DSP2 if self is SealVariant.DSP2 else Variant.LEGACY_CONFIRMATION

    def for_capture(self) -> Variant:
        return Variant.DSP2 if self is SealVariant.DSP2 else Variant.LEGACY_CAPTURE


@dataclass(frozen=True)
class Terminal:
    """One TPE: its number, key, site code (``societe``) and where and how to talk to its bank.

    ``payment_base_url`` and ``backoffice_base_url`` default to the bank's host (plus ``/test`` on the
    test server); set them to reach another host (the sandbox bank, or Monetico's API host).
    """

    tpe: str
    key: MerchantKey = field(repr=False)
    societe: str
    bank: Bank = Bank.CIC
    environment: Environment = Environment.TEST
    seal: SealVariant = SealVariant.DSP2
    currencies: tuple[str, ...] = DEFAULT_CURRENCIES
    languages: tuple[str, ...] = LANGUAGES
    timezone: str = "Europe/Paris"
    payment_base_url: str | None = None
    backoffice_base_url: str | None = None
    version: str = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        check_tpe(self.tpe)
        if not self.societe or not self.societe.isascii() or "*" in self.societe:
            raise FieldError("societe", f"{shown(self.societe)} is not a site code")
        unknown = [code for code in self.languages if code not in LANGUAGES]
        if unknown or not self.languages:
            raise FieldError("languages", f"{unknown or 'none'}: the bank knows {', '.join(LANGUAGES)}")
        if not self.currencies or any(len(c) != 3 or not c.isupper() for c in self.currencies):
            raise FieldError("currencies", f"{shown(self.currencies)} must be ISO-4217 codes")
        for currency in self.currencies:  # one the kit cannot seal is refused at start-up, not at each order
            try:
                minor_digits(currency)
            except FieldError as exc:
                raise FieldError("currencies", exc.reason) from None
        zone(self.timezone)

    @property
    def is_test(self) -> bool:
        return self.environment is Environment.TEST

    def _base(self, override: str | None) -> str:
        if override:
            return override.rstrip("/")
        return self.bank.host + ("/test" if self.is_test else "")

    def url(self, cgi: str) -> str:
        """The URL of one of the bank's CGIs (``paiement.cgi``, ``capture_paiement.cgi``, ...)."""
        base = self._base(self.payment_base_url if cgi == "paiement.cgi" else self.backoffice_base_url)
        return f"{base}/{cgi}"

    @property
    def payment_url(self) -> str:
        return self.url("paiement.cgi")
