"""The documentation's code blocks — the README's, CONTRIBUTING's and every page of the site (docs/*.md) — found by
the heading they stand under, so tests can run them as printed."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
DOCS = ROOT / "docs"
# Make targets the documentation prints that land with the other changes of issue 20 (deploy: item 10, dist:
# item 9, test-kit: item 1). simulator/tests/unit/test_docs_commands.py expects each to be missing, strictly: the day it
# exists, that test fails until its name is taken out of this set.
PENDING_MAKE_TARGETS: frozenset[str] = frozenset()


def documents() -> list[Path]:
    """Every page a reader is given: the README, CONTRIBUTING (the site includes it) and the site's pages."""
    return [README, CONTRIBUTING, *sorted(DOCS.glob("*.md"))]


def text() -> str:
    """All the documentation, one page after the other."""
    return "\n".join(path.read_text(encoding="utf-8") for path in documents())


@dataclass(frozen=True)
class Block:
    document: Path
    heading: str  # the nearest heading above the block
    language: str
    text: str


def _blocks_of(document: Path) -> list[Block]:
    """Every fenced block of ``document``, those indented in a list item too (their indent removed)."""
    found, heading, fence, indent, lines = [], "", "", 0, []
    for line in document.read_text(encoding="utf-8").splitlines():
        if fence:
            if line.strip().startswith("```"):
                found.append(Block(document, heading, fence, "\n".join(lines)))
                fence, lines = "", []
            else:
                lines.append(line[indent:] if line[:indent].isspace() else line)
        elif line.lstrip().startswith("```"):
            indent = len(line) - len(line.lstrip())
            fence = line.lstrip()[3:].strip() or "text"
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
    return found


def blocks(language: str | None, pages: Path | list[Path] | None = None) -> list[Block]:
    """Every fenced block in ``language`` (``None``: in any) of ``pages`` (a page, or a list; default: every page)."""
    chosen = [pages] if isinstance(pages, Path) else pages or documents()
    return [block for page in chosen for block in _blocks_of(page) if language is None or block.language == language]


def block_under(heading: str, language: str, pages: Path | list[Path] | None = None) -> Block:
    """The one block in ``language`` under ``heading`` in ``pages`` (a page, or a list; default: every page)."""
    (block,) = [block for block in blocks(language, pages) if block.heading == heading]
    return block


def commands(text: str) -> list[str]:
    """Shell command lines, a trailing backslash joining a line to the next; comment-only lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@dataclass(frozen=True)
class Command:
    """One printed command line, with the ``export`` lines printed above it in its block (what it runs with)."""

    document: Path
    heading: str
    line: str
    exports: tuple[str, ...]

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line, comments=True)

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)} ({self.heading}): {self.line}"


def printed_commands(pages: list[Path] | None = None) -> list[Command]:
    """Every command line of every ``sh`` block, in the order printed."""
    found = []
    for block in blocks("sh", pages):
        exports: list[str] = []
        for line in commands(block.text):
            if line.startswith("export "):
                exports.append(line)
            else:
                found.append(Command(block.document, block.heading, line, tuple(exports)))
    return found


def section(heading: str) -> str:
    """The text under ``heading`` (a heading line's own words, found on exactly one page), up to the next heading
    of any level."""
    found = []
    for page in documents():
        text = page.read_text(encoding="utf-8")
        for match in re.finditer(rf"^#+ {re.escape(heading)}\n", text, re.MULTILINE):
            following = re.search(r"^#", text[match.end() :], re.MULTILINE)
            found.append(text[match.end() : match.end() + following.start()] if following else text[match.end() :])
    (only,) = found
    return only


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
