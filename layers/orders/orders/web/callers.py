"""Who made a console call, as API Gateway tells the function: the actor its operations record.

A call made with a shop key went through the keys' Lambda authorizer, whose context names the key by ``label`` and
``key_id`` (``requestContext.authorizer``): the actor is the key's label and its id, ``web shop (3hx9q2k7w1ab)``
(two keys share a label while one replaces the other; the id tells them apart), its id alone when it has no label,
never the key.
A call signed with SigV4 names its IAM principal (``requestContext.identity.userArn``, else ``caller``); one longer
than an actor's name keeps its end, where the ARN names who signed (an assumed role's session: the person signed in
through IAM Identity Center), behind ``…``.
"""

from __future__ import annotations

from typing import Any

from orders.actors import NAME_KEPT, Actor, ActorKind

# The principal of a call the gateway passed without one: only the local stack does, as it checks no signature.
UNSIGNED = "unsigned"
CUT = "…"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _principal(arn: str) -> str:
    """``arn`` as an actor's name: whole when it fits, else ``…`` and its end (the user, or the role's session)."""
    if len(arn.encode()) <= NAME_KEPT:
        return arn
    kept = NAME_KEPT - len(CUT.encode())
    return CUT + arn.encode()[-kept:].decode(errors="ignore")


def _key(label: str, key_id: str) -> str:
    """A shop key as an actor's name: its label, cut to leave room for its id, then the id."""
    if not (label and key_id):
        return label or key_id
    suffix = f" ({key_id})"
    room = max(NAME_KEPT - len(suffix.encode()), 0)
    return label.encode()[:room].decode(errors="ignore") + suffix


def caller(event: dict[str, Any]) -> Actor:
    """The actor of a console call: the shop key (its label and id), else the IAM principal that signed it."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    key = _key(_text(authorizer.get("label")), _text(authorizer.get("key_id")))
    if key:
        return Actor(ActorKind.KEY, key)
    identity = context.get("identity") or {}
    principal = _text(identity.get("userArn")) or _text(identity.get("caller"))
    return Actor(ActorKind.IAM, _principal(principal) if principal else UNSIGNED)
