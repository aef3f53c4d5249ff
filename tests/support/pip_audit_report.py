"""Read pip-audit's JSON report and say what it could NOT audit, loudly: a package its vulnerability database does
not know (a version it has no record of, or no answer at all) is not a package shown safe.

    python -m tests.support.pip_audit_report REPORT.json [REPORT.json ...]

Exit 1 when a vulnerability is listed (pip-audit already fails then; this repeats it in words), 0 otherwise, with
a WARNING naming every package left unaudited and why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def summary(report: dict[str, Any]) -> tuple[list[str], list[str], int]:
    """(vulnerable ``name version: ids``, unaudited ``name version: reason``, audited count)."""
    vulnerable, unaudited, audited = [], [], 0
    for dependency in report.get("dependencies", []):
        label = " ".join(str(part) for part in (dependency.get("name"), dependency.get("version")) if part)
        if dependency.get("skip_reason"):
            unaudited.append(f"{label}: {dependency['skip_reason']}")
            continue
        audited += 1
        ids = [vuln.get("id", "?") for vuln in dependency.get("vulns", [])]
        if ids:
            vulnerable.append(f"{label}: {', '.join(ids)}")
    return vulnerable, unaudited, audited


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m tests.support.pip_audit_report REPORT.json [REPORT.json ...]", file=sys.stderr)
        return 2
    vulnerable, unaudited, audited = [], [], 0
    for path in args:
        found = summary(json.loads(Path(path).read_text()))
        vulnerable, unaudited, audited = vulnerable + found[0], unaudited + found[1], audited + found[2]
    print(f"pip-audit: {audited} pinned packages audited, {len(vulnerable)} with known vulnerabilities")
    for line in vulnerable:
        print(f"  VULNERABLE {line}")
    if unaudited:
        print(
            f"WARNING pip-audit could not audit {len(unaudited)} pinned packages: its vulnerability database has "
            "no record of these versions (or did not answer). They are NOT shown safe:",
            file=sys.stderr,
        )
        for line in unaudited:
            print(f"  unaudited {line}", file=sys.stderr)
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
