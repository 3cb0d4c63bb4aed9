"""Limits on what the kit reads from a server, and the wall-clock deadlines of its steps.

Owns :class:`Limits` (the byte, line and count bounds every reader applies) and
:class:`Deadline` (a monotonic-clock budget that a step or a whole session must finish in).
A socket timeout alone bounds only the wait for *one* read: a server that sends one byte a
second never trips it. So every client step gets a :class:`Deadline` derived from the
configured ``timeout`` (:meth:`Limits.step_seconds`) and every session one derived from the
work it has to do (:meth:`Limits.session_seconds`); before each read the socket timeout is
set to ``min(timeout, deadline.remaining())``, so the step ends on time however the server
paces its bytes, and the error names the step that hit it.

The defaults are generous for real servers and small for hostile ones:

=========================  ===============  ====================================================
limit                      default          why
=========================  ===============  ====================================================
``max_line``               8 KiB            replies and listing lines (RFC 5321 §4.5.3.1.5 says
                                            512 octets for an SMTP reply line; real servers stay
                                            far under 8 KiB)
``max_message_line``       1 MiB            one line of a message body (RFC 5322 says 998; broken
                                            generators write long base64 lines)
``max_reply_lines``        1,000            lines of an SMTP reply / CAPA / EHLO answer
``max_listing_lines``      1,000,000        LIST / UIDL lines (a maildrop of a million messages)
``max_listing_bytes``      64 MiB           total bytes of one LIST / UIDL answer
``max_message_bytes``      160 MiB          one message (Exchange Online accepts up to 150 MB,
                                            the largest provider limit; see docs/limits.md)
``step_factor``            3                a one-line step may take ``3 × timeout`` in all
``min_rate``               16 KiB/s         a big answer may take ``timeout + bytes / min_rate``
=========================  ===============  ====================================================

Layer 3 (used by the clients and the doctor); standard library and :mod:`mailsupport.errors` only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import DeadlineExceeded

__all__ = ["Limits", "Deadline", "DEFAULT_LIMITS"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bounds on what a client reads (see the module docstring for the defaults and why)."""

    max_line: int = 8 * 1024
    max_message_line: int = 1 << 20
    max_reply_lines: int = 1000
    max_listing_lines: int = 1_000_000
    max_listing_bytes: int = 64 << 20
    max_message_bytes: int = 160 << 20
    step_factor: float = 3.0
    min_rate: int = 16 * 1024

    def step_seconds(self, timeout: float, expected_bytes: int = 0) -> float:
        """The wall-clock budget of one step: ``step_factor × timeout`` for a short answer,
        plus ``expected_bytes / min_rate`` for a big one (capped at ``max_message_bytes``, so a
        lying size cannot buy a longer deadline)."""
        expected = min(max(0, expected_bytes), self.max_message_bytes)
        return self.step_factor * timeout + expected / self.min_rate

    def session_seconds(self, timeout: float, steps: int = 1, expected_bytes: int = 0) -> float:
        """The wall-clock budget of a session of ``steps`` commands moving ``expected_bytes``."""
        return self.step_seconds(timeout) * max(1, steps) + self.step_seconds(0, expected_bytes)


DEFAULT_LIMITS = Limits()


class Deadline:
    """A wall-clock budget: ``Deadline(30, "RETR 5")``; :meth:`remaining` raises
    :class:`~mailsupport.errors.DeadlineExceeded` naming the step once it is spent.

    ``clock`` is injectable (monotonic seconds) for tests of the arithmetic only; real steps
    use the default.
    """

    __slots__ = ("seconds", "step", "server", "_end", "_clock")

    def __init__(
        self, seconds: float, step: str, *, server: str = "", clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.step = step
        self.server = server
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (> 0); raises :class:`DeadlineExceeded` when none are."""
        left = self._end - self._clock()
        if left <= 0:
            raise self.exceeded()
        return left

    def exceeded(self) -> DeadlineExceeded:
        """The error naming this deadline's step (for a read whose time-out was what was left of it)."""
        return DeadlineExceeded(
            f"{self.step} did not finish within its {round(self.seconds, 1):g} s deadline; "
            "the server is too slow or sends data without end",
            step=self.step,
            seconds=self.seconds,
            server=self.server,
        )

    def expired(self) -> bool:
        """True once the budget is spent (does not raise)."""
        return self._end - self._clock() <= 0

    def timeout(self, per_read: float) -> float:
        """The socket timeout for the next read: ``min(per_read, remaining())``."""
        return min(per_read, self.remaining())

    def sooner(self, other: Deadline | None) -> Deadline:
        """Whichever of ``self`` and ``other`` ends first (a step inside a session)."""
        if other is None or self._end <= other._end:
            return self
        return other

    def __repr__(self) -> str:
        return f"Deadline({self.seconds:g} s, {self.step!r})"
