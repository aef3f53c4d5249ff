"""Re-attach a kept orders table to a new stack: the two files CloudFormation's resource import takes.

The table outlives its stack (``DeletionPolicy: Retain``). To give it to a new stack, the stack is first created by
an IMPORT change set whose template holds the table alone (an import creates nothing else), then deployed as
usual; the import template's table is template.yaml's ``OrdersTable``, property for property, so that deployment
finds it as it is and changes nothing. README, "Re-attach a kept orders table", gives the commands.

    .venv/bin/python -m stacktools.import_table TABLE_NAME [DIRECTORY]

writes ``DIRECTORY/import-orders-table.json`` (the template) and ``DIRECTORY/resources-to-import.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from .template import TEMPLATE_PATH, Template, TemplateError

USAGE = "usage: python -m stacktools.import_table TABLE_NAME [DIRECTORY]"
TABLE = "OrdersTable"
# DynamoDB's table names (DynamoDB developer guide, "Naming rules"): 3 to 255 of these characters.
TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def import_template(template: Template) -> dict[str, Any]:
    """A template holding the orders table alone, as template.yaml declares it."""
    resource = template.resources[TABLE]
    if resource.get("DeletionPolicy") != "Retain":
        raise TemplateError(f"{TABLE}: CloudFormation imports only a resource with a DeletionPolicy")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "The merchant kit's orders table, imported into a new stack before its first sam deploy.",
        "Resources": {TABLE: resource},
    }


def resources_to_import(table_name: str) -> list[dict[str, Any]]:
    """``--resources-to-import``: the kept table, by its name (its import identifier)."""
    if not TABLE_NAME.fullmatch(table_name):
        raise TemplateError(f"{table_name!r} is not a DynamoDB table name")
    identifier = {"TableName": table_name}
    return [{"ResourceType": "AWS::DynamoDB::Table", "LogicalResourceId": TABLE, "ResourceIdentifier": identifier}]


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(USAGE, file=sys.stderr)
        return 2
    directory = Path(argv[1] if len(argv) > 1 else ".")
    try:
        resources = resources_to_import(argv[0])
        body = import_template(Template.load(TEMPLATE_PATH))
    except TemplateError as exc:
        print(f"import_table: {exc}", file=sys.stderr)
        return 2
    (directory / "import-orders-table.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    (directory / "resources-to-import.json").write_text(json.dumps(resources, indent=1) + "\n", encoding="utf-8")
    print(f"{directory / 'import-orders-table.json'} and {directory / 'resources-to-import.json'} written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
