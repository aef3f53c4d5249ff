"""The documentation stands on its own in a clone: every reference to the protocol resolves to a section of
docs/protocol.md, every relative link of the README, CONTRIBUTING and the site's pages to a file (and heading) of
the repository, and `make docs` builds the site with a command that fails on a broken link."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.readme import documents

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


@pytest.mark.parametrize(
    "document",
    [*(str(page.relative_to(ROOT)) for page in documents()), "layers/sealing/README.md", "simulator/README.md"],
)
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
    """The paths the architecture page's layout names, one per line that starts with one."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    block = text.split("## Layout", 1)[1].split("```", 2)[1]
    return [line.split()[0] for line in block.splitlines() if line and not line.startswith(" ")]


# The layout the pages describe is the one issue 20 moves to (the simulator in simulator/), which lands with the
# move itself: until then these two fail, as expected, strictly; the day the simulator has moved they pass, and
# the markers go.


def test_the_layout_names_only_what_exists() -> None:
    missing = [entry for entry in _layout_entries() if not (ROOT / entry.rstrip("/")).exists()]
    assert not missing, f"the layout (docs/architecture.md) names what the tree does not have: {missing}"


def test_the_layout_names_every_top_level_part() -> None:
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)  # noqa: S607
    tracked = listing.stdout.decode().split("\0")
    tops = {name.split("/", 1)[0] for name in filter(None, tracked) if "/" in name and not name.startswith(".")}
    named = {entry.rstrip("/").split("/", 1)[0] for entry in _layout_entries()}
    assert not tops - named, f"top-level directories the layout does not describe: {sorted(tops - named)}"


# -- make docs ---------------------------------------------------------------------------------------------------


def _make_docs_command() -> list[str]:
    """The command `make docs` runs, read from the Makefile's recipe, with its environment's path filled in."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    (recipe,) = re.findall(r"^docs: .*\n\t(.+)$", makefile, flags=re.MULTILINE)
    return recipe.replace("$(DOCS)", str(ROOT / ".docs")).split()


def _build(site: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    words = _make_docs_command()
    variables = [word for word in words if re.fullmatch(r"[A-Z_0-9]+=\S*", word)]
    program, *arguments = words[len(variables) :]
    environ = dict(variable.split("=", 1) for variable in variables)
    assert Path(program).is_file(), "make test builds the documentation's environment (.docs) before the tests"
    return subprocess.run(  # noqa: S603 - the Makefile's own command
        [program, *arguments, "--site-dir", str(site)],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", **environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_make_docs_builds_every_page_in_strict_mode(tmp_path: Path) -> None:
    assert "--strict" in _make_docs_command()
    built = _build(tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert "WARNING" not in built.stderr
    pages = sorted(path.stem for path in (ROOT / "docs").glob("*.md"))
    for page in pages:
        assert (tmp_path / "site" / ("" if page == "index" else page) / "index.html").is_file(), page


@pytest.mark.parametrize("broken", ["[a page](no-such-page.md)", "[a heading](api.md#no-such-heading)"])
def test_make_docs_fails_on_a_broken_link(tmp_path: Path, broken: str) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(ROOT / "docs", copy / "docs")
    for name in ("mkdocs.yml", "CONTRIBUTING.md"):
        shutil.copy(ROOT / name, copy / name)
    page = copy / "docs" / "cost.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{broken}\n", encoding="utf-8")
    built = _build(tmp_path / "site", cwd=copy)
    assert built.returncode != 0
    assert "cost.md" in built.stderr, built.stderr
    assert "WARNING" in built.stderr, built.stderr
