"""What the benchmarks report (``Figure``) and the sealed confirmation they send: shared by ``bench`` and
``local_load`` (the figures that start the local stack), which ``bench`` runs, so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sealing import MerchantKey, seal
from tests.support.aws import TEST_KEY


@dataclass
class Figure:
    name: str
    value: float
    goal: str = ""  # empty: for information
    met: bool = True

    def line(self) -> str:
        value = f"{self.value:.0f}" if float(self.value).is_integer() else f"{self.value:.2f}"
        goal = f"  (goal {self.goal}: {'met' if self.met else 'MISSED'})" if self.goal else ""
        return f"{self.name}: {value}{goal}"


def sealed_confirmation(reference: str, code: str, tpe: str = "0900157", amount: str = "62.73EUR") -> bytes:
    fields = [
        ("TPE", tpe), ("date", "27/11/2026_a_12:05:00"), ("montant", amount), ("reference", reference),
        ("texte-libre", ""), ("code-retour", code), ("cvx", "oui"), ("vld", "1228"), ("brand", "VI"),
        ("status3ds", "1"), ("numauto", "123456" if code != "Annulation" else ""),
        ("motifrefus", "Refus" if code == "Annulation" else ""), ("originecb", "FRA"), ("bincb", "411111"),
        ("hpancb", "74E94B03C22D786E0F2C2CADBFC1C00B004B7C45"), ("ipclient", "203.0.113.9"),
    ]  # fmt: skip
    fields.append(("MAC", seal(MerchantKey(TEST_KEY), fields)))
    return urlencode(fields).encode()
