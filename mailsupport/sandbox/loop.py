"""One asyncio event loop in a daemon thread, for servers the synchronous world talks to.

:class:`BackgroundLoop` owns the thread and the loop; callers hand it coroutines with
:meth:`BackgroundLoop.run` (thread-safe, via :func:`asyncio.run_coroutine_threadsafe`) and get
the result or the coroutine's exception back. The sandbox servers, and any helper that needs
async servers from synchronous tests, use it.

Imports only the standard library.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop"]

T = TypeVar("T")


class BackgroundLoop:
    """An asyncio loop running forever in a daemon thread until :meth:`stop`.

    Use as a context manager::

        with BackgroundLoop() as loop:
            server = loop.run(asyncio.start_server(handler, "127.0.0.1", 0))

    ``run`` raises :class:`RuntimeError` when the loop is not running and
    :class:`TimeoutError` when the coroutine does not finish in time (it is then cancelled).
    ``stop`` cancels the tasks still pending, shuts down async generators and closes the loop;
    it is idempotent.
    """

    def __init__(self, *, name: str = "mailsupport-loop") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"BackgroundLoop(name={self._name!r}, {state})"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running event loop (for ``call_soon_threadsafe`` and the like)."""
        if self._loop is None or not self.running:
            raise RuntimeError("the background loop is not running: call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return (
            self._thread is not None and self._thread.is_alive() and self._loop is not None and self._loop.is_running()
        )

    def start(self) -> BackgroundLoop:
        """Start the thread and wait until its loop is running. Returns ``self``."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this BackgroundLoop was already started")
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
            self._thread.start()
        self._ready.wait()
        return self

    def _main(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop and return a :class:`concurrent.futures.Future`."""
        if not self.running:
            coro.close()
            raise RuntimeError("the background loop is not running: call start() first")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    def run(self, coro: Coroutine[Any, Any, T] | Awaitable[T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the loop from another thread and return its result.

        Raises what the coroutine raised, or :class:`TimeoutError` after ``timeout`` seconds
        (the coroutine is cancelled then). Must not be called from the loop's own thread.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "BackgroundLoop.run() called from the loop's own thread would deadlock; await the coroutine instead"
            )
        if not asyncio.iscoroutine(coro):
            awaitable = coro

            async def _wrap() -> T:
                return await awaitable

            coro = _wrap()
        future = self.submit(coro)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"coroutine did not finish within {timeout} s on {self._name}") from None

    def call_soon(self, callback: Any, *args: Any) -> None:
        """Schedule a plain callback on the loop, thread-safely."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel pending tasks, stop and close the loop, and join the thread. Idempotent."""
        with self._lock:
            thread, loop = self._thread, self._loop
            if thread is None or loop is None:
                return
            if thread.is_alive() and not loop.is_closed():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"the background loop {self._name!r} did not stop within {timeout} s")

    def __enter__(self) -> BackgroundLoop:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
