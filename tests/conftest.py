"""Suite-wide guards and the Hypothesis profiles.

The canary guard: every sample tenant's passwords start with ``canary-4b1d-``. Whatever a
test prints, logs or fails with is checked for that marker; if any output of the suite
carries it, the session fails, naming the test. (Values a test deliberately reveals to send
to a server are fine; only what reaches an output is checked.)

Property tests: every test written with Hypothesis's ``@given`` is marked ``property`` here
(whatever its file is called), so ``pytest -m property`` selects them all. Two settings
profiles: ``ci``, the default, keeps them quick (50 examples each unless a test asks for
more, no deadline since the machine may be loaded, no example database written); ``fuzz``
(``--hypothesis-profile=fuzz``, what ``./dev fuzz`` uses) tries 2,000 examples each and keeps
failing and interesting ones in ``.hypothesis/`` so the next run replays them. A test that
fixes ``max_examples`` in its own ``@settings`` keeps that number under both profiles;
leave it to the profile unless the test must stay small.

The loopback guard: network traffic in tests goes only to this machine. An audit hook
(PEP 578) sees every ``connect``, ``sendto`` and ``getaddrinfo`` this process makes; one aimed
elsewhere (another address, or a name, which the system resolver would look up) is recorded
with the test that made it, and the session fails naming them. Child processes are not seen
(the suite also passes in a network namespace with only loopback).

The ``cli`` fixture runs ``mailsupport`` in-process, for the tests of every command.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, is_hypothesis_test, settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile("ci", max_examples=50, deadline=None, database=None, print_blob=True)
settings.register_profile(
    "fuzz",
    max_examples=2000,
    deadline=None,
    print_blob=True,
    database=DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[1] / ".hypothesis" / "examples")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci")  # --hypothesis-profile NAME, read after this file, chooses another


@pytest.fixture
def cli(capsys):
    """Run ``mailsupport`` in-process; returns (exit code, stdout, stderr). For any test of a command."""
    from mailsupport.cli import main

    def run(*argv):
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


CANARY = "canary-4b1d-"
_leaks: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    texts = [report.longreprtext or ""]
    texts.extend(content for _name, content in report.sections)
    for text in texts:
        if CANARY in text:
            _leaks.append(f"{report.nodeid} ({report.when})")
            break


_LOCAL_NAMES = frozenset(("localhost", "localhost.", "ip6-localhost"))
_off_machine: dict[str, set[str]] = {}  # what was aimed elsewhere -> the tests that did it
_current = ["(collection)"]


def _local(host: object) -> bool:
    """Whether ``host`` (an address or a name) is this machine without asking a resolver."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str) or host.lower() in _LOCAL_NAMES:
        return True  # None (a wildcard), or a Unix socket path's caller: nothing leaves
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a name: getaddrinfo would ask the system resolver
    return ip.is_loopback or ip.is_unspecified


def _audit(event: str, args: tuple) -> None:
    if not event.startswith("socket."):
        return
    try:
        if event in ("socket.connect", "socket.sendto"):
            address = args[1]
            if isinstance(address, tuple) and address and not _local(address[0]):
                _off_machine.setdefault(f"{event} {address[0]}:{address[1]}", set()).add(_current[0])
        elif event == "socket.getaddrinfo" and not _local(args[0]):
            _off_machine.setdefault(f"{event} {args[0]!r}", set()).add(_current[0])
    except Exception:  # a guard must never change what the code under test sees
        pass


sys.addaudithook(_audit)


def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    _current[0] = nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _off_machine:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            for what, tests in sorted(_off_machine.items()):
                tr.write_line(f"OFF-MACHINE NETWORK: {what} from {', '.join(sorted(tests)[:5])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if _leaks:
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(
                "SECRET LEAK: a canary password appeared in the output of: " + ", ".join(sorted(set(_leaks))), red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every Hypothesis test ``property`` (``pytest -m property``, ``./dev fuzz``)."""
    for item in items:
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.property)
