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

Baseline: main at 17f0d0d, before the scan rework (2026-12-06; load average 3.6 / 3.7 before and
after the light corpus, 2.7 after the heavy one: other engineers' jobs were running, so the
medians are noisy; ``--rounds 5 --peer-rounds 3``)::

    light (6.7 KB a message)               msgs rounds  best s median s best msg/s median msg/s   MB/s msg/cpu-s peak MB
    scan csv (default jobs) [20000]       20000      5   1.019    1.213      19627        16484  132.1     18994    23.4
    scan csv (default jobs) [10000]       10000      5   0.579    0.619      17284        16163  115.7     17515    22.9
    scan table (default jobs) [20000]     20000      5   1.011    1.917      19775        10435  133.1     18780    22.2
    scan csv --jobs 1 [20000]             20000      5   1.013    2.205      19734         9069  132.8     19995    22.3
    fast in-process [10000]               10000      5   0.414    0.558      24150        17911  161.7     24431    22.8
    mail-parser [10000]                   10000      3   8.868   10.073       1128          993    7.6      1486    25.9
    fast in-process [20000]               20000      1   1.088    1.088      18380        18380  123.7     22392    23.6
    stdlib [10000]                        10000      1  19.601   19.601        510          510    3.4       757    25.9
    (csv, default jobs, 10,000 / mail-parser: 15.3x best/best, 16.3x median/median wall; 11.8x CPU)

    heavy (38.5 KB a message)              msgs rounds  best s median s best msg/s median msg/s   MB/s msg/cpu-s peak MB
    scan csv (default jobs) [20000]       20000      5   2.045    2.450       9778         8164  376.2      8542    27.5
    scan csv (default jobs) [10000]       10000      5   1.146    1.184       8723         8445  326.0      8551    26.7
    scan table (default jobs) [20000]     20000      5   1.471    2.265      13600         8829  523.3      8837    27.5
    scan csv --jobs 1 [20000]             20000      5   2.283    2.380       8760         8404  337.0      8867    26.9
    fast in-process [10000]               10000      5   1.008    1.158       9920         8639  370.7      9961    27.9
    mail-parser [10000]                   10000      3  14.519   14.972        689          668   25.7       740    46.6
    fast in-process [20000]               20000      1   2.132    2.132       9381         9381  360.9      9916    28.0
    (csv, default jobs, 10,000 / mail-parser: 12.7x best/best, 12.6x median/median wall; 11.6x CPU)

The light corpus's earlier runs on a quieter machine (load 0.8-1.0, before the receiving-chain
walk was added): 47,183 msg/s best with the default jobs over 20,000 messages, 31.2x
mail-parser (1,510 msg/s then), 25,546 msg/s per CPU second.
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
            _ = (m["Message-ID"], m["To"], m["Subject"], m.get_all("Delivered-To"), m.get_all("Received"),
                 [p.get_filename() for p in m.iter_attachments()])
            n += 1
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"engine": engine, "messages": n, "seconds": seconds, "peak_kb": usage.ru_maxrss,
                      "cpu": usage.ru_utime + usage.ru_stime - cpu0}))


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
    return {"seconds": seconds, "peak_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
            "messages": messages}


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
        return {"n": n, "rounds": len(rs), "best": secs[0], "median": statistics.median(secs),
                "rate": n / secs[0], "median_rate": n / statistics.median(secs),
                "cpu_rate": n / cpus[0], "median_cpu_rate": n / statistics.median(cpus),
                "mbps": self.mb[label] / secs[0], "peak": max(r["peak_kb"] for r in rs) / 1024}


def _bench_corpus(corpus: str, args: argparse.Namespace, work: Path) -> None:
    from mailsupport.samples.generate import write_benchmark_mbox

    small, big = work / f"{corpus}-{args.messages}.mbox", work / f"{corpus}-{args.process_messages}.mbox"
    for path, count in ((small, args.messages), (big, args.process_messages)):
        if not path.exists():
            write_benchmark_mbox(path, count, heavy=corpus == "heavy")
    mb = {small: small.stat().st_size / 1e6, big: big.stat().st_size / 1e6}
    load = os.getloadavg()
    print(f"\n== {corpus}: {small.name} ({args.messages} msgs, {mb[small]:.1f} MB, "
          f"{mb[small] * 1e3 / args.messages:.1f} KB a message), {big.name} ({args.process_messages} msgs, "
          f"{mb[big]:.1f} MB); {os.cpu_count()} CPUs; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
          flush=True)
    cases = [("csv", None, big, args.process_messages), ("csv", None, small, args.messages),
             ("table", None, big, args.process_messages), ("csv", 1, big, args.process_messages)]
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

    print(f"{'engine':36} {'msgs':>6} {'rounds':>6} {'best s':>7} {'median s':>8} {'best msg/s':>10} "
          f"{'median msg/s':>12} {'MB/s':>6} {'msg/cpu-s':>9} {'peak MB':>7}")
    for label in runs.runs:
        s = runs.stats(label)
        print(f"{label:36} {s['n']:>6} {s['rounds']:>6} {s['best']:>7.3f} {s['median']:>8.3f} {s['rate']:>10.0f} "
              f"{s['median_rate']:>12.0f} {s['mbps']:>6.1f} {s['cpu_rate']:>9.0f} {s['peak']:>7.1f}")
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    mp = runs.stats(f"mail-parser [{args.messages}]")
    for label in (_label("csv", None, args.messages), _label("csv", None, args.process_messages),
                  _label("table", None, args.process_messages), _label("csv", 1, args.process_messages),
                  f"fast in-process [{args.messages}]"):
        s = runs.stats(label)
        print(f"{label:36} / mail-parser: {s['rate'] / mp['rate']:5.1f}x best/best, "
              f"{s['median_rate'] / mp['median_rate']:5.1f}x median/median (wall); "
              f"{s['cpu_rate'] / mp['cpu_rate']:5.1f}x best, {s['median_cpu_rate'] / mp['median_cpu_rate']:5.1f}x "
              f"median (CPU)")
    whole = runs.stats(_label("csv", None, args.process_messages))
    print(f"{corpus}: whole process, default jobs, {args.process_messages} msgs: {whole['rate']:.0f} msg/s best, "
          f"{whole['median_rate']:.0f} median, {whole['mbps']:.0f} MB/s; peak memory "
          f"{runs.stats(_label('csv', None, args.messages))['peak']:.1f} MB at {args.messages} msgs, "
          f"{whole['peak']:.1f} MB at {args.process_messages} (in-process: "
          f"{runs.stats(f'fast in-process [{args.messages}]')['peak']:.1f} / "
          f"{runs.stats(f'fast in-process [{args.process_messages}]')['peak']:.1f} MB)", flush=True)


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
    for corpus in corpora:
        _bench_corpus(corpus, args, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
