"""Worker processes forked from this one, as the sample scan and the batch audit use them.

:func:`default_jobs` is how many a command uses unless told: one per CPU, at most 4.
:func:`fork_pool` makes the :class:`concurrent.futures.ProcessPoolExecutor` of ``jobs`` forked
workers (``None`` where :func:`os.fork` does not exist: the caller then works in its own
process). Each worker leaves Ctrl-C to this process, which stops the pool (no traceback from
every worker), and moves every object it was forked with to the collector's permanent
generation (:func:`gc.freeze`: they live as long as the worker, so its collections need not
walk them; 3-7 % of a scan's time), then runs ``initializer(*initargs)``. With ``fork`` nothing
given to the pool at its start is pickled: the worker has it already.

Layer 3 (processes); imports nothing of the kit.
"""

from __future__ import annotations

import os
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import ProcessPoolExecutor
    from typing import Any

__all__ = ["default_jobs", "fork_pool"]


def default_jobs() -> int:
    """The number of processes a command uses unless told: one per CPU, at most 4."""
    return min(os.cpu_count() or 1, 4)


def _start_worker(initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    import gc
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    if initializer is not None:
        initializer(*initargs)


def fork_pool(
    jobs: int, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor | None:
    """A pool of ``jobs`` forked worker processes, or ``None`` where processes cannot fork."""
    if not hasattr(os, "fork"):
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(initializer, initargs),
    )
