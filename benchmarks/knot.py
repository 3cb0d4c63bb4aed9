"""Run Knot DNS (Debian ``knot``) on a loopback port with a private config, for benchmarks.

Shared by the benchmarks that need a real authoritative server::

    from benchmarks.knot import KnotServer
    with KnotServer([("example.", "/path/example.zone"), ...]) as knot:
        knot.host, knot.port   # ask here

Everything lives in a temporary directory (config, rundir, database); knotd runs in the
foreground as a child process (as root it runs as root: ``user: root:root``) and is stopped
on exit. Zone semantic checks are off so generated zones load fast; the journal is off.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["KnotServer", "free_port", "knotd_path"]


def knotd_path() -> str | None:
    """The knotd binary, or None when Knot is not installed."""
    return shutil.which("knotd") or ("/usr/sbin/knotd" if Path("/usr/sbin/knotd").exists() else None)


def free_port() -> int:
    """A UDP+TCP port on 127.0.0.1 that was free a moment ago (the OS picks it: port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KnotServer:
    """A private knotd serving ``zones`` (``(origin, path)`` pairs) on 127.0.0.1."""

    def __init__(self, zones: Iterable[tuple[str, str | Path]], *, workers: int = 2) -> None:
        self.zones = [(o.rstrip(".") + ".", Path(p).resolve()) for o, p in zones]
        self.workers = workers
        self.host = "127.0.0.1"
        self.port = 0
        self._dir: tempfile.TemporaryDirectory | None = None
        self._proc: subprocess.Popen | None = None

    def _config(self, root: Path) -> str:
        zones = "\n".join(f'  - domain: "{o}"\n    file: "{p}"' for o, p in self.zones)
        return f"""server:
    rundir: "{root / "run"}"
    user: root:root
    listen: {self.host}@{self.port}
    udp-workers: {self.workers}
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{root / "db"}"
log:
  - target: stderr
    any: error
template:
  - id: default
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
{zones}
"""

    def start(self, *, deadline: float = 60.0) -> KnotServer:
        """Write the config, start knotd, and wait until it answers the last zone's SOA."""
        binary = knotd_path()
        if binary is None:
            raise RuntimeError("knotd is not installed (Debian package 'knot')")
        self._dir = tempfile.TemporaryDirectory(prefix="bench-knot-")
        root = Path(self._dir.name)
        (root / "run").mkdir()
        (root / "db").mkdir()
        self.port = free_port()
        conf = root / "knot.conf"
        conf.write_text(self._config(root))
        self._log = (root / "knotd.log").open("wb")
        self._proc = subprocess.Popen([binary, "-c", str(conf)], stdout=self._log, stderr=subprocess.STDOUT)
        self._wait(deadline, root)
        return self

    def _wait(self, deadline: float, root: Path) -> None:
        import dns.message
        import dns.query
        import dns.rcode

        end = time.monotonic() + deadline
        names = [o for o, _ in self.zones]
        while time.monotonic() < end:
            if self._proc.poll() is not None:
                raise RuntimeError("knotd exited: " + (root / "knotd.log").read_text(errors="replace")[-2000:])
            try:
                ok = all(
                    dns.query.udp(dns.message.make_query(n, "SOA"), self.host, port=self.port, timeout=0.5).rcode()
                    == dns.rcode.NOERROR
                    for n in (names[0], names[-1])
                )
            except Exception:
                ok = False
            if ok:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"knotd did not answer on {self.host}:{self.port} within {deadline} s")

    def stop(self) -> None:
        """Stop knotd (SIGTERM, then SIGKILL) and remove its directory."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
            self._log.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> KnotServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
