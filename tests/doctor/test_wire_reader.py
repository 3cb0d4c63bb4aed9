"""The doctor's line reader (``Wire``) over a socket pair: any chunking, bounded lines and answers,
and a rung deadline that a drip cannot outlast (property tests)."""

from __future__ import annotations

import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailsupport.doctor._wire import Wire, WireError
from mailsupport.limits import Deadline, Limits

LIMITS = Limits(max_line=64, max_reply_lines=5, max_listing_lines=8, max_listing_bytes=200)


def _wire(chunks: list[bytes], *, deadline: Deadline | None = None, timeout: float = 2.0) -> tuple[Wire, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.sendall(b"".join(chunks))  # small: fits the socket buffer
    ours.settimeout(timeout)
    wire = Wire(sock=ours, host="peer", timeout=timeout, deadline=deadline, limits=LIMITS)
    wire.command = "EHLO"
    return wire, theirs


text_st = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(text_st, min_size=1, max_size=5), cut=st.integers(min_value=1, max_value=7))
def test_an_smtp_reply_reads_back_whatever_the_chunking(texts, cut):
    """250-... 250 ...: read_smtp_reply returns the code and the lines, however the bytes were cut."""
    data = "".join(f"250{'-' if i < len(texts) - 1 else ' '}{t}\r\n" for i, t in enumerate(texts)).encode()
    wire, peer = _wire([data[i : i + cut] for i in range(0, len(data), cut)])
    try:
        code, lines = wire.read_smtp_reply()
    finally:
        wire.close(), peer.close()
    assert code == 250 and [ln[4:] for ln in lines] == texts


@settings(max_examples=60, deadline=None)
@given(junk=st.binary(min_size=1, max_size=300))
def test_any_bytes_end_in_a_reply_or_a_classified_wire_error(junk):
    """Whatever arrives (then the peer hangs up), the reader gives a reply or a WireError with a known code."""
    wire, peer = _wire([junk])
    peer.shutdown(socket.SHUT_WR)
    try:
        wire.read_smtp_reply()
    except WireError as exc:
        assert exc.code in {"bad-reply", "too-long", "closed"}
    finally:
        wire.close(), peer.close()


@pytest.mark.parametrize(
    "data,expect",
    [
        (b"250-x\r\n" * 10, "too-long"),
        (b"250 " + b"y" * 100 + b"\r\n", "too-long"),
        (b"2x0 what\r\n", "bad-reply"),
    ],
    ids=["too-many-lines", "line-too-long", "not-smtp"],
)
def test_limits_and_nonsense_are_wire_errors_quoting_the_server(data, expect):
    """Past a limit or malformed: the rung's error code, naming what it waited for, with the server's words."""
    wire, peer = _wire([data])
    try:
        with pytest.raises(WireError) as err:
            wire.read_smtp_reply()
    finally:
        wire.close(), peer.close()
    assert err.value.code == expect and "EHLO" in err.value.words and err.value.reply


def test_a_pop3_listing_is_counted_within_its_line_and_byte_limits():
    """UIDL is counted, not kept: 8 lines pass, the 9th is too-long; a malformed line is bad-reply."""
    wire, peer = _wire([b"".join(b"%d u%d\r\n" % (i, i) for i in range(1, 9)) + b".\r\n"])
    assert wire.count_multiline(check=lambda ln: b" " in ln) == 8
    wire.close(), peer.close()
    wire, peer = _wire([b"".join(b"%d u%d\r\n" % (i, i) for i in range(1, 10)) + b".\r\n"])
    with pytest.raises(WireError, match="8 lines"):
        wire.count_multiline()
    wire.close(), peer.close()
    wire, peer = _wire([b"1 u1\r\nseven\r\n.\r\n"])
    with pytest.raises(WireError) as err:
        wire.count_multiline(check=lambda ln: b" " in ln)
    assert err.value.code == "bad-reply" and err.value.reply == "seven"
    wire.close(), peer.close()


def test_a_drip_ends_at_the_rung_deadline_not_the_read_timeout():
    """A byte every 20 ms never trips the 1 s read timeout; the 0.3 s rung deadline ends the read."""
    ours, theirs = socket.socketpair()
    stop = threading.Event()

    def drip():
        try:
            while not stop.wait(0.02):
                theirs.sendall(b"2")
        except OSError:
            pass

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    wire = Wire(sock=ours, host="peer", timeout=1.0, deadline=Deadline(0.3, "greeting"), limits=Limits())
    try:
        with pytest.raises(WireError) as err:
            wire.read_line()
    finally:
        stop.set()
        t.join(timeout=2)
        wire.close(), theirs.close()
    assert err.value.code == "deadline" and "the greeting step" in err.value.words and err.value.reply.startswith("22")
