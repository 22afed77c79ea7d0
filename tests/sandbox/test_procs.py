"""sandbox/procs.py: the one thread that starts sandboxes, spacing the starts."""

from __future__ import annotations

import threading

import pytest

from sre_agent.sandbox import procs


class FakeClock:
    """A clock that moves only when slept on (a fake, for the spawner's spacing)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_starts_are_spaced_by_the_gap_and_the_first_never_waits(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(procs, "time", clock)
    spawner = procs._Spawner(gap_s=0.3)
    started: list[tuple[float, str]] = []
    assert spawner.call(lambda: started.append((clock.now, threading.current_thread().name)))\
        is None
    clock.now += 0.1  # the next start comes 0.1 s later: it waits the other 0.2 s
    spawner.call(lambda: started.append((clock.now, "")))
    clock.now += 5.0  # long after: no wait
    spawner.call(lambda: started.append((clock.now, "")))
    assert [t for t, _ in started] == [100.0, 100.3, 105.3]
    assert clock.slept == [0.2]
    assert started[0][1] == "sandbox-spawner"  # the long-lived thread, not the caller's


def test_a_failing_start_reaches_its_caller_and_the_next_still_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procs, "time", FakeClock())
    spawner = procs._Spawner(gap_s=0.3)

    def boom() -> None:
        raise OSError("no bwrap")

    with pytest.raises(OSError, match="no bwrap"):
        spawner.call(boom)
    assert spawner.call(lambda: 7) == 7
