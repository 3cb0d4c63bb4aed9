"""Private Postfix and Dovecot instances on loopback, for integration tests and benchmarks.

Owns starting and stopping real Debian mail servers as root from one private directory, as
measured on loopback (``docs/architecture.md``, "Real servers on loopback"): ``postfix -c DIR
start`` with ``maillog_file`` (no syslog here), chroot off in ``master.cf``, every parent
directory traversable by the ``postfix`` and ``dovecot`` users; ``dovecot -c CONF`` stopped
through its master PID. Ports come from the
kernel (bind to port 0, read, release) and everything listens on 127.0.0.1 only.

Signals go only to processes the kit started: run directories live in this user's parent
``$TMPDIR/mailsupport-runs-<uid>`` (0711, refused if anyone else could write it), PID files
are read only from files of this user there, and a PID is signalled only when
``/proc/PID`` shows a process of this user naming that run directory (:func:`started_here`).

The mail layout is one catch-all virtual domain (every address of ``domain`` goes to
``mailbox@domain``'s Maildir, so Postfix writes the real ``X-Original-To``/``Delivered-To``
headers) plus an ``outside`` domain standing for the rest of the internet, whose mail lands
in ``outside@<outside domain>``'s Maildir. Dovecot serves both Maildirs over POP3 (plain on
one port, implicit TLS with a throwaway trustme CA on another).

:func:`require_real_servers` skips a test (``pytest.skip``) when the binaries or root are
missing, unless ``MAILSUPPORT_REQUIRE_REAL=1`` (CI), when it fails instead.

Layer 6 (testing). Imports the standard library (and trustme lazily); never imported by the
package's runtime modules.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "missing_real_servers",
    "other_mail_transport_agents",
    "require_real_servers",
    "free_port",
    "private_root",
    "started_here",
    "Dovecot",
    "Postfix",
    "MAIL_UID",
    "write_maildir",
    "wait_for_maildir",
]

#: The unprivileged user owning the Maildirs (Postfix's virtual(8) refuses root).
MAIL_UID = 65534
_BINARIES = ("postfix", "postconf", "dovecot", "doveadm")


def other_mail_transport_agents(admindir: str | None = None) -> list[str]:
    """Installed Debian packages other than postfix that provide ``mail-transport-agent``
    (exim4, sendmail, opensmtpd, ...): installing Postfix would remove them, so it is not.
    ``admindir`` is another dpkg database (tests); empty without ``dpkg-query``."""
    admin = [f"--admindir={admindir}"] if admindir else []
    try:
        out = subprocess.run(
            ["dpkg-query", *admin, "-W", "-f=${Package}\t${db:Status-Status}\t${Provides}\n"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    found = []
    for line in out.splitlines():
        package, _, rest = line.partition("\t")
        status, _, provides = rest.partition("\t")
        names = {p.split("(")[0].strip() for p in provides.split(",")}
        if status == "installed" and package != "postfix" and "mail-transport-agent" in names:
            found.append(package)
    return found


def missing_real_servers() -> str | None:
    """Why real servers cannot run here (``None`` when they can)."""
    if os.geteuid() != 0:
        return "real Postfix/Dovecot tests need root (they run private instances as root)"
    missing = [b for b in _BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if missing:
        others = other_mail_transport_agents() if {"postfix", "postconf"} & set(missing) else []
        if others:
            return (
                f"missing binaries: {', '.join(missing)}; Postfix is not installed because another mail "
                f"transport agent is ({', '.join(others)}) and installing Postfix would remove it"
            )
        return f"missing binaries: {', '.join(missing)} (apt-get install postfix dovecot-pop3d)"
    return None


def require_real_servers() -> None:
    """Skip the calling test when real servers cannot run, or fail when CI requires them."""
    import pytest

    why = missing_real_servers()
    if why is None:
        return
    if os.environ.get("MAILSUPPORT_REQUIRE_REAL") == "1":
        pytest.fail(f"MAILSUPPORT_REQUIRE_REAL=1 but {why}")
    pytest.skip(why)


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1 (asked from the kernel with port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _runs_parent() -> Path:
    """``$TMPDIR/mailsupport-runs-<uid>``: the parent of every run directory of this user.

    Made mode 0711 (others may only traverse it, as the ``postfix``, ``dovecot`` and mail
    users must to reach their files; nobody else can list it or create anything in it). One
    that is a symbolic link, belongs to another user or is writable by others is refused:
    PID files are read only from here.
    """
    import tempfile

    parent = Path(tempfile.gettempdir()) / f"mailsupport-runs-{os.geteuid()}"
    try:
        os.mkdir(parent, 0o711)
    except FileExistsError:
        pass
    st = os.lstat(parent)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise RuntimeError(
            f"{parent} is not a directory of this user closed to others (uid {st.st_uid}, mode "
            f"{stat.S_IMODE(st.st_mode):04o}); someone else may have made it: remove it, or set "
            "TMPDIR to a private directory"
        )
    if stat.S_IMODE(st.st_mode) != 0o711:
        os.chmod(parent, 0o711)
    return parent


def private_root(prefix: str = "mailsupport-real-") -> Path:
    """A fresh directory for server instances, outside pytest's ``tmp_path``.

    pytest resets its ``/tmp/pytest-of-<user>`` base to mode 0700 whenever any pytest session
    starts (other test runs on the machine included), which would lock the ``postfix``,
    ``dovecot`` and mail users out mid-run; this directory and its parents stay traversable.
    It lives in this user's private parent (:func:`_runs_parent`), where servers left by a
    killed run are stopped first (:func:`_reap_stale`). Remove it with :func:`shutil.rmtree`
    when done.
    """
    import tempfile

    parent = _runs_parent()
    _reap_stale(parent, prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    path.chmod(0o755)
    _open_parents(path)
    me = os.getpid()
    (path / "owner.pid").write_text(f"{me} {_start_time(me)}")
    return path


def _start_time(pid: int) -> str:
    """The process's start time (clock ticks since boot, ``/proc/PID/stat`` field 22), or ``""``."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return ""
    return stat_line.rpartition(b")")[2].split()[19].decode()


def _read_own_file(path: Path, limit: int = 256) -> str | None:
    """The text of ``path`` if it is a regular file (not a link) of this user in a directory of
    this user that others cannot write; ``None`` otherwise (anyone else could have written it)."""
    try:
        folder = os.lstat(path.parent)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (
            not stat.S_ISREG(st.st_mode)
            or st.st_uid != os.geteuid()
            or folder.st_uid != os.geteuid()
            or not stat.S_ISDIR(folder.st_mode)
            or folder.st_mode & 0o022
        ):
            return None
        return os.read(fd, limit).decode("ascii", "replace")
    finally:
        os.close(fd)


def started_here(pid: int, root: Path) -> bool:
    """True only when ``pid`` is a live process of this user whose command line or environment
    names ``root`` (Dovecot runs with ``-c ROOT/dovecot.conf``, the Postfix master with
    ``MAIL_CONFIG=ROOT/etc``): a server the kit started there, never a recycled or planted PID."""
    if pid <= 1:
        return False
    proc = Path(f"/proc/{pid}")
    try:
        if proc.stat().st_uid != os.geteuid():
            return False
        needle = os.fsencode(str(root).rstrip("/") + "/")
        return any(needle in (proc / part).read_bytes() for part in ("cmdline", "environ"))
    except OSError:
        return False


def _reap_stale(parent: Path, prefix: str) -> None:
    """Stop servers left by a test run that was killed before its teardown, and remove their
    directory: only run directories of ``parent`` (this user's, closed to others) whose owner
    process is gone, and only processes :func:`started_here` confirms the kit started there."""
    for root in parent.glob(f"{prefix}*"):
        try:
            st = os.lstat(root)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            continue
        owner = (_read_own_file(root / "owner.pid") or "").split()
        if len(owner) != 2 or not owner[0].isdigit():
            continue
        if _start_time(int(owner[0])) == owner[1]:
            continue  # its run is still going (same PID, same start: not a recycled PID)
        for pidfile in list(root.glob("*/run/master.pid")) + list(root.glob("*/spool/pid/master.pid")):
            text = (_read_own_file(pidfile) or "").split()
            server = int(text[0]) if text and text[0].isdigit() else 0
            if started_here(server, root):
                try:
                    os.kill(server, signal.SIGTERM)
                except OSError:
                    pass
        shutil.rmtree(root, ignore_errors=True)


def _open_parents(path: Path) -> None:
    """Make every parent of ``path`` traversable (pytest's tmp_path and mktemp -d are 0700)."""
    for p in [path, *path.parents]:
        try:
            mode = p.stat().st_mode
            if mode & 0o011 != 0o011:
                p.chmod(mode | 0o011)
        except OSError:
            pass


def _wait_port(port: int, deadline: float, what: str, log: Path) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port}; log tail:\n{tail}")


def wait_for_maildir(maildir: Path, count: int, *, timeout: float = 30.0) -> list[Path]:
    """Wait (with a deadline, polling) until ``maildir`` holds at least ``count`` messages; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(p for sub in ("new", "cur") if (maildir / sub).is_dir() for p in (maildir / sub).iterdir())
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def write_maildir(maildir: Path, messages: Iterable[bytes], *, prefix: str = "m") -> int:
    """Drop ``messages`` straight into ``maildir/new`` (owned by :data:`MAIL_UID`); returns the count."""
    for sub in ("", "tmp", "new", "cur"):
        d = maildir / sub
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, MAIL_UID, MAIL_UID)
    n = 0
    stamp = int(time.time())
    for i, raw in enumerate(messages):
        p = maildir / "new" / f"{stamp}.{prefix}{i:06d}.loopback"
        p.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(p, MAIL_UID, MAIL_UID)
        n += 1
    return n


@dataclass
class Dovecot:
    """A private Dovecot POP3 server. Any user name logs in with ``password`` (a static passdb,
    so tests add users without reloading); each user's Maildir is ``<mail root>/<login>/Maildir``.
    Start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    root: Path
    users: list[str] = field(default_factory=lambda: ["mailbox"])
    password: str = "secret"
    mail_root: Path | None = None
    port: int = 0
    tls_port: int = 0
    ca_file: str = ""
    _pid: int = 0

    def maildir(self, user: str) -> Path:
        """The Maildir Dovecot serves for ``user``."""
        return (self.mail_root or self.root / "mail") / user / "Maildir"

    def start(self) -> Dovecot:
        """Write the configuration, start ``dovecot -c CONF`` and wait until POP3 listens."""
        import trustme

        root = self.root
        root.mkdir(parents=True, exist_ok=True)
        _open_parents(root)
        for sub in ("run", "state"):
            (root / sub).mkdir(exist_ok=True)
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        cert.private_key_and_cert_chain_pem.write_to_path(str(root / "server.pem"))
        ca.cert_pem.write_to_path(str(root / "ca.pem"))
        self.ca_file = str(root / "ca.pem")
        mail_root = self.mail_root or root / "mail"
        mail_root.mkdir(parents=True, exist_ok=True)
        os.chown(mail_root, MAIL_UID, MAIL_UID)
        for user in self.users:
            self.add_user(user)
        self.port = self.port or free_port()
        self.tls_port = self.tls_port or free_port()
        conf = f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = pop3
listen = 127.0.0.1
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={mail_root}/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
"""
        (root / "dovecot.conf").write_text(conf)
        # dovecot daemonizes: its child keeps inherited pipes open, so send output to a file
        with open(root / "start.log", "wb") as out:
            r = subprocess.run(
                ["dovecot", "-c", str(root / "dovecot.conf")],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                timeout=30,
            )
        if r.returncode != 0:
            raise RuntimeError(f"dovecot failed to start: {(root / 'start.log').read_text(errors='replace')}")
        deadline = time.monotonic() + 20
        _wait_port(self.port, deadline, "dovecot", root / "dovecot.log")
        pidfile = root / "run" / "master.pid"
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._pid = int(pidfile.read_text().split()[0])
        return self

    def add_user(self, user: str) -> Path:
        """Make ``user``'s home and empty Maildir (every user logs in with :attr:`password`)."""
        home = (self.mail_root or self.root / "mail") / user
        home.mkdir(parents=True, exist_ok=True)
        os.chown(home, MAIL_UID, MAIL_UID)
        write_maildir(home / "Maildir", ())
        if user not in self.users:
            self.users.append(user)
        return home / "Maildir"

    def stop(self) -> None:
        """Stop the master process (and wait for it to go)."""
        if not self._pid:
            return
        pid, self._pid = self._pid, 0
        if not started_here(pid, self.root):
            return  # gone already, or the PID is no longer our Dovecot
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        if started_here(pid, self.root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_MASTER_CF = """\
{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


@dataclass
class Postfix:
    """A private Postfix: SMTP on 127.0.0.1:``port``; ``domain`` is a catch-all virtual domain
    delivered to ``mail_root/mailbox/Maildir`` and ``outside_domain`` to ``mail_root/outside/Maildir``
    (the world's mail, so replies can be checked). Nothing leaves the machine.
    ``reject@<outside>`` gets ``550`` and ``tempfail@<outside>`` ``451`` at RCPT."""

    root: Path
    mail_root: Path
    domain: str = "catchall.example"
    outside_domain: str = "outside.example"
    port: int = 0
    message_size_limit: int = 10_240_000

    @property
    def config_dir(self) -> Path:
        """The ``-c`` directory (main.cf, master.cf)."""
        return self.root / "etc"

    def _postfix(self, *args: str) -> tuple[int, str]:
        # postfix start daemonizes the master: output to a file, never a pipe it would inherit
        log = self.root / "command.log"
        with open(log, "wb") as out:
            r = subprocess.run(
                ["postfix", "-c", str(self.config_dir), *args],
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                timeout=60,
            )
        return r.returncode, log.read_text(errors="replace")

    def start(self) -> Postfix:
        """Write main.cf/master.cf and the lookup tables, ``postfix -c DIR start``, wait for SMTP."""
        root = self.root
        etc = self.config_dir
        etc.mkdir(parents=True, exist_ok=True)
        _open_parents(root)
        self.port = self.port or free_port()
        for user in ("mailbox", "outside"):
            write_maildir(self.mail_root / user / "Maildir", ())
        (etc / "vmailbox").write_text(
            f"mailbox@{self.domain} mailbox/Maildir/\n@{self.outside_domain} outside/Maildir/\n"
        )
        (etc / "valias").write_text(f"@{self.domain} mailbox@{self.domain}\n")
        # fixed refusals for send tests: a permanent and a temporary one (RFC 5321 §4.2.2)
        (etc / "access").write_text(
            f"reject@{self.outside_domain} 550 5.1.1 No such user here\n"
            f"tempfail@{self.outside_domain} 451 4.3.0 Temporary failure, try again later\n"
        )
        main = f"""
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.{self.domain}
mydomain = {self.domain}
myorigin = {self.domain}
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:this test Postfix delivers nowhere else
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access texthash:{etc}/access
alias_maps =
alias_database =
maillog_file = {root}/log/postfix.log
maillog_file_prefixes = {root}/log
virtual_mailbox_domains = {self.domain} {self.outside_domain}
virtual_mailbox_base = {self.mail_root}
virtual_mailbox_maps = texthash:{etc}/vmailbox
virtual_alias_maps = texthash:{etc}/valias
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_UID}
virtual_minimum_uid = 100
message_size_limit = {self.message_size_limit}
smtputf8_enable = no
biff = no
"""
        (etc / "main.cf").write_text(main)
        (etc / "master.cf").write_text(_MASTER_CF.format(port=f"127.0.0.1:{self.port}"))
        (root / "log").mkdir(exist_ok=True)
        (root / "spool").mkdir(exist_ok=True)  # postfix start creates the queue dirs inside it
        (root / "data").mkdir(exist_ok=True)
        import pwd

        pw = pwd.getpwnam("postfix")
        os.chown(root / "data", pw.pw_uid, pw.pw_gid)
        rc, out = self._postfix("start")
        if rc != 0:
            raise RuntimeError(f"postfix start failed ({rc}): {out}")
        _wait_port(self.port, time.monotonic() + 30, "postfix", root / "log" / "postfix.log")
        return self

    def log(self) -> str:
        """The instance's mail log so far."""
        p = self.root / "log" / "postfix.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        """``postfix -c DIR abort`` (a test instance has nothing worth a graceful stop: ``stop``
        waits ~10 s for idle daemons); kills the master by PID if that does not work (only
        when :func:`started_here` confirms the PID is this instance's master)."""
        self._postfix("abort")
        pidfile = self.root / "spool" / "pid" / "master.pid"
        deadline = time.monotonic() + 10
        while pidfile.exists() and time.monotonic() < deadline:
            try:
                pid = int(pidfile.read_text().split()[0])
                os.kill(pid, 0)
            except (ValueError, OSError):
                return
            time.sleep(0.1)
        text = (_read_own_file(pidfile) or "").split()
        pid = int(text[0]) if text and text[0].isdigit() else 0
        if started_here(pid, self.root):  # only our master, never a PID someone else wrote
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def __enter__(self) -> Postfix:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
