"""Run a ``mailsupport`` command in a child process under hard limits, for tests of whole entry points.

Owns :func:`run_cli` and its result :class:`CliRun`. The child is ``python -m mailsupport
ARGS`` with, set inside the child before the package is imported, an address-space limit
(``RLIMIT_AS``, 1 GiB by default: an unbounded read ends in ``MemoryError`` there instead of
swapping the machine), a file-size limit (``RLIMIT_FSIZE``: an endless error written to a
file cannot fill the disk) and no core files. The limits are set by a few lines run with
``python -c`` rather than in a ``preexec_fn``, because the tests that use this run hostile
servers in threads of the parent, and running Python code between ``fork`` and ``exec`` of a
threaded parent can deadlock.

The child gets ``timeout`` seconds of wall-clock time; past that it is killed — that child
only, by its process id — and the run says so (``timed_out``). Its output goes to unlinked
temporary files (never a pipe that could fill and stall it); at most ``keep_bytes`` of each
stream are kept (head and tail), and :attr:`CliRun.output_bytes` tells how much there was.

Layer 6 (testing); standard library only. Imports nothing of the package: the child runs the
``mailsupport`` found through ``PYTHONPATH``, which is set to the checkout this module is in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["CliRun", "run_cli", "GIB"]

GIB = 1 << 30
#: The package's checkout (the folder holding ``mailsupport/``), first on the child's path.
_ROOT = str(Path(__file__).resolve().parents[2])

_BOOT = """\
import resource, runpy, sys
for what, value in ((resource.RLIMIT_AS, {address_space}), (resource.RLIMIT_FSIZE, {file_size}),
                    (resource.RLIMIT_CORE, 0)):
    if value is not None:
        resource.setrlimit(what, (value, value))
sys.argv[0] = {module!r}
runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class CliRun:
    """How one child ``mailsupport`` process ended.

    ``code`` is its exit status (negative: killed by that signal; ``None`` never, the child is
    always reaped); ``timed_out`` is true when it was still running at its deadline and was
    killed; ``seconds`` is the wall-clock time from start to exit.
    """

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool
    output_bytes: int

    @property
    def output(self) -> str:
        """stdout then stderr, as one text to search."""
        return f"{self.stdout}\n{self.stderr}"


def _kept(stream: IO[bytes], keep: int) -> tuple[str, int]:
    size = stream.seek(0, os.SEEK_END)
    stream.seek(0)
    if size <= keep:
        data = stream.read()
    else:
        head = stream.read(keep // 2)
        stream.seek(size - keep // 2)
        data = head + f"\n[... {size - keep} bytes left out ...]\n".encode() + stream.read()
    return data.decode("utf-8", "replace"), size


def run_cli(
    args: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str],
    address_space: int | None = GIB,
    file_size: int | None = 256 << 20,
    stdin: int | IO[Any] | None = None,
    env: Mapping[str, str] | None = None,
    keep_bytes: int = 1 << 20,
    module: str = "mailsupport",
) -> CliRun:
    """Run ``mailsupport ARGS`` in a child under the limits; kill it after ``timeout`` seconds.

    ``module`` runs another module as ``python -m`` would instead (the tests of this helper
    use a standard-library one).

    ``stdin`` is a file object or descriptor for the child's standard input (default: none,
    ``/dev/null``); ``env`` replaces the environment (default: this process's), in both cases
    with ``PYTHONPATH`` pointing at this checkout and ``PYTHONUNBUFFERED`` set, so what the
    child printed before it was killed is kept.
    """
    boot = _BOOT.format(address_space=address_space, file_size=file_size, module=module)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, child_env.get("PYTHONPATH", "")) if p)
    child_env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", boot, *args],
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            stdout=out,
            stderr=err,
        )
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.kill()  # this child only, by its pid
            proc.wait()
        seconds = time.monotonic() - started
        stdout, n_out = _kept(out, keep_bytes)
        stderr, n_err = _kept(err, keep_bytes)
    return CliRun(
        args=tuple(args),
        code=proc.returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=seconds,
        timed_out=timed_out,
        output_bytes=n_out + n_err,
    )
