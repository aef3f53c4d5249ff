"""Who a console call is from, as API Gateway tells the function: a shop key's label, else the IAM principal."""

from __future__ import annotations

from typing import Any

import pytest

from orders.actors import NAME_KEPT, Actor, ActorKind
from orders.web.callers import UNSIGNED, caller


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        (
            {"identity": {"userArn": "arn:aws:iam::1:user/a", "caller": "AIDA1"}},
            Actor(ActorKind.IAM, "arn:aws:iam::1:user/a"),
        ),
        ({"identity": {"userArn": None, "caller": "AROA1:session"}}, Actor(ActorKind.IAM, "AROA1:session")),
        ({"identity": {"userArn": None, "caller": None}}, Actor(ActorKind.IAM, UNSIGNED)),
        ({}, Actor(ActorKind.IAM, UNSIGNED)),
        (
            {"identity": {"userArn": None}, "authorizer": {"label": "Magento", "key_id": "key_1", "principalId": "x"}},
            Actor(ActorKind.KEY, "Magento (key_1)"),
        ),
        ({"authorizer": {"label": " ", "key_id": "key_1"}}, Actor(ActorKind.KEY, "key_1")),
        ({"authorizer": {"label": "Magento"}}, Actor(ActorKind.KEY, "Magento")),
        ({"authorizer": {"principalId": "x"}, "identity": {"userArn": "arn:b"}}, Actor(ActorKind.IAM, "arn:b")),
    ],
)
def test_the_caller_is_the_keys_label_else_the_signing_principal(context: dict[str, Any], expected: Actor) -> None:
    assert caller({"requestContext": context}) == expected


def test_an_actor_shows_its_kind_and_name_only_cut_between_characters() -> None:
    actor = Actor(ActorKind.KEY, "€" * NAME_KEPT)
    assert len(actor.name.encode()) <= NAME_KEPT
    assert actor.name == "€" * (NAME_KEPT // 3)
    assert actor.as_json() == {"kind": "key", "name": actor.name}
    assert Actor.from_json(actor.as_json()) == actor
