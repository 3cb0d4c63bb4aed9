"""Benchmark the sample scan against mail-parser and the stdlib parser, on two corpora (not a test).

Usage::

    .venv/bin/python benchmarks/bench_scan.py [--messages 10000] [--process-messages 20000]
        [--corpus light,heavy] [--workdir DIR] [--rounds 5] [--peer-rounds 3]

Two generated corpora (:func:`mailsupport.samples.generate.write_benchmark_mbox`, seeded, so
byte-identical run to run; the 10,000-message file is the first half of the 20,000 one):

* ``light``: about 6.7 KB a message: 50 % plain text, 40 % text + HTML in quoted-printable,
  10 % with one or two 2-40 KB base64 PDFs;
* ``heavy``: a real firm mailbox's shape, about 39 KB a message (median 11 KB, 90th
  percentile 100 KB): 2-9 ``Received`` lines, log-normal text lengths, 20 % multipart/mixed
  with one to three base64 attachments of log-normal size within 2 KB-4 MB.

Every message has a DKIM signature and the usual client headers; half arrive through a
Postfix catch-all, half through Google. For each corpus, in the same run, each engine in its
own fresh process so memory is comparable, rounds interleaved (other sessions share this
machine: the load average is printed before and after):

* ``mailsupport scan`` as a whole process (the installed ``mailsupport`` script, interpreter
  start and imports included, stdout to /dev/null): ``--format csv`` with the default jobs
  (one process per CPU, at most 4) over 20,000 and over 10,000 messages, ``table`` with the
  default jobs and ``csv --jobs 1`` over 20,000;
* ``fast``: :func:`mailsupport.samples.scan` in-process, one process, over 10,000 messages
  (every round) and 20,000 (once);
* ``mail-parser``: ``mailparser.parse_from_bytes`` on every message of the 10,000 file,
  ``--peer-rounds`` times, interleaved with ours;
* ``stdlib`` (light corpus only, once): ``email.parser.BytesParser(policy=policy.default)``
  reading the same headers and the attachments.

Reported: best and median seconds, messages and MB per wall second, messages per CPU second
(user + system, workers included), peak RSS (``ru_maxrss``; a whole process: the largest of
it and its workers). Ratios to mail-parser are taken on the same messages (ours over the
10,000-message file) and on the 20,000-message file's rate, best against best and median
against median in wall time, and in CPU time. Targets: whole process with the default jobs
>= 40,000 msg/s (light) and >= 20,000 msg/s and >= 30x mail-parser (heavy); peak memory
flat (< 40 MB) from 10,000 to 20,000 messages.

Last runs (2026-12-06, main at 4425e3b, ``--rounds 9 --peer-rounds 3``, bytecode cache written
first; load average 0.4-1.3, but this machine's two virtual CPUs change speed minute to minute and
one from the other: the same pure-Python loop took 57-100 ms on one CPU within a few minutes, so
medians swing by 10-40 % and mail-parser's rounds by as much, heavy 14.8-17.1 s)::

    light                                  msgs rounds  best s median s best msg/s median msg/s   MB/s msg/cpu-s peak MB
    scan csv (default jobs) [20000]       20000      9   0.536    0.580      37294        34481  251.0     20320    22.8
    scan csv (default jobs) [10000]       10000      9   0.298    0.334      33573        29966  224.8     19466    21.6
    scan table (default jobs) [20000]     20000      9   0.502    0.535      39857        37362  268.2     21646    20.1
    scan csv --jobs 1 [20000]             20000      9   0.844    0.893      23692        22395  159.4     23712    18.5
    fast in-process [10000]               10000      9   0.348    0.364      28775        27456  192.7     28809    19.2
    mail-parser [10000]                   10000      3   6.957    7.322       1437         1366    9.6      1440    26.0
    fast in-process [20000]               20000      1   0.794    0.794      25183        25183  169.5     25196    20.0
    stdlib [10000]                        10000      1  14.117   14.117        708          708    4.7       709    22.8
    (csv default jobs / mail-parser: 25.9x best/best over 20,000, 23.4x on the same 10,000; 14.1x CPU)

    heavy (37.4 KB a message)              msgs rounds  best s median s best msg/s median msg/s   MB/s msg/cpu-s peak MB
    scan csv (default jobs) [20000]       20000      9   1.099    1.310      18194        15271  700.0      9723    22.9
    scan csv (default jobs) [10000]       10000      9   0.537    0.656      18619        15251  695.8     10064    22.8
    scan table (default jobs) [20000]     20000      9   0.964    1.206      20743        16582  798.1     10842    23.0
    scan csv --jobs 1 [20000]             20000      9   1.716    2.032      11657         9841  448.5     11669    21.6
    fast in-process [10000]               10000      9   0.859    0.970      11636        10313  434.8     11648    23.1
    mail-parser [10000]                   10000      3  17.072   17.155        586          583   21.9       586    46.5
    fast in-process [20000]               20000      1   1.606    1.606      12457        12457  479.3     12459    23.0
    (csv default jobs / mail-parser: 31.1x best/best over 20,000, 31.8x on the same 10,000; 16.6x CPU;
    mail-parser was slow in this run: 15.1-15.4 s in the runs before it)

What changed since the runs below: the mbox reader searches the literal ``From `` instead of a
pattern starting with a line break (which stops at every line end of the file) and tells line
starts and quoted ``>From`` lines by the bytes before each hit, going on at the next line after
each (a line full of ``From `` is one hit); reader alone, best of 9
interleaved, CPU: light 20,000 messages 0.124 -> 0.109 s, heavy 10,000 0.244 -> 0.225 s. Whole
process, default jobs, interleaved with the tree before it (``/usr/bin/time``, 10 and 6 rounds):
light 0.51-0.57 s (median 0.51) against 0.50-0.60 (median 0.535), CPU 0.92-1.05 against 0.93-1.09 s;
heavy 0.99-1.13 s against 1.02-1.22, CPU 1.87-2.14 against 1.94-2.16 s. And this script now
writes the package's bytecode cache before timing: with ``PYTHONDONTWRITEBYTECODE`` set (as on
this machine) a tree without one compiled every module in every timed process, ~25 ms of a
0.5 s run. Where a light run's 0.5 s goes now: ~20 ms interpreter start, ~26 ms importing the
package (half of it the 16 dataclasses being built), ~20 ms argparse's and the process pool's
imports (concurrent.futures and multiprocessing: 17 ms) before the first fork; then two workers
at ~42 us of CPU a message (the reader 5, the header scan 7.5, sizes 9.5 — a multipart/alternative
message 13, a plain one 1 —, chain and candidates 2.8, provider 2, the summary 2, the CSV
cells 2.9) while this process takes ~50 ms of CPU receiving and writing the rows.

Earlier runs, best whole-process rounds with the default jobs (csv over 20,000 messages; the
full tables are in this file's git history)::

    tree (2026-12-06)          light msg/s (table)   heavy msg/s (table)   heavy / mail-parser   notes
    d348aa1 (CSV tail cells)   38,091 (30,104)       18,437 (20,003)       27.3x                 one CPU taken by another job
    2e66ce5 (values pickled)   39,021 (40,334)       19,745 (20,134)       29.2x                 load 0.6-1.1
    15c2275 (the scan library) 34,569 (34,896)       18,365 (19,105)       22.4x                 load 0.9-1.9
    17f0d0d (baseline)         19,627                 9,778                12.7x                 load 2.7-3.7

What moved the heavy corpus since the baseline: summaries made where the reader's buffer holds
the message (no copy), MIME delimiters found past an attachment by stepping from '-' to '-' with
memchr (base64 has none), workers finding their own message boundaries (no serial pass over the
cuts), gc.freeze in the scan processes, summaries pickled as their values and made once in this
process, CSV tails made from the summary's fields. Tried and left out: a generated slot-setting
constructor for the summary (~2.5 %; the slot-descriptor trick the maintainability issue removed),
findall with one group in the header scan's regex, ``csv.writer`` (3 us a row), a bare
``os.fork`` + pipes pool instead of the standard library's (an experiment, same rows: light
0.47-0.50 s against 0.51-0.53 s in the same minutes, heavy 0.99-1.02 against 1.07-1.27 — its
imports and result thread are what stand between this tree and the light target; process
management written by hand is what the project gave up in 2e8bdfa), ranges over
8 MiB (peak memory no longer flat: 25.7 MB at 20,000 light messages with 16 MiB ranges, 22.4 MB
at 8 MiB).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
PY = sys.executable
CORPORA = ("light", "heavy")


def _child(engine: str, path: str) -> None:
    from mailsupport.samples.readers import iter_raw

    start = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = start.ru_utime + start.ru_stime
    t0 = time.perf_counter()
    n = 0
    if engine == "fast":
        from mailsupport.samples import scan

        for _s in scan(path):
            n += 1
    elif engine == "mail-parser":
        import mailparser

        for raw in iter_raw(path):
            m = mailparser.parse_from_bytes(raw.data)
            _ = (m.message_id, m.to, m.subject, m.attachments)
            n += 1
    elif engine == "stdlib":
        from email import policy
        from email.parser import BytesParser

        parser = BytesParser(policy=policy.default)
        for raw in iter_raw(path):
            m = parser.parsebytes(raw.data)
            _ = (
                m["Message-ID"],
                m["To"],
                m["Subject"],
                m.get_all("Delivered-To"),
                m.get_all("Received"),
                [p.get_filename() for p in m.iter_attachments()],
            )
            n += 1
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "engine": engine,
                "messages": n,
                "seconds": seconds,
                "peak_kb": usage.ru_maxrss,
                "cpu": usage.ru_utime + usage.ru_stime - cpu0,
            }
        )
    )


def _compile_bytecode() -> None:
    """Write the package's bytecode cache, as installing it does, and say which tree is measured.

    Every timed run is a fresh interpreter: without ``.pyc`` files (``PYTHONDONTWRITEBYTECODE``
    set, or a fresh checkout) each would compile every module it imports, ~25 ms of its start
    that no installed copy pays (pip compiles on install; mail-parser's are compiled).
    """
    import compileall

    import mailsupport

    package = Path(mailsupport.__file__).resolve().parent
    compileall.compile_dir(package, quiet=1)
    print(f"measuring {package} (bytecode cache written)", flush=True)
    here = HERE.parent.parent / "mailsupport"
    if package != here:  # e.g. a second checkout sharing a virtualenv whose editable install points elsewhere
        print(f"note: not this checkout's package ({here}); PYTHONPATH={here.parent} measures that one", flush=True)


def _run_child(engine: str, path: Path) -> dict:
    out = subprocess.run([PY, str(HERE), "--child", engine, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _whole_process(path: Path, messages: int, fmt: str, jobs: int | None) -> dict:
    """``mailsupport scan PATH --format FMT [--jobs N]`` timed from spawn to exit.

    Runs the installed console script next to the interpreter (what a user types), or
    ``python -m mailsupport`` when there is none.
    """
    script = Path(PY).with_name("mailsupport")
    cmd = [str(script)] if script.exists() else [PY, "-m", "mailsupport"]
    cmd += ["scan", str(path), "--format", fmt]
    if jobs is not None:
        cmd += ["--jobs", str(jobs)]
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull)
        _pid, status, usage = os.wait4(proc.pid, 0)  # usage: the process and its reaped workers
    seconds = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"mailsupport scan failed with status {status}")
    return {
        "seconds": seconds,
        "peak_kb": usage.ru_maxrss,
        "cpu": usage.ru_utime + usage.ru_stime,
        "messages": messages,
    }


def _label(fmt: str, jobs: int | None, messages: int) -> str:
    return f"scan {fmt} " + (f"--jobs {jobs}" if jobs is not None else "(default jobs)") + f" [{messages}]"


class _Runs:
    """Timed runs per label: best, median, CPU and peak memory."""

    def __init__(self) -> None:
        self.runs: dict[str, list[dict]] = {}
        self.mb: dict[str, float] = {}

    def add(self, label: str, run: dict, mb: float) -> None:
        self.runs.setdefault(label, []).append(run)
        self.mb[label] = mb

    def stats(self, label: str) -> dict:
        rs = self.runs[label]
        secs = sorted(r["seconds"] for r in rs)
        cpus = sorted(r["cpu"] for r in rs)
        n = rs[0]["messages"]
        return {
            "n": n,
            "rounds": len(rs),
            "best": secs[0],
            "median": statistics.median(secs),
            "rate": n / secs[0],
            "median_rate": n / statistics.median(secs),
            "cpu_rate": n / cpus[0],
            "median_cpu_rate": n / statistics.median(cpus),
            "mbps": self.mb[label] / secs[0],
            "peak": max(r["peak_kb"] for r in rs) / 1024,
        }


def _bench_corpus(corpus: str, args: argparse.Namespace, work: Path) -> None:
    from mailsupport.samples.generate import write_benchmark_mbox

    small, big = work / f"{corpus}-{args.messages}.mbox", work / f"{corpus}-{args.process_messages}.mbox"
    for path, count in ((small, args.messages), (big, args.process_messages)):
        if not path.exists():
            write_benchmark_mbox(path, count, heavy=corpus == "heavy")
    mb = {small: small.stat().st_size / 1e6, big: big.stat().st_size / 1e6}
    load = os.getloadavg()
    print(
        f"\n== {corpus}: {small.name} ({args.messages} msgs, {mb[small]:.1f} MB, "
        f"{mb[small] * 1e3 / args.messages:.1f} KB a message), {big.name} ({args.process_messages} msgs, "
        f"{mb[big]:.1f} MB); {os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    cases = [
        ("csv", None, big, args.process_messages),
        ("csv", None, small, args.messages),
        ("table", None, big, args.process_messages),
        ("csv", 1, big, args.process_messages),
    ]
    runs = _Runs()
    for round_ in range(max(args.rounds, args.peer_rounds)):
        if round_ < args.rounds:
            for fmt, jobs, path, count in cases:
                runs.add(_label(fmt, jobs, count), _whole_process(path, count, fmt, jobs), mb[path])
            runs.add(f"fast in-process [{args.messages}]", _run_child("fast", small), mb[small])
        if round_ < args.peer_rounds:
            runs.add(f"mail-parser [{args.messages}]", _run_child("mail-parser", small), mb[small])
    runs.add(f"fast in-process [{args.process_messages}]", _run_child("fast", big), mb[big])
    if corpus == "light" and not args.no_stdlib:
        runs.add(f"stdlib [{args.messages}]", _run_child("stdlib", small), mb[small])
    load = os.getloadavg()

    print(
        f"{'engine':36} {'msgs':>6} {'rounds':>6} {'best s':>7} {'median s':>8} {'best msg/s':>10} "
        f"{'median msg/s':>12} {'MB/s':>6} {'msg/cpu-s':>9} {'peak MB':>7}"
    )
    for label in runs.runs:
        s = runs.stats(label)
        print(
            f"{label:36} {s['n']:>6} {s['rounds']:>6} {s['best']:>7.3f} {s['median']:>8.3f} {s['rate']:>10.0f} "
            f"{s['median_rate']:>12.0f} {s['mbps']:>6.1f} {s['cpu_rate']:>9.0f} {s['peak']:>7.1f}"
        )
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    mp = runs.stats(f"mail-parser [{args.messages}]")
    for label in (
        _label("csv", None, args.messages),
        _label("csv", None, args.process_messages),
        _label("table", None, args.process_messages),
        _label("csv", 1, args.process_messages),
        f"fast in-process [{args.messages}]",
    ):
        s = runs.stats(label)
        print(
            f"{label:36} / mail-parser: {s['rate'] / mp['rate']:5.1f}x best/best, "
            f"{s['median_rate'] / mp['median_rate']:5.1f}x median/median (wall); "
            f"{s['cpu_rate'] / mp['cpu_rate']:5.1f}x best, {s['median_cpu_rate'] / mp['median_cpu_rate']:5.1f}x "
            f"median (CPU)"
        )
    whole = runs.stats(_label("csv", None, args.process_messages))
    print(
        f"{corpus}: whole process, default jobs, {args.process_messages} msgs: {whole['rate']:.0f} msg/s best, "
        f"{whole['median_rate']:.0f} median, {whole['mbps']:.0f} MB/s; peak memory "
        f"{runs.stats(_label('csv', None, args.messages))['peak']:.1f} MB at {args.messages} msgs, "
        f"{whole['peak']:.1f} MB at {args.process_messages} (in-process: "
        f"{runs.stats(f'fast in-process [{args.messages}]')['peak']:.1f} / "
        f"{runs.stats(f'fast in-process [{args.process_messages}]')['peak']:.1f} MB)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Generate the inputs, run every engine on each corpus, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--process-messages", type=int, default=20_000)
    ap.add_argument("--corpus", default="light,heavy", help="comma-separated: light, heavy (default both)")
    ap.add_argument("--workdir", type=Path, help="where the generated mboxes are kept (reused when present)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of each of our cases")
    ap.add_argument("--peer-rounds", type=int, default=3, help="rounds of mail-parser, interleaved with ours")
    ap.add_argument("--no-stdlib", action="store_true", help="leave out the stdlib parser's single round")
    ap.add_argument("--child", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    corpora = [c.strip() for c in args.corpus.split(",") if c.strip()]
    unknown = set(corpora) - set(CORPORA)
    if unknown:
        ap.error(f"unknown corpus {', '.join(sorted(unknown))}; choose from {', '.join(CORPORA)}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-scan-"))
    work.mkdir(parents=True, exist_ok=True)
    _compile_bytecode()
    for corpus in corpora:
        _bench_corpus(corpus, args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
