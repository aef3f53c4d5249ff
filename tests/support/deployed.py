"""The template as CloudFormation receives it after the SAM transform, and what each function's role holds in it.

The translation runs in the tools environment (``.tools``, where the SAM CLI's ``samtranslator`` lives):
``tests/support/translate.py``. ``choose`` decides the template's conditions for given parameters, so that a test
reads the statements a stack deployed with those parameters would hold.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from stacktools.template import ROOT, Resolver

TOOLS_PYTHON = ROOT / ".tools" / "bin" / "python"


def transformed(**parameters: str) -> dict[str, Any]:
    """template.yaml after the SAM transform (``parameters``: values given to the translator)."""
    if not TOOLS_PYTHON.is_file():
        pytest.fail(f"{TOOLS_PYTHON} is missing: `make .tools/.stamp` builds the tools environment (samtranslator)")
    arguments = [f"{name}={value}" for name, value in parameters.items()]
    answer = subprocess.run(  # noqa: S603 - our own script, with the tools environment's python
        [str(TOOLS_PYTHON), str(ROOT / "tests" / "support" / "translate.py"), str(ROOT / "template.yaml"), *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={"AWS_DEFAULT_REGION": "eu-west-3", "PATH": "/usr/bin:/bin"},
    )
    assert answer.returncode == 0, answer.stderr
    return dict(json.loads(answer.stdout))


_REMOVED = object()


def choose(value: Any, resolver: Resolver) -> Any:
    """``value`` with every ``Fn::If`` decided by the resolver's parameters; other intrinsics left as they are."""
    if isinstance(value, list):
        return [item for item in (choose(v, resolver) for v in value) if item is not _REMOVED]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::NoValue"}:
        return _REMOVED
    if set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        return choose(when_true if resolver.condition(name) else when_false, resolver)
    chosen = {key: choose(item, resolver) for key, item in value.items()}
    return {key: item for key, item in chosen.items() if item is not _REMOVED}


def statements(document: dict[str, Any], resolver: Resolver) -> list[dict[str, Any]]:
    return list(choose(document["Statement"], resolver))


def role_of(resources: dict[str, Any], function: str) -> dict[str, Any]:
    """The properties of the role SAM made for ``function``."""
    return dict(resources[resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]]["Properties"])


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)
