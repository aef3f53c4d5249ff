"""The acknowledgement CGI2 answers (the kits' ``CreerReponseCM``, docs/protocol.md, Confirmation).

``cdr=0`` means only "the data arrived intact" (valid MAC), whatever the payment's outcome;
``cdr=1`` means the MAC did not hold. Never answer ``cdr=1`` for a business reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEADERS: dict[str, str] = {"Content-Type": "text/plain", "Pragma": "no-cache", "Cache-Control": "no-cache"}


@dataclass(frozen=True)
class Acknowledgement:
    intact: bool
    headers: dict[str, str] = field(default_factory=lambda: dict(HEADERS))

    @property
    def body(self) -> str:
        return f"version=2\ncdr={0 if self.intact else 1}\n"


RECEIVED = Acknowledgement(intact=True)
SEAL_REFUSED = Acknowledgement(intact=False)


def acknowledgement(intact: bool) -> Acknowledgement:
    return RECEIVED if intact else SEAL_REFUSED
