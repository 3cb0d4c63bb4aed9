"""Every entry point against the hostile modes that matter to it: it ends, says what happened, leaks and loses nothing.

Each case runs one ``mailsupport`` command — ``run --once``, ``check-settings``, ``scan --pop3``
or ``ingest`` — in a child process under a 1 GiB address-space limit
(:func:`mailsupport.testing.entrypoints.run_cli`), against a
:class:`~mailsupport.testing.hostile.HostileServer` on loopback that misbehaves at one point in
one way (or, for ``ingest``, against hostile input files). The tenant's timeout is 1 s, so
every deadline the kit derives from it is a few seconds. Each case asserts that the command:

* ends within a bound derived from :class:`~mailsupport.limits.Limits` (the session deadlines
  of the sessions it opens, plus process start-up slack: a bound, not a speed measurement);
* exits with a documented code (README: 0 clean, 1 findings, 2 usage/configuration, 3 an
  operation failed), never a crash, and prints no ``Traceback`` and no ``MemoryError``;
* prints a clear message: the step it was at and what happened (deadline, limit, the
  server's words);
* shows the password in no form (plain, percent-encoded, base64 at any alignment) in its
  output, its store or its draft report;
* deleted nothing from the maildrop that it had not stored with the same bytes
  (``scan --pop3`` and ``check-settings`` delete nothing at all).

The table is chosen per entry point (the points its sessions reach, the ways that matter
there), not the full product of points and ways: a drip costs a deadline (seconds) even
when handled well, so it is tried where a slow answer means something different (the
greeting, a listing, a message, the last steps), not at every point. Every case has its own servers, ports and
folders, so cases may run in parallel.
"""

from __future__ import annotations

import json
import os
import re
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from mailsupport.limits import Limits
from mailsupport.redact import Redactor
from mailsupport.testing.entrypoints import GIB, CliRun, run_cli
from mailsupport.testing.hostile import HostileMessage, HostileServer
from mailsupport.testing.leaks import revealed

#: The tenant's per-read timeout (seconds): every step and session deadline derives from it.
TIMEOUT = 1.0
LIMITS = Limits()
#: Process start, imports and a loaded machine: added to every bound.
START_SLACK = 15.0
#: Steps of each session an entry point opens, as docs/limits.md counts their deadlines (a step is
#: ``Limits.step_seconds(timeout)``, 3 x timeout): a POP3 session of the log-in (8 steps) and the rest
#: for 2 messages (3 x 2 + 4); the send pass's steps; the doctor's longest ladder (13 step budgets).
SESSION_STEPS = {
    "run": (18, 9),  # POP3 log-in + session for 2 messages; SMTP greeting EHLO AUTH MAIL RCPT DATA dot RSET QUIT
    "check-settings": (13,),  # one direction's ladder: every rung's budget summed (POP3 with STLS is the longest)
    "scan": (18,),  # POP3 log-in + session for 2 messages (RSET instead of DELE)
}
#: ingest reads local files: no server deadline applies, only byte limits; this is generous.
INGEST_BOUND = START_SLACK + 30.0

USER = "mailbox@catchall.example"
PW = "canary-4b1d-Hostile/Pw+1"  # the canary prefix: the suite's guard also catches it in any test output
ACCOUNT = f"hostile:{USER}@127.0.0.1"

UNROUTABLE = (
    b"From: someone@outside.example\r\nTo: nobody@elsewhere.example\r\nSubject: for nobody here\r\n"
    b"Message-ID: <u1@outside.example>\r\nDate: Mon, 3 Nov 2025 09:00:00 +0000\r\n\r\nwho gets this?\r\n"
)
MATTER = (
    b"X-Original-To: 1001@catchall.example\r\nFrom: client@outside.example\r\nTo: 1001@catchall.example\r\n"
    b"Subject: about the purchase\r\nMessage-ID: <u2@outside.example>\r\n"
    b"Date: Mon, 3 Nov 2025 09:01:00 +0000\r\n\r\nsee attached\r\n"
)


def bound(entry: str) -> float:
    """Seconds the entry point may take at most: its sessions' deadlines plus start-up slack."""
    if entry == "ingest":
        return INGEST_BOUND
    return START_SLACK + sum(LIMITS.session_seconds(TIMEOUT, steps=n) for n in SESSION_STEPS[entry])


# ---------------------------------------------------------------------------------------- expectations
LIMIT = (
    r"limit|too many|too long|too big|too large|exceed|without (?:a |its )?(?:line )?end|endless|longer than|"
    r"more than|ran past"
)
DEADLINE = r"deadline|did not finish|too slow|timed? ?out"
CLOSED = r"closed|lost|reset|EOF|ended|disconnect|no (?:answer|reply|greeting)"
MALFORMED = (
    r"malformed|unexpected|invalid|not understood|cannot parse|unparsable|unreadable|cannot read|"
    r"garbled|bad (?:answer|reply|line)|not a valid|got '"
)  # "a LIST line is 'number size', got '...'"
HUGE = r"1000000000000000|10\s*\*\*\s*15|1e\+?15|too (?:big|large)|limit|exceed"

#: How a step shows in the output, per protocol and point.
STEP = {
    "greeting": r"greeting|banner|connect",
    "capa": r"CAPA|capabilit",
    "user": r"USER|login|auth",
    "pass": r"PASS|login|auth",
    "stat": r"STAT|final",
    "list": r"LIST",
    "uidl": r"UIDL",
    "top": r"TOP",
    "retr": r"RETR",
    "dele": r"DELE",
    "quit": r"QUIT",
    "ehlo": r"EHLO|capabilit",
    "auth": r"AUTH|login",
    "mail": r"MAIL",
    "rcpt": r"RCPT",
    "data": r"DATA",
    "dot": r"DATA|end of (?:the )?(?:data|message)|\bdot\b",
    "rset": r"RSET|final",
}
#: The server's own words for its malformed answers (hostile.py), which the message may quote.
MALFORMED_WORDS = {
    ("pop3", "greeting"): r"\*OK hello",
    ("pop3", "stat"): r"\+OK many",
    ("pop3", "list"): r"1 lots",
    ("pop3", "uidl"): r"seven x",
    ("pop3", "dele"): r"\+ OK\?",
    ("smtp",): r"2x0 what",
}


def what_happened(protocol: str, at: str, how: str) -> str:
    """The words (regex) that say what the hostile server did at that point."""
    if how == "drip":
        return DEADLINE
    if how in ("endless-lines", "endless-listing") and protocol == "pop3" and at in ("list", "uidl"):
        # endless-lines' filler is no listing line, and a UIDL listing past LIST's numbers is inconsistent:
        # saying the answer is malformed is as right as hitting a limit
        return f"{LIMIT}|{MALFORMED}"
    if how in ("endless-lines", "endless-line", "endless-listing"):
        return LIMIT
    if how == "close":
        return CLOSED
    if how == "huge-size":
        return HUGE
    if how == "echo-secret":
        return r"no such password" if protocol == "pop3" else r"bad credentials"
    if how == "malformed":
        if protocol == "pop3" and at in ("retr", "top"):  # "+OK" then silence: only the deadline ends it
            return f"{DEADLINE}|{CLOSED}"
        words = MALFORMED_WORDS.get((protocol, at)) or MALFORMED_WORDS.get((protocol,), "")
        return f"{MALFORMED}|{words}" if words else MALFORMED
    raise ValueError(how)


@dataclass(frozen=True, slots=True)
class Case:
    """One entry point against one hostile mode."""

    entry: str  # run, check-settings, scan
    protocol: str  # which server misbehaves: pop3 or smtp
    at: str
    how: str
    codes: tuple[int, ...]
    flags: tuple[str, ...] = ()
    mechanisms: str = "PLAIN LOGIN"  # what the SMTP server offers in EHLO
    success_words: str = ""  # a regex: when it matches, the command did its job despite the server

    @property
    def id(self) -> str:
        extra = "-login" if self.mechanisms == "LOGIN" else "-headers" if "--headers-only" in self.flags else ""
        return f"{self.entry}-{self.protocol}-{self.at}-{self.how}{extra}"


def _cases() -> list[Case]:
    c: list[Case] = []
    # run --once: one POP3 poll (greeting .. QUIT) then the send pass; exit 3 when either met an error
    for at, hows in (
        ("greeting", ("endless-line", "drip", "malformed", "close")),
        ("capa", ("endless-lines", "drip")),
        ("pass", ("echo-secret", "close")),
        ("list", ("endless-lines", "endless-listing", "endless-line", "malformed", "drip", "huge-size")),
        ("uidl", ("endless-lines", "endless-listing", "malformed")),
        ("retr", ("endless-lines", "endless-line", "drip", "malformed", "close")),
        ("dele", ("close", "malformed")),
        ("quit", ("close", "drip")),
    ):
        c += [Case("run", "pop3", at, how, (3,)) for how in hows]
    # run --once, send pass: the unroutable message is fetched, stored, forwarded as failed, sent here
    for at, hows in (
        ("greeting", ("endless-line", "drip", "close")),
        ("ehlo", ("endless-lines", "drip", "malformed")),
        ("auth", ("echo-secret", "drip")),
        ("mail", ("malformed",)),
        ("data", ("endless-line", "malformed")),
        ("dot", ("drip", "close")),
    ):
        c += [Case("run", "smtp", at, how, (3,)) for how in hows]
    c.append(Case("run", "smtp", "auth", "echo-secret", (3,), mechanisms="LOGIN"))
    c.append(Case("run", "smtp", "quit", "drip", (0, 3), success_words=r'"sent": 1'))
    # check-settings: the doctor's ladder for one direction; exit 1 when it fails
    pop = ("--only", "pop3")
    for at, hows in (
        ("greeting", ("endless-line", "drip", "malformed", "close")),
        ("capa", ("endless-lines",)),
        ("pass", ("echo-secret",)),
        ("stat", ("malformed", "endless-line", "drip")),
        ("uidl", ("endless-lines", "endless-listing", "malformed")),
    ):
        c += [Case("check-settings", "pop3", at, how, (1,), pop) for how in hows]
    smtp = ("--only", "smtp")
    for at, hows in (
        ("greeting", ("endless-line", "drip", "malformed", "close")),
        ("ehlo", ("endless-lines", "endless-line", "drip", "malformed")),
        ("auth", ("echo-secret", "drip", "endless-lines")),
        ("mail", ("malformed",)),
        ("rcpt", ("drip", "endless-lines")),
    ):
        c += [Case("check-settings", "smtp", at, how, (1,), smtp) for how in hows]
    c.append(Case("check-settings", "smtp", "auth", "echo-secret", (1,), smtp, mechanisms="LOGIN"))
    c.append(Case("check-settings", "smtp", "quit", "close", (0, 1), smtp, success_words=r"."))
    # scan --pop3: reads without deleting; a session failure is exit 3, a message it could not read a row
    for at, hows in (
        ("greeting", ("endless-line", "drip", "close")),
        ("pass", ("echo-secret",)),
        ("list", ("endless-lines", "endless-listing", "endless-line", "malformed", "huge-size")),
        ("retr", ("endless-lines", "endless-line", "drip", "malformed", "close")),
    ):
        c += [Case("scan", "pop3", at, how, (0, 3)) for how in hows]
    c.append(Case("scan", "pop3", "top", "endless-lines", (0, 3), ("--headers-only",)))
    return c


CASES = _cases()


# ---------------------------------------------------------------------------------------- set-up
def write_tenant(path: Path, *, pop_port: int, smtp_port: int) -> Path:
    """A catch-all tenant whose POP3 and SMTP servers are the hostile ones (plain TCP, 1 s timeout)."""

    def server(port: int) -> dict:
        return {
            "host": "127.0.0.1",
            "port": port,
            "tls": "none",
            "allow_plaintext_auth": True,
            "timeout": TIMEOUT,
            "username": USER,
            "password": PW,
        }

    data = {
        "org_key": "hostile",
        "domains": ["catchall.example"],
        "provider": "other",
        "failed_email_address": "it@firm-office.example",
        "inbound": {
            "address": USER,
            "kind": "catch-all",
            "catch_all_header": "X-Original-To",
            "confirm_download_then_delete": True,
            "server": server(pop_port),
        },
        "outbound": {"from_address": USER, "server": server(smtp_port)},
        "users": [{"address": "jane@catchall.example", "name": "Jane"}],
        "matters": [{"id": "1001", "name": "Purchase"}],
    }
    path.write_text(json.dumps(data))
    return path


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _scrubbed(text: str) -> str:
    """Output fit to show in a failure message: the password masked in every form."""
    return Redactor([PW], usernames=[USER])(text)


def _tail(run: CliRun, n: int = 3000) -> str:
    return _scrubbed(run.output[-n:])


def expect(ok: object, message: str) -> None:
    """Fail with ``message`` alone: the output in it is scrubbed, where pytest's own explanation of
    the expression would show the raw output (and the password, when the check is about a leak)."""
    if not ok:
        pytest.fail(message, pytrace=False)


def assert_ended_clearly(
    run: CliRun, *, limit: float, codes: tuple[int, ...], words: str, step: str, success_words: str = ""
) -> None:
    """Ended in time with a documented code, no crash, no secret, and a message saying what happened."""
    expect(not run.timed_out, f"still running after {limit:.0f} s (killed); output ends:\n{_tail(run)}")
    expect(
        "Traceback" not in run.output and "MemoryError" not in run.output,
        f"it crashed (exit {run.code}):\n{_tail(run, 6000)}",
    )
    expect(not revealed(PW, run.output), f"the password is in the output (shown masked here):\n{_tail(run, 6000)}")
    expect(run.code in codes, f"exit {run.code}, expected {codes}; output ends:\n{_tail(run)}")
    expect(run.output_bytes < 64 << 10, f"{run.output_bytes} bytes of output is not a clear message")
    if success_words and re.search(success_words, run.output):
        return
    expect(re.search(words, run.output, re.I), f"no words saying what happened ({words}):\n{_tail(run)}")
    expect(re.search(step, run.output, re.I), f"the step ({step}) is not named:\n{_tail(run)}")


def assert_no_secret_in_files(folder: Path, *, skip: str = "") -> None:
    """No file under ``folder`` (but those named ``*skip``) shows the password in any form."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if skip and path.name.endswith(skip):
            continue
        expect(not revealed(PW, path.read_bytes().decode("latin-1")), f"the password is in {path}")


def assert_nothing_deleted_unstored(delivered: list[HostileMessage], srv: HostileServer, store_dir: Path) -> None:
    """Every message gone from the maildrop is in the store with the same bytes (CRLF line ends)."""
    gone = [m for m in delivered if m not in srv.maildrop]
    if not gone:
        return
    from mailsupport.store import Store

    assert store_dir.is_dir(), f"{[m.uidl for m in gone]} deleted but nothing was stored"
    with Store(store_dir) as store:
        stored = {(m.uidl, _crlf(store.read(m))) for m in store.messages() if m.account == ACCOUNT}
    for m in gone:
        assert (m.uidl, _crlf(m.raw)) in stored, f"{m.uidl} was deleted from the server without being stored"


@contextmanager
def hostile_pair(case: Case, limit: float) -> Iterator[tuple[HostileServer, HostileServer]]:
    """The POP3 and SMTP servers of a case: the one named misbehaves, the other is honest."""

    def make(protocol: str) -> HostileServer:
        mine = protocol == case.protocol
        return HostileServer(
            protocol,
            at=case.at if mine else "greeting",
            how=case.how if mine else "honest",
            username=USER,
            password=PW,
            drip_interval=0.25,
            lifetime=limit + 10,
            max_bytes=512 << 20,
            auth_mechanisms=case.mechanisms if protocol == "smtp" else "PLAIN LOGIN",
        )

    with make("pop3") as pop, make("smtp") as smtp:
        yield pop, smtp


# ---------------------------------------------------------------------------------------- the matrix
@pytest.mark.timeout(bound("run") + 60)  # pytest-timeout's net above run_cli's own deadline
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_entry_point_against_hostile_server(case: Case, tmp_path: Path) -> None:
    """The entry point ends in time with a documented code and a clear message, leaks nothing, deletes nothing unstored."""
    limit = bound(case.entry)
    with hostile_pair(case, limit) as (pop, smtp):
        delivered = [pop.deliver(UNROUTABLE, uidl="u1"), pop.deliver(MATTER, uidl="u2")]
        tenant = write_tenant(tmp_path / "tenant.json", pop_port=pop.port, smtp_port=smtp.port)
        store_dir, drafts = tmp_path / "store", tmp_path / "drafts"
        args = {
            "run": ["run", "--once", "--tenant", str(tenant), "--store", str(store_dir)],
            "check-settings": [
                "check-settings",
                "--tenant",
                str(tenant),
                "--timeout",
                str(TIMEOUT),
                "--draft-dir",
                str(drafts),
            ],
            "scan": ["scan", "--format", "json", "--pop3", str(tenant)],
        }[case.entry] + list(case.flags)
        run = run_cli(args, timeout=limit, cwd=tmp_path, address_space=GIB)
        srv = pop if case.protocol == "pop3" else smtp
        sent = srv.bytes_sent
    assert_ended_clearly(
        run,
        limit=limit,
        codes=case.codes,
        words=what_happened(case.protocol, case.at, case.how),
        step=STEP[case.at],
        success_words=case.success_words,
    )
    assert sent < srv.max_bytes, "the client read the whole endless answer: it gave up only when the server did"
    if case.entry == "run":
        assert_nothing_deleted_unstored(delivered, pop, store_dir)
        assert_no_secret_in_files(store_dir)
        if case.protocol == "smtp":  # the forward was sent or is still queued: never dropped
            from mailsupport.store import Store

            with Store(store_dir) as store:
                assert smtp.received or store.queued(), "the failed forward was neither sent nor kept queued"
    else:
        assert pop.deleted == [] and pop.commands_named("DELE") == [], f"{case.entry} must never delete"
    if case.entry == "check-settings":
        assert_no_secret_in_files(drafts, skip=".secrets.json")


@pytest.mark.timeout(2 * bound("run") + 60)
def test_run_twice_with_a_reused_uidl_stores_the_new_message_before_deleting_it(tmp_path: Path) -> None:
    """A new message of the same size under a deleted message's UIDL is stored by the next run, not deleted unread."""
    case = Case("run", "pop3", "greeting", "honest", (0, 3))
    limit = bound("run")
    with hostile_pair(case, limit * 2) as (pop, smtp):
        first = pop.deliver(MATTER, uidl="same")
        tenant = write_tenant(tmp_path / "tenant.json", pop_port=pop.port, smtp_port=smtp.port)
        args = ["run", "--once", "--tenant", str(tenant), "--store", str(tmp_path / "store")]
        one = run_cli(args, timeout=limit, cwd=tmp_path)
        assert (one.code, pop.deleted) == (0, ["same"]), _tail(one)
        second = pop.deliver(MATTER.replace(b"<u2@", b"<u9@").replace(b"see attached", b"new letter!!"), uidl="same")
        assert len(second.raw) == len(first.raw)
        two = run_cli(args, timeout=limit, cwd=tmp_path)
    assert_nothing_deleted_unstored([first, second], pop, tmp_path / "store")
    assert_ended_clearly(two, limit=limit, codes=(0, 3), words=r'"fetched": 1', step=r".")


# ---------------------------------------------------------------------------------------- ingest
@contextmanager
def endless_writer(fd: int) -> Iterator[None]:
    """Write message-like lines to ``fd`` (made non-blocking) until the block ends or the reader goes."""
    stop = threading.Event()
    os.set_blocking(fd, False)
    chunk = b"Subject: endless\r\n" + b"X-Filler: " + b"y" * 1000 + b"\r\n" * 64

    def pump() -> None:
        while not stop.is_set():
            _r, writable, _x = select.select([], [fd], [], 0.1)
            if writable:
                try:
                    os.write(fd, chunk)
                except BlockingIOError:
                    continue
                except OSError:  # the reader closed its end
                    return

    t = threading.Thread(target=pump, name="endless-writer", daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(timeout=5)


INGEST_CASES = ["fifo-endless", "stdin-endless", "dev-zero", "huge-sparse-file"]


@pytest.mark.parametrize("kind", INGEST_CASES)
def test_ingest_against_hostile_input(kind: str, tmp_path: Path) -> None:
    """ingest of an endless FIFO, an endless stdin, /dev/zero or a 2 GiB file: a clear refusal, the next file still stored."""
    tenant = write_tenant(tmp_path / "tenant.json", pop_port=1, smtp_port=1)
    good = tmp_path / "good.eml"
    good.write_bytes(MATTER)
    store_dir = tmp_path / "store"
    fds: list[int] = []
    stdin = None
    if kind == "fifo-endless":
        hostile = tmp_path / "endless.eml"
        os.mkfifo(hostile)
        fds.append(os.open(hostile, os.O_RDWR | os.O_NONBLOCK))  # holds a writer: the reader never sees EOF
        source = fds[0]
    elif kind == "stdin-endless":
        hostile = Path("/dev/stdin")
        stdin, source = os.pipe()
        fds += [stdin, source]
    elif kind == "dev-zero":
        hostile, source = Path("/dev/zero"), None
    else:
        hostile, source = tmp_path / "huge.eml", None
        with hostile.open("wb") as f:
            f.write(MATTER)
            f.truncate(2 * GIB)  # sparse: no disk used
    args = ["ingest", "--tenant", str(tenant), "--store", str(store_dir), str(hostile), str(good)]
    try:
        if source is None:
            run = run_cli(args, timeout=INGEST_BOUND, cwd=tmp_path, address_space=GIB)
        else:
            with endless_writer(source):
                run = run_cli(args, timeout=INGEST_BOUND, cwd=tmp_path, address_space=GIB, stdin=stdin)
    finally:
        for fd in fds:
            os.close(fd)
    assert_ended_clearly(
        run,
        limit=INGEST_BOUND,
        codes=(2, 3),
        words=r"not a regular file|regular|fifo|pipe|device|too (?:big|large)|limit|exceed|bytes",
        step=re.escape(hostile.name),
    )
    from mailsupport.store import Store

    with Store(store_dir) as store:
        sources = [m.source for m in store.messages()]
        bodies = [_crlf(store.read(m)) for m in store.messages()]
    assert _crlf(MATTER) in bodies, "the good file after the hostile one was not stored"
    assert len(sources) == 1, f"the hostile input was stored too ({len(sources)} messages)"
