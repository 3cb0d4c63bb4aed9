"""A deterministic fault-injecting TCP proxy in front of a real POP3 or SMTP server.

Owns :class:`Fault` and :class:`FaultProxy`. Tests put the proxy between the client and a real
server (Dovecot, Postfix) on loopback; the conversation is real except where a fault rule
matches a client command line exactly (a regular expression, counted, never random):

* ``reply``: answer the command with ``reply`` instead of forwarding it (``-ERR`` on DELE,
  ``451`` on RCPT, a fabricated UIDL listing with repeated ids);
* ``drop-response``: forward the command, relay ``after_bytes`` bytes of the server's answer,
  then close both connections (a connection dropped mid-RETR);
* ``drop-request``: after the command, relay ``after_bytes`` more bytes from the client, then
  close both connections (a connection dropped mid-DATA).

``times`` limits how often a rule fires (``None`` = always). Plain TCP only (no TLS).

Layer 6 (testing); standard library only.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass

__all__ = ["Fault", "FaultProxy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One rule: when a client line matches ``command`` (regex, case-insensitive), do ``action``."""

    command: str
    action: str = "reply"
    reply: bytes = b""
    after_bytes: int = 0
    times: int | None = 1


class FaultProxy:
    """``with FaultProxy(upstream_port, faults) as proxy:`` then connect to ``proxy.port``."""

    def __init__(
        self, upstream_port: int, faults: list[Fault] | tuple[Fault, ...] = (), upstream_host: str = "127.0.0.1"
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.faults = list(faults)
        self._fired = [0] * len(self.faults)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)
        self.fired: list[str] = []

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting connections."""
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass

    def _match(self, line: bytes) -> Fault | None:
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        with self._lock:
            for i, f in enumerate(self.faults):
                if f.times is not None and self._fired[i] >= f.times:
                    continue
                if re.search(f.command, text, re.I):
                    self._fired[i] += 1
                    self.fired.append(text)
                    return f
        return None

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        state = {"budget": None}
        closed = threading.Event()

        def shut() -> None:
            closed.set()
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

        def down() -> None:  # server -> client, obeying a drop-response budget
            try:
                while not closed.is_set():
                    data = server.recv(65536)
                    if not data:
                        break
                    budget = state["budget"]
                    if budget is not None:
                        client.sendall(data[:budget])
                        state["budget"] = budget - len(data)
                        if state["budget"] <= 0:
                            break
                        continue
                    client.sendall(data)
            except OSError:
                pass
            shut()

        threading.Thread(target=down, daemon=True).start()
        reader = client.makefile("rb")
        try:
            while not closed.is_set():
                line = reader.readline(1 << 20)
                if not line:
                    break
                fault = self._match(line)
                if fault is None:
                    server.sendall(line)
                elif fault.action == "reply":
                    client.sendall(fault.reply)
                elif fault.action == "drop-response":
                    state["budget"] = fault.after_bytes
                    server.sendall(line)
                elif fault.action == "drop-request":
                    server.sendall(line)
                    sent = 0
                    while sent < fault.after_bytes:
                        more = reader.readline(fault.after_bytes - sent)
                        if not more:
                            break
                        server.sendall(more)
                        sent += len(more)
                    break
        except OSError:
            pass
        shut()
