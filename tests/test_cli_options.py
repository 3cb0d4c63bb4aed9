"""The options commands share (mailsupport.cli.options): one --format and --fail-on, one exit rule, usage errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mailsupport.cli import build_parser, main
from mailsupport.cli.options import FAIL_ON_LEVELS, fail_on, findings_exit, usage_error
from mailsupport.errors import ConfigError
from mailsupport.model import Severity

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


@pytest.mark.parametrize(
    "text,level",
    [
        ("never", None),
        ("NEVER", None),
        ("info", Severity.INFO),
        (" Warning ", Severity.WARNING),
        ("error", Severity.ERROR),
        ("critical", Severity.CRITICAL),
    ],
    ids=["never", "never-upper", "info", "warning-padded", "error", "critical"],
)
def test_fail_on_reads_every_level(text, level):
    """--fail-on takes each severity (any case, spaces around) and never."""
    assert fail_on(argparse.Namespace(fail_on=text)) is level


def test_an_unknown_fail_on_is_an_error_naming_the_option_and_the_levels():
    """Anything else is a configuration error on --fail-on that lists what it takes."""
    with pytest.raises(ConfigError, match="--fail-on") as caught:
        fail_on(argparse.Namespace(fail_on="sometimes"))
    assert "'sometimes'" in str(caught.value) and all(level in str(caught.value) for level in FAIL_ON_LEVELS)


@pytest.mark.parametrize(
    "severities,level,code",
    [
        ((), Severity.INFO, 0),
        ((Severity.WARNING,), Severity.ERROR, 0),
        ((Severity.WARNING, Severity.ERROR), Severity.ERROR, 1),
        ((Severity.CRITICAL,), None, 0),
        ((Severity.INFO,), Severity.INFO, 1),
    ],
    ids=["no-findings", "below", "reached", "never", "equal"],
)
def test_findings_exit(severities, level, code):
    """Exit 1 exactly when a finding is at least the level; never (None) is always 0."""
    assert findings_exit(iter(severities), level) == code


def test_usage_error_names_the_command(capsys):
    """A usage error prints 'mailsupport COMMAND: ...' on stderr and gives exit 2."""
    assert usage_error("audit", "--concurrency must be at least 1") == 2
    assert capsys.readouterr().err == "mailsupport audit: --concurrency must be at least 1\n"


def test_every_format_and_fail_on_option_reads_alike():
    """Each command's --format says its default the same way, and --fail-on lists the same levels."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    formats = fails = 0
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if "--format" in action.option_strings:
                formats += 1
                assert action.help.endswith(f"(default {action.default})"), name
            if "--fail-on" in action.option_strings:
                fails += 1
                assert "|".join(FAIL_ON_LEVELS) in action.help, name
    assert formats >= 7 and fails >= 2


def test_diagnose_with_a_bad_fail_on_exits_2_without_a_traceback(capsys):
    """diagnose --fail-on with an unknown level is a usage error (it used to raise ValueError)."""
    code = main(["diagnose", "size", str(SAMPLES / "sizes-mixed.mbox"), "--fail-on", "sometimes"])
    err = capsys.readouterr().err
    assert code == 2 and "--fail-on" in err and "unknown severity 'sometimes'" in err
