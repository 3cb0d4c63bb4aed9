"""The deadline arithmetic and the limits' budgets."""

from __future__ import annotations

import pytest

from mailsupport.errors import DeadlineExceeded, ProtocolError
from mailsupport.limits import DEFAULT_LIMITS, Deadline, Limits


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_deadline_counts_down_and_names_the_step():
    """remaining() shrinks with the clock and raises DeadlineExceeded naming the step when spent."""
    clock = Clock()
    d = Deadline(5, "RETR 3", server="pop.example:995", clock=clock)
    assert d.remaining() == 5
    clock.now += 4
    assert d.timeout(3) == pytest.approx(1)
    clock.now += 1
    assert d.expired()
    with pytest.raises(DeadlineExceeded) as err:
        d.remaining()
    assert isinstance(err.value, ProtocolError)
    assert err.value.step == "RETR 3" and err.value.seconds == 5
    assert "RETR 3" in str(err.value) and "pop.example:995" in str(err.value)


def test_sooner_picks_the_deadline_that_ends_first():
    """A step inside a session gets whichever ends first."""
    clock = Clock()
    session = Deadline(10, "session", clock=clock)
    step = Deadline(30, "RETR 1", clock=clock)
    assert step.sooner(session) is session
    assert session.sooner(step) is session
    assert step.sooner(None) is step


def test_step_budget_grows_with_size_but_not_past_the_message_cap():
    """A big answer buys time at the minimum rate; a lying size cannot buy more than the cap's worth."""
    lim = Limits(step_factor=2, min_rate=1000, max_message_bytes=10_000)
    assert lim.step_seconds(3) == 6
    assert lim.step_seconds(3, 5000) == 11
    assert lim.step_seconds(3, 10**15) == 16
    assert lim.session_seconds(3, steps=4, expected_bytes=2000) == 26
    assert DEFAULT_LIMITS.max_message_bytes > 150_000_000
