"""Print template.yaml as CloudFormation sees it after the SAM transform (JSON on stdout).

Run with the tools environment's Python (``.tools/bin/python``), where the SAM CLI's ``samtranslator`` lives:
the code's own environment does not carry it. Managed policies are never looked up (no AWS call is made):
the template names none by its short name.

    .tools/bin/python tests/support/translate.py [template.yaml] [Name=Value ...]
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any


class NoManagedPolicies:
    """The translator asks for the account's managed policies only to resolve short names; the template has none."""

    def load(self) -> dict[str, str]:
        return {}


def translate(path: Path, parameters: dict[str, str]) -> dict[str, Any]:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")  # the translator asks boto for the region
    logging.basicConfig(level=logging.ERROR)  # not its notes about feature toggles it has no config for
    template = yaml_parse(path.read_text(encoding="utf-8"))
    for resource in template.get("Resources", {}).values():
        # What `sam package` does: local code becomes an S3 object (the translator accepts nothing else).
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str) and not properties[key].startswith("s3://"):
                properties[key] = "s3://packaged/" + properties[key].strip("/")
    values = {"AWS::Region": "eu-west-3", "AWS::AccountId": "123456789012", "AWS::Partition": "aws", **parameters}
    return transform(template, values, NoManagedPolicies())  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv and "=" not in argv[0] else Path(__file__).resolve().parents[2] / "template.yaml"
    parameters = dict(arg.split("=", 1) for arg in argv if "=" in arg)
    json.dump(translate(path, parameters), sys.stdout, indent=1, sort_keys=True, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
