"""The README's code blocks, found by the heading they stand under, so tests can run them as printed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@dataclass(frozen=True)
class Block:
    heading: str  # the nearest heading above the block
    language: str
    text: str


def blocks(language: str | None, readme: Path = README) -> list[Block]:
    """Every fenced block in ``language`` (``None``: in any) of ``readme`` (the repository's README unless given),
    those indented in a list item too (their indent removed)."""
    found, heading, fence, indent, lines = [], "", "", 0, []
    for line in readme.read_text().splitlines():
        if fence:
            if line.strip().startswith("```"):
                found.append(Block(heading, fence, "\n".join(lines)))
                fence, lines = "", []
            else:
                lines.append(line[indent:] if line[:indent].isspace() else line)
        elif line.lstrip().startswith("```"):
            indent = len(line) - len(line.lstrip())
            fence = line.lstrip()[3:].strip() or "text"
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
    return [block for block in found if language is None or block.language == language]


def block_under(heading: str, language: str, readme: Path = README) -> Block:
    (block,) = [block for block in blocks(language, readme) if block.heading == heading]
    return block


def commands(text: str) -> list[str]:
    """Shell command lines, a trailing backslash joining a line to the next; comment-only lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def section(heading: str) -> str:
    """The README's text under ``heading`` (a heading line's own words), up to the next heading of any level."""
    text = README.read_text()
    (start,) = [m.end() for m in re.finditer(rf"^#+ {re.escape(heading)}\n", text, re.MULTILINE)]
    following = re.search(r"^#", text[start:], re.MULTILINE)
    return text[start : start + following.start()] if following else text[start:]


def table_rows(heading: str) -> list[list[str]]:
    """The cells of each body row of the first table under ``heading`` (its header and rule left out)."""
    lines = section(heading).splitlines()
    first = next(index for index, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows
