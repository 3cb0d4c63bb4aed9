"""BackgroundLoop: one asyncio loop in a daemon thread, driven from synchronous code."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from mailsupport.sandbox.loop import BackgroundLoop


def test_run_returns_the_coroutine_result_from_another_thread():
    """A coroutine runs on the loop thread and its result comes back to the caller."""

    async def where():
        return threading.current_thread().name

    with BackgroundLoop(name="t-loop") as loop:
        assert loop.run(where()) == "t-loop"


def test_run_reraises_the_coroutine_exception():
    """An exception inside the coroutine reaches the caller unchanged."""

    async def boom():
        raise ValueError("inside")

    with BackgroundLoop() as loop, pytest.raises(ValueError, match="inside"):
        loop.run(boom())


def test_run_times_out_and_cancels():
    """A coroutine that never finishes raises TimeoutError and is cancelled."""
    cancelled = threading.Event()

    async def forever():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with BackgroundLoop() as loop:
        with pytest.raises(TimeoutError):
            loop.run(forever(), timeout=0.2)
        assert cancelled.wait(5)


def test_server_started_on_the_loop_accepts_connections():
    """A server bound to port 0 on the loop answers a plain blocking socket client."""

    async def handle(reader, writer):
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    with BackgroundLoop() as loop:
        server = loop.run(asyncio.start_server(handle, "127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            assert s.makefile("rb").readline() == b"hello\n"
        server.close()
        loop.run(server.wait_closed())


def test_stop_closes_the_loop_cancels_tasks_and_is_idempotent():
    """stop() cancels pending tasks, closes the loop, ends the thread, and may be called twice."""
    loop = BackgroundLoop().start()
    cancelled = threading.Event()
    started = threading.Event()

    async def pending():
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop.submit(pending())
    assert started.wait(5)
    raw = loop.loop
    loop.stop()
    loop.stop()
    assert cancelled.is_set()
    assert raw.is_closed()
    assert not loop.running
    with pytest.raises(RuntimeError, match="not running"):
        loop.run(asyncio.sleep(0))


def test_run_from_the_loop_thread_is_refused():
    """Calling run() from the loop's own thread raises instead of deadlocking."""
    with BackgroundLoop() as loop:

        async def nested():
            coro = asyncio.sleep(0)
            try:
                loop.run(coro)
            finally:
                coro.close()

        with pytest.raises(RuntimeError, match="deadlock"):
            loop.run(nested())
