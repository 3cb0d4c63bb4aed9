"""Progress bars for long work: tqdm on stderr when a person is watching, silent otherwise.

:func:`progress` returns a :class:`Progress`: a tqdm bar on ``stderr`` when stderr is a
terminal and the command was not given ``--quiet``, else a silent stand-in with the same
methods, so callers never branch. Bars never touch stdout, so piped output, JSON and CSV
stay clean; :meth:`Progress.write` prints a line (to stdout by default) without tearing the
bar, and :meth:`Progress.guard` wraps an output stream that shares the terminal with the bar.
:func:`notebook_progress` gives the same object over ``tqdm.auto`` (a widget in Jupyter).

The CLI uses it for ``scan`` (bytes of the sample: :func:`sample_bytes`,
:meth:`Progress.track`), ``audit`` (tenants), ``run --every`` (polls) and ``demo`` (steps).
tqdm is imported only when a bar is really shown, so ``import mailsupport`` and piped runs
never load it.

Layer 5 (presentation): imports nothing of the package; must not import clients or the sandbox.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (a few ms of every scan's start)
if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO, Any

__all__ = ["Progress", "ScanProgress", "progress", "scan_progress", "notebook_progress", "shown", "sample_bytes"]

#: Items counted between two bar updates in :meth:`Progress.track` (a scan yields ~50,000 a second).
_EVERY = 256


def shown(*, quiet: bool = False, stream: IO[str] | None = None) -> bool:
    """True when a bar should be drawn: not ``quiet`` and ``stream`` (default stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return not quiet and stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """One bar (or its silent stand-in when ``bar`` is ``None``); see the module docstring.

    Calling the object counts one item (so it can be an ``on_result`` callback); ``update``
    adds, ``set`` moves to an absolute position, ``note`` shows a short status after the bar.
    """

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    @property
    def active(self) -> bool:
        """True when a real bar is drawn."""
        return self._bar is not None

    @property
    def count(self) -> float:
        """The bar's position (0 for a silent one)."""
        return self._bar.n if self._bar is not None else 0

    def __call__(self, _item: Any = None) -> None:
        self.update(1)

    def update(self, n: float = 1, *, note: str | None = None) -> None:
        """Advance by ``n`` (never past the total, when there is one); ``note`` as :meth:`note`."""
        bar = self._bar
        if bar is not None:
            if note is not None:
                bar.set_postfix_str(note, refresh=False)
            if bar.total is not None:
                n = max(0, min(n, bar.total - bar.n))
            bar.update(n)

    def set(self, n: float) -> None:
        """Move to position ``n`` (e.g. the exact byte count once a file is done)."""
        bar = self._bar
        if bar is not None:
            if bar.total is not None:
                n = min(n, bar.total)
            bar.n = n
            bar.refresh()

    def note(self, text: str) -> None:
        """Show ``text`` after the bar (the current step, a running count)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def write(self, text: str, *, file: IO[str] | None = None) -> None:
        """Print a line to ``file`` (default stdout) without tearing the bar."""
        file = sys.stdout if file is None else file
        if self._bar is not None:
            self._bar.write(text, file=file)
            file.flush()
        else:
            print(text, file=file, flush=True)

    def track(
        self, items: Iterable[Any], *, size: Callable[[Any], int] | None = None, scale: float = 1.0
    ) -> Iterator[Any]:
        """Yield ``items``, advancing by ``size(item)`` (default 1) times ``scale``.

        The bar is updated every :data:`_EVERY` items, so a fast loop pays one addition per
        item. A silent bar returns ``items`` unchanged (nothing wrapped at all).
        """
        if self._bar is None:
            return iter(items)
        return self._tracked(items, size, scale)

    def _tracked(self, items: Iterable[Any], size: Callable[[Any], int] | None, scale: float) -> Iterator[Any]:
        pending = 0
        k = 0
        for item in items:
            pending += size(item) if size is not None else 1
            k += 1
            if k >= _EVERY:
                self.update(pending * scale)
                pending = k = 0
            yield item
        self.update(pending * scale)

    def guard(self, out: IO[str]) -> IO[str]:
        """``out`` itself, or (when it is the terminal the bar draws on) a writer that lifts the
        bar off the screen for each write, so rows and bar do not interleave."""
        if self._bar is None or not shown(stream=out):
            return out
        return _Guarded(out, self._bar)

    def close(self) -> None:
        """Finish the bar (a silent one does nothing)."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Guarded:
    """A text stream that writes through tqdm's external write mode (clear bar, write, redraw)."""

    def __init__(self, out: IO[str], bar: Any) -> None:
        self._out = out
        self._bar = bar

    def write(self, text: str) -> int:
        with self._bar.external_write_mode(file=self._out):
            return self._out.write(text)

    def flush(self) -> None:
        self._out.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._out, name)


def progress(
    *,
    total: float | Callable[[], float] | None = None,
    unit: str = "it",
    desc: str = "",
    quiet: bool = False,
    stream: IO[str] | None = None,
) -> Progress:
    """A bar on ``stream`` (default stderr) when :func:`shown`, else a silent :class:`Progress`.

    ``total`` may be a function, called only when the bar is shown (counting can cost);
    ``unit="B"`` counts bytes in kiB/MiB (1024-based, as the size charts are).
    """
    stream = sys.stderr if stream is None else stream
    if not shown(quiet=quiet, stream=stream):
        return Progress(None)
    from tqdm import tqdm

    if callable(total):
        total = total()

    return Progress(
        tqdm(total=total, desc=desc, file=stream, mininterval=0.25, leave=True, **_units(unit), **_shape(stream))
    )


def _units(unit: str) -> dict[str, Any]:
    """tqdm's unit options: "12 polls", "3.1 steps/s"; bytes as "528kiB", "150MiB/s"."""
    if unit == "B":
        return {"unit": "iB", "unit_scale": True, "unit_divisor": 1024}
    return {"unit": f" {unit}"}


def _shape(stream: IO[str]) -> dict[str, Any]:
    """tqdm's size options: follow the terminal's size, or assume 80 x 24 when it reports none
    (a fresh pseudo-terminal says 0 x 0, and tqdm would then draw nothing)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 0:
        return {"dynamic_ncols": True}
    return {"ncols": 80, "nrows": 24}


class ScanProgress(Progress):
    """The bytes of a scan's sample paths: each message advances the bar by its encoded size
    (:meth:`track`); :meth:`path_done` then sets the exact count of the paths finished."""

    def __init__(self, bar: Any, sizes: Iterable[int] = ()) -> None:
        super().__init__(bar)
        self._sizes = list(sizes)
        self._done = 0

    def track(
        self, items: Iterable[Any], *, size: Callable[[Any], int] | None = None, scale: float = 1.0
    ) -> Iterator[Any]:
        """Yield message summaries, advancing by each one's ``encoded_size`` (see :meth:`Progress.track`)."""
        return super().track(items, size=size or _encoded_size, scale=scale)

    def path_done(self) -> None:
        """The next path is finished: move to the bytes of every path so far."""
        if self._sizes:
            self._done += self._sizes.pop(0)
            self.set(self._done)


def _encoded_size(summary: Any) -> int:
    return summary.encoded_size


def scan_progress(
    paths: Iterable[str | os.PathLike[str]], *, quiet: bool = False, stream: IO[str] | None = None
) -> ScanProgress:
    """A :class:`ScanProgress` over ``paths`` (sized by :func:`sample_bytes`, only when shown)."""
    paths = list(paths)
    sizes: list[int] = []

    def total() -> int:  # walked only when the bar is shown
        sizes.extend(sample_bytes([p]) for p in paths)
        return sum(sizes)

    return ScanProgress(progress(total=total, unit="B", desc="scan", quiet=quiet, stream=stream)._bar, sizes)


def notebook_progress(*, total: float | None = None, unit: str = "it", desc: str = "") -> Progress:
    """A :class:`Progress` over ``tqdm.auto``: a widget bar in Jupyter, text elsewhere."""
    from tqdm.auto import tqdm

    return Progress(tqdm(total=total, desc=desc, **_units(unit)))


def sample_bytes(paths: Iterable[str | os.PathLike[str]]) -> int:
    """Bytes a scan of ``paths`` reads: file sizes (a zip's uncompressed members), folders walked.

    Unreadable entries count 0 (the scan itself reports them as rows).
    """
    import stat
    import zipfile

    total = 0
    for path in paths:
        path = os.fspath(path)
        try:
            mode = os.stat(path).st_mode
            if stat.S_ISDIR(mode):
                for root, _dirs, files in os.walk(path):
                    for name in files:
                        try:
                            total += os.stat(os.path.join(root, name)).st_size
                        except OSError:
                            pass
            elif stat.S_ISREG(mode):  # never open a FIFO or a device: it could block or never end
                if zipfile.is_zipfile(path):
                    with zipfile.ZipFile(path) as zf:
                        total += sum(i.file_size for i in zf.infolist())
                else:
                    total += os.stat(path).st_size
        except (OSError, zipfile.BadZipFile):
            continue
    return total
