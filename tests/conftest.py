"""Suite-wide guards.

The canary guard: every sample tenant's passwords start with ``canary-4b1d-``. Whatever a
test prints, logs or fails with is checked for that marker; if any output of the suite
carries it, the session fails, naming the test. (Values a test deliberately reveals to send
to a server are fine; only what reaches an output is checked.)
"""

from __future__ import annotations

import pytest

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
            tr.write_line("SECRET LEAK: a canary password appeared in the output of: " + ", ".join(sorted(set(_leaks))),
                          red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
