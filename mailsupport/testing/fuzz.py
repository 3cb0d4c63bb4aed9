"""``./dev fuzz [SECONDS]``: run every property test again and again with the ``fuzz`` profile, then say what it found.

Owns :func:`main` (``python -m mailsupport.testing.fuzz [SECONDS] [PYTEST ARGS...]``, run from
a checkout). A property test is any test written with Hypothesis's ``@given``: the suite's
``tests/conftest.py`` marks each one ``property`` and registers two settings profiles,
``ci`` (the default: few examples, so ``./dev test`` stays quick) and ``fuzz`` (many
examples, no deadline, an example database in ``.hypothesis/``).

Each round is one ``pytest -m property --hypothesis-profile=fuzz`` child process with fresh
random seeds, so every round explores new inputs while the database replays what earlier
rounds found. Rounds go on until ``SECONDS`` (default 600) have passed; the round running
then is interrupted (SIGINT to that child, so pytest still writes its report) — a single
test running longer than ``--per-test`` seconds (default 300) is a finding too. A test that
failed is left out of later rounds. At the end each finding is printed: the test, Hypothesis's
falsifying example, and the command that replays it (the database keeps the example, so the
plain test run with the ``fuzz`` profile fails the same way). The full output of every round
is kept in ``.hypothesis/fuzz-<time>.log``. Exit 0 when nothing was found, 1 otherwise.

Layer 6 (testing); standard library only (it runs pytest in a child process).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["main", "Finding", "failures_from_junit"]

ROOT = Path(__file__).resolve().parents[2]
#: How Hypothesis introduces the shrunk input (the wording changed across versions).
_EXAMPLE_HEADS = ("Falsifying example", "Falsifying explicit example", "Failing test case")


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One failing property test: its pytest node id and the failure text pytest reported."""

    nodeid: str
    text: str

    def falsifying(self) -> list[str]:
        """The failure in a few lines: the first error line, the shrunk example, the reproduce decorator."""
        raw = self.text.splitlines()
        lines = [line[1:].strip() if line.startswith("E ") else line.strip() for line in raw]
        error = next((line[1:].strip() for line in raw if line.startswith("E ")), "")
        example: list[str] = []
        start = next((i for i, line in enumerate(lines) if line.startswith(_EXAMPLE_HEADS)), None)
        if start is not None:
            for line in lines[start : start + 40]:
                example.append(line)
                if line == ")" or line.startswith(_EXAMPLE_HEADS) and line.endswith(")"):
                    break
        repro = next((line for line in lines if "reproduce_failure" in line), "")
        return [x for x in (error, *example, repro) if x] or [line for line in lines if line][-5:]


def _nodeid(case: ET.Element, root: Path) -> str:
    classname, name = case.get("classname", ""), case.get("name", "")
    parts = classname.split(".")
    # junit gives "tests.samples.test_x" (or "tests.samples.test_x.TestClass"); find the module
    for cut in range(len(parts), 0, -1):
        path = Path(*parts[:cut]).with_suffix(".py")
        if (root / path).is_file():
            return "::".join([path.as_posix(), *parts[cut:], name])
    return f"{classname}::{name}"


def failures_from_junit(path: Path, root: Path = ROOT) -> list[Finding]:
    """Every failed or errored test case of a pytest JUnit XML report (node ids relative to ``root``)."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return []
    out = []
    for case in tree.iter("testcase"):
        for tag in ("failure", "error"):
            bad = case.find(tag)
            if bad is not None:
                out.append(Finding(nodeid=_nodeid(case, root), text=bad.text or bad.get("message") or ""))
                break
    return out


def _round(args: list[str], *, seconds: float, log, report: Path, root: Path) -> int:
    """One pytest child; interrupted (SIGINT, then killed) if it outlives ``seconds``."""
    cmd = [sys.executable, "-m", "pytest", *args, f"--junitxml={report}"]
    log.write(f"\n$ {' '.join(cmd)}\n")
    log.flush()
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    try:
        return proc.wait(timeout=max(1.0, seconds))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # pytest stops after the current example and writes its report
        try:
            return proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()


def _fuzz_round(
    opts: argparse.Namespace, extra: list[str], found: dict[str, Finding], *, end: float, log, folder: Path, root: Path
) -> tuple[int, list[Finding]]:
    """One round over every property test not yet found failing: (pytest's exit code, new findings)."""
    report = folder / f"fuzz-round-{os.getpid()}.xml"
    report.unlink(missing_ok=True)
    args = [
        "-m",
        "property",
        "-p",
        "no:cacheprovider",
        "-q",
        "--hypothesis-profile=fuzz",
        f"--timeout={opts.per_test:g}",
        *[f"--deselect={n}" for n in found],
        *extra,
    ]
    code = _round(args, seconds=end - time.monotonic(), log=log, report=report, root=root)
    new = [f for f in failures_from_junit(report, root) if f.nodeid not in found]
    report.unlink(missing_ok=True)
    return code, new


def main(argv: list[str] | None = None, *, root: Path = ROOT) -> int:
    """Fuzz until the time is up; print the findings; exit 1 if there were any.

    ``root`` is the checkout whose tests run (this one by default; the tests of this module
    give a small one of their own)."""
    parser = argparse.ArgumentParser(prog="./dev fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("seconds", nargs="?", type=float, default=600.0, help="how long to fuzz (default 600)")
    parser.add_argument(
        "--per-test",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="a single test running longer than this is reported (default 300)",
    )
    opts, extra = parser.parse_known_args(argv)
    started = time.monotonic()
    end = started + opts.seconds
    folder = root / ".hypothesis"
    folder.mkdir(exist_ok=True)
    log_path = folder / f"fuzz-{time.strftime('%Y%m%d-%H%M%S')}.log"
    found: dict[str, Finding] = {}
    rounds = 0
    print(f"fuzzing every property test for {opts.seconds:g} s (profile 'fuzz'); output in {log_path}", flush=True)
    with log_path.open("w") as log:
        try:
            while time.monotonic() < end:
                rounds += 1
                code, new = _fuzz_round(opts, extra, found, end=end, log=log, folder=folder, root=root)
                for f in new:
                    found[f.nodeid] = f
                print(
                    f"round {rounds}: pytest exit {code}, {len(new)} new finding(s), "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
                if code in (3, 4):  # internal or usage error: repeating would not help
                    print(f"pytest could not run the property tests (exit {code}); see {log_path}")
                    return 1
                if code == 5:  # nothing left to run: every property test is a finding, or there are none
                    if found:
                        break
                    print("no property tests were collected")
                    return 1
                if code == 2 and time.monotonic() < end:  # interrupted by someone else
                    break
        except KeyboardInterrupt:
            print("interrupted: reporting what was found so far")
    if not found:
        print(f"nothing found in {rounds} round(s)")
        return 0
    print(f"\n{len(found)} finding(s) in {rounds} round(s):")
    for f in found.values():
        print(f"\n== {f.nodeid}")
        for line in f.falsifying():
            print(f"   {line}")
        print(f"   reproduce: ./dev test '{f.nodeid}' --hypothesis-profile=fuzz   (the example is in .hypothesis/)")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
