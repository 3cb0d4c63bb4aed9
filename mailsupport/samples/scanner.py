"""From sample paths to message summaries, in one process or in several: :func:`scan` and :func:`scan_batches`.

:func:`scan` yields every :class:`~mailsupport.headers.MessageSummary` of the samples in order.
:func:`scan_batches` yields them as ``(source, positions, values)`` batches in the same order,
each value ``fn(summary)`` computed in the process that summarized the message, so a caller that
turns summaries into text (the ``scan`` command's rows) sends only that text between processes.
:func:`scan`'s workers send each summary's field values, and this process makes the summary
with its position in the file (one construction, no copy to renumber it).

With ``jobs`` above 1 an mbox of at least :data:`PARALLEL_MIN_BYTES` is cut into byte ranges
(:func:`_ranges`: a quarter of what is left per worker, within :data:`TASK_MIN_BYTES` and
:data:`TASK_MAX_BYTES`, so the last ones are short and the workers finish together), and a pool
of ``jobs`` forked worker processes (:func:`mailsupport.forkpool.fork_pool`) summarizes the messages whose
From_ line starts in each range (:func:`~mailsupport.samples.mbox.iter_mbox_spans`: a range's
last message is read on past its end, so nobody looks for boundaries first), numbered from 1.
This process takes the results in file order, at most two ranges per worker ahead (memory
stays flat), and numbers the messages: a range's ordinals follow the messages of the ranges
before it, so nobody counts messages twice. Anything else (a small mbox, Maildir, folder,
zip, ``.eml``, ``jobs=1``, no ``fork``) is read in this process, message by message. A
worker that fails fails the scan with a :class:`~mailsupport.errors.SampleError` naming its
byte range; when the consumer stops early, the pool is shut down (running ranges finish,
queued ones are dropped).

Layer 3 (file I/O and worker processes, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import fields
from operator import attrgetter
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every command's start)
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, TypeVar

    T = TypeVar("T")

from ..errors import SampleError
from ..forkpool import default_jobs, fork_pool
from ..headers import MessageSummary
from .files import DEFAULT_LIMITS, RawMessage, ReadLimits
from .mbox import iter_mbox_spans
from .readers import iter_raw, resolve_sample
from .summary import summarize

__all__ = [
    "scan",
    "scan_batches",
    "batched",
    "scan_mbox",
    "scan_raw",
    "default_jobs",
    "PARALLEL_MIN_BYTES",
    "TASK_MIN_BYTES",
    "TASK_MAX_BYTES",
]

#: A smaller mbox is read in the calling process: starting workers would cost more than they save.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
#: The shortest and the longest byte range of an mbox one worker task summarizes.
TASK_MIN_BYTES = 1024 * 1024
TASK_MAX_BYTES = 8 * 1024 * 1024


def scan(
    *paths: str | os.PathLike[str], jobs: int = 1, limits: ReadLimits = DEFAULT_LIMITS, mx_hosts: Sequence[str] = ()
) -> Iterator[MessageSummary]:
    """Every message of every sample path, summarized, in order (streaming), read within ``limits``.

    ``jobs`` above 1 lets a big mbox be summarized by that many worker processes (see the
    module docstring). ``mx_hosts`` are the tenant's own MX/gateway hosts in front of the
    mailbox: hops from them belong to each message's receiving chain
    (:func:`mailsupport.chain.receiving_chain`).
    """
    for path in paths:
        p, kind = resolve_sample(path)
        if _parallel(p, kind, jobs):
            # the workers send each summary's field values; it is made here with its position in the file
            # (a worker numbers a range's messages from 1)
            for _source, positions, rows in _scan_ranges(
                _field_values, p, jobs, limits.max_message_bytes, tuple(mx_hosts), None
            ):
                for position, values in zip(positions, rows):
                    by_name = dict(zip(_FIELD_NAMES, values))
                    by_name["position"] = position
                    yield MessageSummary(**by_name)
        else:
            yield from _scan_path(p, limits, mx_hosts, kind)


def scan_batches(
    fn: Callable[[MessageSummary], T],
    *paths: str | os.PathLike[str],
    jobs: int = 1,
    limits: ReadLimits = DEFAULT_LIMITS,
    mx_hosts: Sequence[str] = (),
    on_bytes: Callable[[int], object] | None = None,
) -> Iterator[tuple[str, list[str], list[T]]]:
    """Every message of every sample path as ``(source, positions, values)`` batches, in order.

    ``values[i]`` is ``fn(summary)`` of the message at ``positions[i]`` of ``source``. ``fn``
    runs where the message was summarized: in a worker process for a range of a big mbox
    (``jobs`` above 1), so it must be a module-level function and its result picklable; there
    the summary's own ``position`` counts from 1 within the range, so use ``positions``.
    ``on_bytes`` (a progress bar's ``update``) is called with the bytes done, once per batch.
    """
    for path in paths:
        p, kind = resolve_sample(path)
        if _parallel(p, kind, jobs):
            yield from _scan_ranges(fn, p, jobs, limits.max_message_bytes, tuple(mx_hosts), on_bytes)
        else:
            yield from batched(_scan_path(p, limits, mx_hosts, kind), fn, on_bytes)


def batched(
    summaries: Iterable[MessageSummary],
    fn: Callable[[MessageSummary], T],
    on_bytes: Callable[[int], object] | None = None,
    size: int = 256,
) -> Iterator[tuple[str, list[str], list[T]]]:
    """:func:`scan_batches`' batches of summaries made in this process (at most ``size`` each, one source)."""
    source = ""
    positions: list[str] = []
    values: list[T] = []
    done = 0
    for summary in summaries:
        if summary.source != source or len(values) >= size:
            if values:
                if on_bytes is not None:
                    on_bytes(done)
                yield source, positions, values
            source, positions, values, done = summary.source, [], [], 0
        positions.append(summary.position)
        values.append(fn(summary))
        done += summary.encoded_size
    if values:
        if on_bytes is not None:
            on_bytes(done)
        yield source, positions, values


def scan_raw(messages: Iterable[RawMessage], *, mx_hosts: Sequence[str] = ()) -> Iterator[MessageSummary]:
    """Summarize raw messages one by one (a read problem becomes a summary with that problem)."""
    for item in messages:
        if item.problem:
            yield MessageSummary(source=item.source, position=item.position, problems=(item.problem,))
        else:
            yield summarize(item.data, source=item.source, position=item.position, mx_hosts=mx_hosts)


def scan_mbox(
    path: str | os.PathLike[str],
    *,
    start: int = 0,
    end: int | None = None,
    first_ordinal: int | None = None,
    max_message_bytes: int = DEFAULT_LIMITS.max_message_bytes,
    mx_hosts: Sequence[str] = (),
) -> Iterator[MessageSummary]:
    """Summaries of an mbox, or of the byte range ``start:end`` of one (see :func:`~.mbox.iter_mbox_spans`).

    Each message is summarized where the reader's buffer holds it (no copy); a problem row (no
    From_ line at the start, a message over ``max_message_bytes``) comes as its text.
    """
    p = Path(path)
    source = str(p)
    for position, data, begin, stop in iter_mbox_spans(
        p, start=start, end=end, first_ordinal=first_ordinal, max_message_bytes=max_message_bytes
    ):
        if data.__class__ is str:
            yield MessageSummary(source=source, position=position, problems=(data,))
        else:
            yield summarize(data, source=source, position=position, mx_hosts=mx_hosts, start=begin, end=stop)


def _scan_path(
    path: str | os.PathLike[str], limits: ReadLimits, mx_hosts: Sequence[str], kind: str | None = None
) -> Iterator[MessageSummary]:
    """Every summary of one sample path, in this process."""
    if kind is None:
        path, kind = resolve_sample(path)
    if kind == "mbox":
        yield from scan_mbox(path, max_message_bytes=limits.max_message_bytes, mx_hosts=mx_hosts)
    else:
        yield from scan_raw(iter_raw(path, limits=limits), mx_hosts=mx_hosts)


def _parallel(path: Path, kind: str, jobs: int) -> bool:
    """Whether a sample is summarized by worker processes: an mbox of at least :data:`PARALLEL_MIN_BYTES`
    with ``jobs`` above 1, where processes fork."""
    return jobs > 1 and kind == "mbox" and hasattr(os, "fork") and path.stat().st_size >= PARALLEL_MIN_BYTES


#: :class:`MessageSummary`'s field names, in order.
_FIELD_NAMES = tuple(f.name for f in fields(MessageSummary))
_values_of = attrgetter(*_FIELD_NAMES)


def _field_values(summary: MessageSummary) -> tuple[object, ...]:
    """What a worker sends for a summary :func:`scan` yields: its field values, in :data:`_FIELD_NAMES` order."""
    return _values_of(summary)


def _scan_range(
    fn: Callable[[MessageSummary], Any],
    path: str,
    start: int,
    end: int,
    max_message_bytes: int,
    mx_hosts: tuple[str, ...],
) -> tuple[bool, list[Any]]:
    """A worker's task: ``fn(summary)`` of every message of ``path[start:end]``, and whether the first is
    the row of an mbox not starting with a From_ line (position ``"0"``; the others count from 1)."""
    zero = False
    values = []
    for s in scan_mbox(
        path, start=start, end=end, first_ordinal=1, max_message_bytes=max_message_bytes, mx_hosts=mx_hosts
    ):
        zero = zero or s.position == "0"
        values.append(fn(s))
    return zero, values


def _ranges(size: int, jobs: int) -> Iterator[tuple[int, int]]:
    """Byte ranges covering ``size`` bytes: each a quarter of what is left per job, within
    :data:`TASK_MIN_BYTES` and :data:`TASK_MAX_BYTES` (long ranges first, short ones last)."""
    start = 0
    while start < size:
        step = min(TASK_MAX_BYTES, max(TASK_MIN_BYTES, (size - start) // (4 * jobs)))
        yield start, min(size, start + step)
        start += step


def _scan_ranges(
    fn: Callable[[MessageSummary], Any],
    path: Path,
    jobs: int,
    max_message_bytes: int,
    mx_hosts: tuple[str, ...],
    on_bytes: Callable[[int], object] | None,
) -> Iterator[tuple[str, list[str], list[Any]]]:
    """:func:`scan_batches` of one big mbox: its ranges summarized by a pool of ``jobs`` forked workers."""
    from concurrent.futures.process import BrokenProcessPool

    source = str(path)
    ranges = _ranges(path.stat().st_size, jobs)
    pool = fork_pool(jobs)
    assert pool is not None  # _parallel() checked that processes fork
    pending: deque = deque()
    base = 0  # messages in the ranges already given out

    def failed(start: int, end: int, exc: BaseException) -> SampleError:
        return SampleError(
            f"a scan worker process failed on bytes {start}-{end}: {type(exc).__name__}: {exc}; "
            "run with --jobs 1 (jobs=1) to scan in one process",
            source=source,
        )

    try:
        while True:
            for a, b in ranges:  # keep every worker busy, with its next range queued
                try:
                    pending.append((a, b, pool.submit(_scan_range, fn, source, a, b, max_message_bytes, mx_hosts)))
                except BrokenProcessPool as exc:  # a worker died: its range's result says so, else this
                    if not pending:
                        raise failed(a, b, exc) from exc
                    break
                if len(pending) >= 2 * jobs:
                    break
            if not pending:
                break
            start, end, future = pending.popleft()
            try:
                zero, values = future.result()
            except Exception as exc:  # the worker's own error, or BrokenProcessPool when it died
                raise failed(start, end, exc) from exc
            if on_bytes is not None:
                on_bytes(end - start)
            count = len(values) - zero
            yield source, ["0"] * zero + [str(k) for k in range(base + 1, base + count + 1)], values
            base += count
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
