"""The documentation stands on its own in a clone: every reference to the protocol resolves to a section of
docs/protocol.md, every relative link of the README and docs/ to a file (and heading) of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "docs" / "protocol.md"
SKIPPED_DIRS = {".git", ".venv", ".uv", ".tools", ".aws-sam", ".mypy_cache", ".ruff_cache", ".pytest_cache",
                ".hypothesis", "__pycache__", "test-artifacts", "vendor", "node_modules"}  # fmt: skip
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".json", ".txt", ".in", ".html", ".cfg", ".sh"}
# What pointed outside the repository: a sibling directory, numbered sections of a protocol file that is not
# here, and the original service description by a name only its authors knew.
OUTSIDE = re.compile(
    r"\.\./shared|(?<!docs/)protocol\.md(?:'s)?\s*(?:section\s*)?\d|\bthe seed\b|\bseed(?:'s|\s+\d)", re.IGNORECASE
)
CITATION = re.compile(r"docs/protocol\.md,\s+(?:section\s+)?([^\n]+)")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _text_files() -> list[Path]:
    """The project's own text files: what git tracks, and what it would (new files), never an environment."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],  # noqa: S607 - git on PATH
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    files = []
    for name in filter(None, listed):
        path = ROOT / name
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "Makefile") and path != Path(__file__):
            files.append(path)
    return files


def _headings(markdown: Path, level: str = "#") -> list[str]:
    """The headings of ``markdown`` starting with ``level`` (outside code blocks, where ``#`` is a comment)."""
    headings, fenced = [], False
    for line in markdown.read_text().splitlines():
        fenced ^= line.startswith("```")
        if not fenced and line.startswith(level):
            headings.append(line.lstrip("#").strip())
    return headings


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_nothing_points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_every_citation_names_a_section_of_docs_protocol() -> None:
    sections = _headings(PROTOCOL, "## ")
    assert {"Payment request", "Confirmation", "Back-office calls", "Test vectors"} <= set(sections)
    cited = {
        f"{path.relative_to(ROOT)}: {match.group(1)}"
        for path in _text_files()
        for match in CITATION.finditer(" ".join(path.read_text(errors="replace").split()))
        if not any(match.group(1).startswith(section) for section in sections)
    }
    assert cited == set()


@pytest.mark.parametrize("document", ["README.md", "docs/protocol.md", "layers/sealing/README.md"])
def test_every_relative_link_resolves(document: str) -> None:
    source = ROOT / document
    broken = []
    for target in LINK.findall(source.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        resolved = (source.parent / path).resolve() if path else source
        if not resolved.exists() or (anchor and anchor not in {_slug(h) for h in _headings(resolved)}):
            broken.append(target)
    assert broken == []


def test_the_slugs_match_githubs() -> None:
    assert _slug("The bank's pages") == "the-banks-pages"
    assert _slug("Back-office calls") == "back-office-calls"


def _layout_entries() -> list[str]:
    """The paths the README's layout section names, one per line that starts with one."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line and not line.startswith(" ")]


def test_the_readme_layout_names_only_what_exists() -> None:
    missing = [entry for entry in _layout_entries() if not (ROOT / entry.rstrip("/")).exists()]
    assert not missing, f"the README's layout names what the tree does not have: {missing}"


def test_the_readme_layout_names_every_top_level_part() -> None:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)  # noqa: S607
    tracked = listing.stdout.decode().split("\0")
    tops = {name.split("/", 1)[0] for name in filter(None, tracked) if "/" in name and not name.startswith(".")}
    named = {entry.rstrip("/").split("/", 1)[0] for entry in _layout_entries()}
    assert not tops - named, f"top-level directories the README's layout does not describe: {sorted(tops - named)}"
