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

The ``cli`` fixture runs ``mailsupport`` in-process, for the tests of every command.
"""

from __future__ import annotations

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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
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
