"""`python -m local invoke <LogicalId> -e events/<file>.json`: every sample event run as printed, each doing what
events/README.md says, and every function of the template with at least one event."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from stacktools.template import ROOT, Template

README = ROOT / "events" / "README.md"
PYTHON = ROOT / ".venv" / "bin" / "python"
ROW = re.compile(r"^\| `(?P<event>[^`]+)` \| `(?P<function>[^`]+)` \| (?P<does>.+?) \| (?P<prints>.+) \|$")


def documented() -> list[tuple[str, str, list[str]]]:
    """(event, function, what the invocation prints) for each line of the README's table."""
    rows = [ROW.match(line) for line in README.read_text(encoding="utf-8").splitlines()]
    return [(m["event"], m["function"], re.findall(r"`([^`]+)`", m["prints"])) for m in rows if m]


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own interpreter and module
        [str(PYTHON), "-m", "local", "invoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )


def test_every_function_has_an_event_and_every_event_names_a_function() -> None:
    rows = documented()
    functions = {spec.logical_id for spec in Template.load().functions()}
    assert {function for _, function, _ in rows} == functions
    assert all(prints for _, _, prints in rows), "each line says what the invocation prints"
    events = {path.name for path in (ROOT / "events").glob("*.json")}
    assert {event for event, _, _ in rows} == events


@pytest.mark.parametrize(("event", "function", "prints"), documented(), ids=lambda value: str(value))
def test_the_sample_event_does_what_the_readme_says(event: str, function: str, prints: list[str]) -> None:
    done = invoke(function, "-e", f"events/{event}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith(f"{function} answered:\n")
    missing = [text for text in prints if text not in done.stdout]
    assert missing == [], done.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("NoSuchFunction", "-e", "events/get_order.json"), "NoSuchFunction"),
        (("Cgi1Function", "-e", "events/no_such_event.json"), "events/no_such_event.json"),
        (("Cgi1Function", "-e", "events/captures.xml"), "events/captures.xml"),
    ],
)
def test_an_unknown_function_or_event_file_is_one_line_and_exit_2(args: tuple[str, ...], named: str) -> None:
    done = invoke(*args)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1
    assert named in done.stderr


def test_the_sam_local_commands_take_the_same_files() -> None:
    make = ["make", "-s", "sam-local"]
    printed = subprocess.run(make, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout  # noqa: S603
    invoked = re.findall(r"sam local invoke (\w+) -e (events/\S+)", printed)
    assert invoked
    rows = {(f"events/{event}", function) for event, function, _ in documented()}
    assert {(path, function) for function, path in invoked} <= rows
    assert all(Path(ROOT, path).is_file() for _, path in invoked)
