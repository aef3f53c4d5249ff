"""Who did a back-office operation: the actor recorded in the order's journal and carried in its events.

An actor is a kind and a name, nothing else: an IAM principal's ARN, a shop key's label (never the key), a console
user's e-mail, or one of the kit's own processes. Its name is cut at ``NAME_KEPT`` bytes of UTF-8, as the order's
other kept texts are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NAME_KEPT = 64  # UTF-8 bytes of a name kept, cut between characters: room for it in every record of the largest order


class ActorKind(enum.Enum):
    IAM = "iam"  # the IAM principal that signed the console call (SigV4): its ARN
    CONSOLE = "console"  # a user signed in to the merchant's console: their e-mail
    KEY = "key"  # the shop key the console call was made with: its label
    SWEEPER = "sweeper"  # the end of a deferral period, applied by the deferred sweeper
    RECONCILIATION = "reconciliation"  # the daily reconciliation with the bank's status
    GIVE_BACK = "give_back"  # a second payment given back as soon as it was recorded (the stream's consumer)
    BANK = "bank"  # the bank's own end-of-period action, under the terminal's contract
    BANK_DASHBOARD = "bank_dashboard"  # done in the bank's dashboard: learnt from the bank's status


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.encode()[:NAME_KEPT].decode(errors="ignore"))

    def as_json(self) -> dict[str, str]:
        """The actor as the merchant API, the orders table and the order events show it: its kind and name only."""
        return {"kind": self.kind.value, "name": self.name}

    @classmethod
    def from_json(cls, item: dict[str, str]) -> Actor:
        return cls(ActorKind(item["kind"]), item["name"])


SWEEPER = Actor(ActorKind.SWEEPER, "the deferred sweeper")
RECONCILIATION = Actor(ActorKind.RECONCILIATION, "the reconciliation with the bank")
GIVE_BACK = Actor(ActorKind.GIVE_BACK, "the give-back of second payments")
BANK = Actor(ActorKind.BANK, "the bank, at the end of the deferral period")
BANK_DASHBOARD = Actor(ActorKind.BANK_DASHBOARD, "the bank's dashboard")
