"""The local services' background threads: a failing step is reported and tried again, stop() ends them all."""

from __future__ import annotations

import threading

import pytest

from local.polling import Loops, SourcePoller


def test_a_failing_step_is_reported_and_tried_again_until_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    loops = Loops()
    calls: list[int] = []
    again = threading.Event()

    def step() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("moto went away")
        again.set()
        return 1

    loops.start("test-step", step, idle_seconds=0.01, what="reading the test queue")
    try:
        assert again.wait(5), "the step was not tried again after it failed"
    finally:
        loops.stop()
    assert "local: reading the test queue failed: moto went away" in capsys.readouterr().err
    assert all(t.name != "test-step" for t in threading.enumerate()), "stop() ended the thread"


def test_wait_first_runs_nothing_when_stopped_during_the_first_pause() -> None:
    loops = Loops()
    calls: list[int] = []
    loops.start("test-wait", lambda: calls.append(1) or 0, idle_seconds=60, what="x", wait_first=True)
    loops.stop()  # cuts the 60 s pause short
    assert calls == []
    assert all(t.name != "test-wait" for t in threading.enumerate())


def test_loops_start_again_after_a_stop() -> None:
    loops = Loops()
    ran = threading.Event()
    loops.start("first", lambda: 0, idle_seconds=0.01, what="x")
    loops.stop()
    loops.start("second", lambda: ran.set() or 0, idle_seconds=0.01, what="x")
    try:
        assert ran.wait(5)
    finally:
        loops.stop()


def test_a_poller_not_started_says_so() -> None:
    class Nothing(SourcePoller[str]):
        name = "nothing"

    with pytest.raises(RuntimeError, match="the nothing poller is not started"):
        _ = Nothing().stack
