"""Run a command with a real terminal on stderr (a pseudo-terminal), for tests of progress bars.

:func:`run_on_terminal` starts ``argv`` with stderr (and, if asked, stdout) on the slave side
of a fresh pseudo-terminal sized 100 x 30, drains the master side in a thread while the
command runs (so a chatty command never blocks on a full terminal buffer), and returns a
:class:`TerminalRun` with the exit code, what the terminal showed and what went to the
stdout pipe. Bounded in time: the command is killed at ``timeout`` (and the test fails).
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["TerminalRun", "run_on_terminal"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TerminalRun:
    """What a command did: ``returncode``, ``terminal`` (text shown on the pseudo-terminal,
    ``\\r`` and all) and ``stdout`` (the piped output; empty when stdout was the terminal)."""

    returncode: int
    terminal: str
    stdout: str


def _drain(master: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every slave descriptor is closed and the buffer is drained
            return
        if not data:
            return
        chunks.append(data)


def run_on_terminal(
    argv: Sequence[str],
    *,
    stdout_on_terminal: bool = False,
    timeout: float = 120,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    interrupt_when: Callable[[str], bool] | None = None,
    columns: int = 100,
    lines: int = 30,
) -> TerminalRun:
    """Run ``argv`` with stderr on a pseudo-terminal (stdout too when ``stdout_on_terminal``).

    ``interrupt_when(terminal_text)`` is checked as output arrives; once true the command
    gets SIGINT (a person's Ctrl-C), e.g. to end ``run --every`` after two polls.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    chunks: list[bytes] = []
    out_chunks: list[bytes] = []
    threads = [threading.Thread(target=_drain, args=(master, chunks), daemon=True)]
    deadline = time.monotonic() + timeout
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stderr=slave,
            stdout=slave if stdout_on_terminal else subprocess.PIPE,
            cwd=cwd,
            env=None if env is None else dict(env),
        )
        os.close(slave)
        slave = -1
        if proc.stdout is not None:
            threads.append(threading.Thread(target=_drain, args=(proc.stdout.fileno(), out_chunks), daemon=True))
        for t in threads:
            t.start()
        interrupted = False
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait(timeout=10)
                raise subprocess.TimeoutExpired(list(argv), timeout)
            if interrupt_when is not None and not interrupted and interrupt_when(_text(chunks)):
                proc.send_signal(signal.SIGINT)
                interrupted = True
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        for t in threads:
            t.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return TerminalRun(returncode=proc.returncode, terminal=_text(chunks), stdout=_text(out_chunks))


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace")
