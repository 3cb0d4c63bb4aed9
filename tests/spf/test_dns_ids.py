"""DNS questions carry ids from the OS's CSPRNG (not Python's seedable random) and OS-chosen ports."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading

import pytest

from mailsupport.dnslookup import AnswerStatus, ResolverLookup

pytestmark = pytest.mark.timeout(30)
ASKS = 8


class RecordingDns:
    """A UDP server on 127.0.0.1 that answers every question NXDOMAIN and records (id, source port)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.seen: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if len(data) < 12:
                continue
            (qid,) = struct.unpack_from("!H", data)
            self.seen.append((qid, peer[1]))
            # QR, RD, RA, NXDOMAIN; the question echoed back, nothing else
            self.sock.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + data[12:], peer)

    def __enter__(self) -> RecordingDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def _ids_after_seeding(ask) -> list[int]:
    """The ids of ASKS questions asked right after ``random.seed(1234)``, in a fresh lookup."""
    state = random.getstate()
    with RecordingDns() as server:
        lookup = ResolverLookup.for_nameserver(server.address, timeout=2)
        random.seed(1234)
        try:
            statuses = ask(lookup, [f"n{i}.ids.test" for i in range(ASKS)])
        finally:
            random.setstate(state)
        assert statuses == [AnswerStatus.NXDOMAIN] * ASKS
        assert len(server.seen) == ASKS
        assert all(port != server.address[1] and port > 1023 for _, port in server.seen)
        return [qid for qid, _ in server.seen]


def _ask_sync(lookup, names):
    return [lookup.query(n, "TXT").status for n in names]


def _ask_async(lookup, names):
    async def run():
        try:
            return [(await lookup.aquery(n, "TXT")).status for n in names]
        finally:
            await lookup.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("ask", [_ask_sync, _ask_async], ids=["sync", "async"])
def test_seeding_random_does_not_repeat_query_ids(ask) -> None:
    """Two runs after the same random.seed() send different ids (with random.getrandbits they repeat)."""
    first = _ids_after_seeding(ask)
    second = _ids_after_seeding(ask)
    assert first != second
    assert len(set(first)) > 1


class BurstDns:
    """A UDP server on 127.0.0.1 that holds the questions until ``burst`` have come, then answers them
    all at once, last first (each NXDOMAIN, the question echoed), so the answers wait together."""

    def __init__(self, burst: int) -> None:
        self.burst = burst
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.held: list[tuple[bytes, tuple[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.held.append((data, peer))
            if len(self.held) == self.burst:
                for question, to in reversed(self.held):
                    qid = struct.unpack_from("!H", question)[0]
                    self.sock.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question[12:], to)

    def __enter__(self) -> BurstDns:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_answers_arriving_together_each_reach_their_question() -> None:
    """Sixteen concurrent questions answered in one burst, last first: every answer goes to its own
    question (the shared socket is read until empty), each question went out once."""
    names = [f"b{i}.burst.test" for i in range(16)]

    async def run(lookup):
        try:
            return await asyncio.gather(*(lookup.aquery(n, "TXT") for n in names))
        finally:
            await lookup.aclose()

    with BurstDns(len(names)) as server:
        answers = asyncio.run(run(ResolverLookup.for_nameserver(server.address, timeout=5)))
        assert len(server.held) == len(names)
    assert [a.name for a in answers] == names
    assert all(a.status is AnswerStatus.NXDOMAIN for a in answers)


def test_a_closed_port_fails_the_question_and_the_loop_goes_on() -> None:
    """A question to a port nobody listens on (the kernel answers ICMP port unreachable) ends in a
    temporary failure within its timeout; the same lookup then gets answers from a live server."""
    from mailsupport.errors import DnsTempError

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dead = probe.getsockname()
    probe.close()

    async def run(lookup, live):
        try:
            with pytest.raises(DnsTempError, match="timed out"):
                await lookup.aquery("x.dead.test", "TXT")
            return await live.aquery("y.live.test", "TXT")
        finally:
            await lookup.aclose()
            await live.aclose()

    with RecordingDns() as server:
        answer = asyncio.run(
            run(
                ResolverLookup.for_nameserver(dead, timeout=0.5),
                ResolverLookup.for_nameserver(server.address, timeout=2),
            )
        )
    assert answer.status is AnswerStatus.NXDOMAIN


def test_unanswered_questions_each_time_out_however_they_overlap() -> None:
    """Questions a server never answers all end in a temporary failure: the first, one asked while
    it waited, and one asked after the first had failed (the socket's one timer follows each deadline)."""
    from mailsupport.errors import DnsTempError

    async def run(lookup, server):
        async def late(after):
            deadline = asyncio.get_running_loop().time() + 5
            while len(server.held) < after:  # asked only once the server holds the earlier ones
                assert asyncio.get_running_loop().time() < deadline, "the server never got the first question"
                await asyncio.sleep(0.01)
            return await lookup.aquery(f"q{after}.silent.test", "TXT")

        try:
            first = asyncio.ensure_future(lookup.aquery("q0.silent.test", "TXT"))
            outcomes = await asyncio.gather(first, late(1), return_exceptions=True)
            outcomes.append(await asyncio.gather(late(2), return_exceptions=True))
            return outcomes
        finally:
            await lookup.aclose()

    with BurstDns(burst=1000) as server:  # holds every question, answers none
        outcomes = asyncio.run(run(ResolverLookup.for_nameserver(server.address, timeout=0.3), server))
    first, second, (third,) = outcomes
    assert all(isinstance(o, DnsTempError) and "timed out" in str(o) for o in (first, second, third))
