"""The sandbox's POP3 server: an RFC 1939 state machine on asyncio streams.

States (RFC 1939 §3): AUTHORIZATION (USER/PASS, APOP §7, AUTH per RFC 5034 with PLAIN and
XOAUTH2, STLS per RFC 2595 §4, CAPA per RFC 2449 §5) → TRANSACTION (STAT, LIST, UIDL, TOP,
RETR, DELE, RSET, NOOP) → UPDATE on QUIT, where DELE'd messages are removed — and only
then (§6); a session that ends any other way changes nothing. A mailbox is locked for the
session (§8): a second login gets ``[IN-USE]`` (RFC 2449 §8.1.2). Multi-line answers are
dot-stuffed (§3). Extended response codes ``[AUTH]``, ``[IN-USE]``, ``[SYS/TEMP]``,
``[LOGIN-DELAY]`` (RFC 2449 §8, RFC 3206).

Profiles decide the texts, the auth policy (Office 365 refuses USER/PASS, Google wants an
app password) and Gmail's "popped" semantics (``docs/provider-facts.md`` §4).

Layer 6: imports the sandbox modules only.
"""

from __future__ import annotations

import asyncio
import logging

from .faults import Action, Stage
from .mailstore import Mailbox, StoredMessage, to_crlf
from .pop3_login import Authorization
from .world import World, stall

__all__ = ["start_pop3", "Pop3Session", "dot_stuff"]

log = logging.getLogger("mailsupport.sandbox.pop3")

IDLE_TIMEOUT = 600.0  # RFC 1939 §3: an autologout timer of at least 10 minutes


def dot_stuff(data: bytes) -> bytes:
    """The multi-line body for ``data``: CRLF line ends, leading dots doubled, no terminator."""
    crlf = to_crlf(data)
    if not crlf.endswith(b"\r\n"):
        crlf += b"\r\n"
    lines = crlf.split(b"\r\n")[:-1]
    return b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in lines)


def _top(data: bytes, count: int) -> bytes:
    crlf = to_crlf(data)
    head, sep, body = crlf.partition(b"\r\n\r\n")
    if not sep:
        return crlf
    lines = body.split(b"\r\n")
    return head + b"\r\n\r\n" + b"\r\n".join(lines[:count]) + (b"\r\n" if count and lines[:count] else b"")


class _Close(Exception):
    """Ends the session loop."""


class Pop3Session(Authorization):
    """One client connection."""

    def __init__(
        self, world: World, listener: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, tls: bool
    ) -> None:
        self.world = world
        self.listener = listener
        self.reader = reader
        self.writer = writer
        self.tls = tls
        self.user: str | None = None
        self.username: str | None = None
        self.box: Mailbox | None = None
        self.messages: list[StoredMessage] = []
        self.deleted: set[int] = set()
        self.retrieved: set[str] = set()
        self.stamp = ""

    def __repr__(self) -> str:
        return f"Pop3Session(listener={self.listener!r}, user={self.username!r})"

    async def send(self, line: str | bytes) -> None:
        """Write one response (CRLF added when missing)."""
        data = line.encode("utf-8") if isinstance(line, str) else line
        self.writer.write(data if data.endswith(b"\r\n") else data + b"\r\n")
        await self.writer.drain()

    async def fault(self, stage: Stage, *subjects: str) -> bool:
        """Apply the fault for ``stage``, if any; True when it answered instead of the command."""
        return await self._apply(self.world.fault("pop3", stage, *subjects))

    async def _apply(self, fault) -> bool:
        if fault is None or fault.action is Action.PARTIAL:
            return False
        if fault.action is Action.DROP:
            self.writer.transport.abort()
            raise _Close()
        if fault.action is Action.STALL:
            await self._stall(fault.seconds)
            return False
        await self.send(fault.reply_for("pop3"))
        return True

    # ------------------------------------------------------------------ main loop
    async def run(self) -> None:
        """Greet, then read and answer commands until QUIT, EOF, a drop or the idle timeout."""
        try:
            if await self._greet():
                while True:
                    try:
                        line = await asyncio.wait_for(self.reader.readline(), IDLE_TIMEOUT)
                    except TimeoutError:
                        await self.send("-ERR Disconnected for inactivity.")
                        break
                    if not line:
                        break
                    await self.dispatch(line.rstrip(b"\r\n").decode("utf-8", "replace"))
        except ValueError:  # a line over the StreamReader limit: no POP3 command is that long
            await self._best_effort("-ERR Line too long.")
        except (_Close, OSError, asyncio.IncompleteReadError):  # OSError: resets and TLS failures
            pass
        finally:
            if self.box is not None:  # no QUIT: no UPDATE state (RFC 1939 §6)
                self.world.store.release(self.box, self, now=self.world.monotonic())
            self.writer.close()

    async def _best_effort(self, line: str) -> None:
        try:
            await self.send(line)
        except OSError:
            pass

    async def _stall(self, seconds: float | None) -> None:
        """Stall ``seconds``; when forever, until the client hangs up (then end the session)."""
        if seconds is not None:
            await stall(seconds)
            return
        while await self.reader.read(4096):
            pass
        raise _Close()

    async def _greet(self) -> bool:
        for stage in (Stage.CONNECT, Stage.GREETING):
            fault = self.world.fault("pop3", stage, self.listener)
            if fault is None:
                continue
            if fault.action is Action.DROP:
                self.writer.transport.abort()
                return False
            if fault.action is Action.STALL:
                await self._stall(fault.seconds)
                break
            if fault.action is Action.WRONG_GREETING:
                await self._wrong_greeting(fault.reply or "220 mx.sandbox.test ESMTP Postfix")
                return False
            await self.send(fault.reply_for("pop3"))
            return False
        greeting = self.world.profile.pop_greeting
        if self.world.apop:  # RFC 1939 §7: the timestamp in the greeting
            self.stamp = f"<{self.world.next_session()}.sandbox@{self.world.profile.host}>"
            greeting = f"{greeting} {self.stamp}"
        await self.send(greeting)
        return True

    async def _wrong_greeting(self, greeting: str) -> None:
        """Behave like an SMTP server on the POP3 port (a wrong port in the settings)."""
        await self.send(greeting)
        while line := await self.reader.readline():
            if line.strip().upper() == b"QUIT":
                await self.send("221 2.0.0 Bye")
                return
            await self.send("502 5.5.2 Error: command not recognized")

    async def dispatch(self, line: str) -> None:
        """Route one command line to the handler allowed in the current state."""
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb in ("CAPA", "QUIT"):
            await getattr(self, f"cmd_{verb}")(arg)
            return
        if self.box is None:
            handler = {
                "USER": self.cmd_USER,
                "PASS": self.cmd_PASS,
                "APOP": self.cmd_APOP,
                "AUTH": self.cmd_AUTH,
                "STLS": self.cmd_STLS,
            }.get(verb)
        else:
            handler = {
                "STAT": self.cmd_STAT,
                "LIST": self.cmd_LIST,
                "UIDL": self.cmd_UIDL,
                "TOP": self.cmd_TOP,
                "RETR": self.cmd_RETR,
                "DELE": self.cmd_DELE,
                "RSET": self.cmd_RSET,
                "NOOP": self.cmd_NOOP,
            }.get(verb)
        if handler is None:
            await self.send("-ERR Unknown command." if verb.isalpha() else "-ERR Bad command.")
            return
        await handler(arg)

    # ------------------------------------------------------------------ any state
    async def cmd_CAPA(self, arg: str) -> None:
        """CAPA (RFC 2449 §5): the capability list; STLS only before login and TLS."""
        caps = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.plaintext_allowed():
            caps += ["USER", "SASL PLAIN XOAUTH2"]
        if self.box is None and not self.tls:
            caps.append("STLS")
        if self.username:
            delay = self.world.store.state(self.username).login_delay
            if delay:
                caps.append(f"LOGIN-DELAY {delay}")  # RFC 2449 §6.5, per user after login
        caps.append(f"IMPLEMENTATION mailsupport-sandbox-{self.world.profile.name}")
        await self.send("+OK Capability list follows\r\n" + "\r\n".join(caps) + "\r\n.")

    async def cmd_NOOP(self, arg: str) -> None:
        """NOOP (RFC 1939 §5)."""
        await self.send("+OK")

    async def cmd_QUIT(self, arg: str) -> None:
        """QUIT: in TRANSACTION, enter UPDATE and apply the DELEs (RFC 1939 §6)."""
        if await self.fault(Stage.QUIT, self.username or ""):
            raise _Close()
        if self.box is not None:  # RFC 1939 §6: the UPDATE state
            box, self.box = self.box, None
            self.world.store.update(
                box,
                deleted=[self.messages[i].uid for i in self.deleted],
                retrieved=self.retrieved,
                popped_semantics=self.world.profile.pop_popped,
            )
            self.world.store.release(box, self, now=self.world.monotonic())
            await self.send("+OK Logging out, messages deleted." if self.deleted else "+OK Logging out.")
        else:
            await self.send("+OK Logging out.")
        raise _Close()

    # ------------------------------------------------------------------ TRANSACTION
    def _number(self, arg: str) -> tuple[int | None, str | None]:
        try:
            n = int(arg.split()[0])
        except (ValueError, IndexError):
            return None, "-ERR Invalid message number."
        if not 1 <= n <= len(self.messages):
            return None, f"-ERR There's no message {n}."
        if n - 1 in self.deleted:
            return None, "-ERR Message is deleted."
        return n, None

    def _live(self) -> list[tuple[int, StoredMessage]]:
        return [(i + 1, m) for i, m in enumerate(self.messages) if i not in self.deleted]

    async def cmd_STAT(self, arg: str) -> None:
        """STAT (RFC 1939 §5): count and size of the messages not marked deleted."""
        if await self.fault(Stage.STAT, ""):
            return
        live = self._live()
        await self.send(f"+OK {len(live)} {sum(m.size for _, m in live)}")

    async def _listing(self, stage: Stage, arg: str, value) -> None:
        if await self.fault(stage, arg.strip()):
            return
        if arg.strip():
            n, err = self._number(arg)
            await self.send(err or f"+OK {n} {value(self.messages[n - 1])}")
            return
        lines = [f"{n} {value(m)}" for n, m in self._live()]
        await self.send("+OK\r\n" + "".join(f"{line}\r\n" for line in lines) + ".")

    async def cmd_LIST(self, arg: str) -> None:
        """LIST [n] (RFC 1939 §5): sizes."""
        await self._listing(Stage.LIST, arg, lambda m: m.size)

    async def cmd_UIDL(self, arg: str) -> None:
        """UIDL [n] (RFC 1939 §7): unique ids, stable across sessions."""
        await self._listing(Stage.UIDL, arg, lambda m: m.uid)

    async def _send_message(self, stage: Stage, n: int, body: bytes, first: str) -> None:
        msg = self.messages[n - 1]
        fault = self.world.fault("pop3", stage, str(n), msg.uid)
        if fault is not None and fault.action is Action.PARTIAL:
            stuffed = dot_stuff(body)
            self.writer.write(f"{first}\r\n".encode() + stuffed[: len(stuffed) // 2])
            await self.writer.drain()
            self.writer.transport.abort()
            raise _Close()
        if await self._apply(fault):
            return
        self.writer.write(f"{first}\r\n".encode() + dot_stuff(body) + b".\r\n")
        await self.writer.drain()
        if stage is Stage.RETR:
            self.retrieved.add(msg.uid)

    async def cmd_RETR(self, arg: str) -> None:
        """RETR n (RFC 1939 §5): the whole message, dot-stuffed."""
        n, err = self._number(arg)
        if err:
            await self.send(err)
            return
        msg = self.messages[n - 1]
        await self._send_message(Stage.RETR, n, msg.data, f"+OK {msg.size} octets")

    async def cmd_TOP(self, arg: str) -> None:
        """TOP n k (RFC 1939 §7): the header and k body lines."""
        parts = arg.split()
        if len(parts) != 2 or not parts[1].isdigit():
            await self.send("-ERR Syntax: TOP msg lines")
            return
        n, err = self._number(parts[0])
        if err:
            await self.send(err)
            return
        msg = self.messages[n - 1]
        await self._send_message(Stage.TOP, n, _top(msg.data, int(parts[1])), "+OK")

    async def cmd_DELE(self, arg: str) -> None:
        """DELE n (RFC 1939 §5): mark for deletion at QUIT."""
        n, err = self._number(arg)
        if err:
            await self.send(err)
            return
        if await self.fault(Stage.DELE, str(n), self.messages[n - 1].uid):
            return
        self.deleted.add(n - 1)
        await self.send("+OK Marked to be deleted.")

    async def cmd_RSET(self, arg: str) -> None:
        """RSET (RFC 1939 §5): unmark every deletion of this session."""
        self.deleted.clear()
        await self.send(f"+OK {len(self.messages)} messages.")


async def start_pop3(world: World, listener: str, host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    """Start a POP3 listener: ``pop3`` (plain, STLS offered) or ``pop3_tls`` (implicit TLS)."""
    if listener not in ("pop3", "pop3_tls"):
        raise ValueError(f"unknown POP3 listener {listener!r}: expected 'pop3' or 'pop3_tls'")
    implicit = listener == "pop3_tls"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await Pop3Session(world, listener, reader, writer, tls=implicit).run()
        except asyncio.CancelledError:
            # the sandbox is stopping; ending quietly keeps asyncio's stream callback from
            # logging the cancelled task as an error
            writer.transport.abort()

    return await asyncio.start_server(serve, host, port, ssl=world.tls.server_context if implicit else None)
