"""Benchmark the pipeline against the tools a support engineer would otherwise use.

Fetch: 1,000 messages of about 50 KB from a private Dovecot on loopback, the same freshly
loaded mailbox for each contender, in one run:

* ours      — ``mailsupport.pipeline.poll``: RETR, route, durable store (fsync'd Maildir +
              SQLite index, synchronous=FULL), DELE, QUIT;
* fetchmail — each message to its own file through ``--mda`` (``sh -c 'cat > file'``);
* getmail6  — into a Maildir (``SimplePOP3Retriever``, ``delete = true``);
* poplib    — bare stdlib RETR + DELE, nothing stored: the floor.

Send: the same 1,000 composed messages over one connection to the same private Postfix, the
contenders rotated within each round and Postfix's deliveries drained between them:

* bare_smtplib    — :mod:`smtplib` sending them unsigned, nothing stored: the floor;
* ours            — ``enqueue_messages``: each signed (signature and disclaimer), size-checked,
                    the batch queued in one ``synchronous=FULL`` commit; then ``send_queued``:
                    outcomes committed 32 at a time, each Message-ID recorded for reply routing;
* ours_one_by_one — the same with one ``enqueue_message`` call (one FULL commit) per message.

Targets: fetch ≥ 1.5× fetchmail, ≥ 8× getmail6, within 1.5× of bare poplib; send (ours) ≥ 0.85
of bare smtplib. Ratios are medians of per-round ratios (the machine is shared). Needs root,
Dovecot, Postfix, fetchmail and getmail6 (``--skip-fetch``: Dovecot and Postfix only).

Run: ``.venv/bin/python benchmarks/bench_pipeline.py [--messages 1000] [--size 50000] [--repeat 3]
[--skip-fetch | --skip-send] [--json FILE]``.

Recorded (send, ``--skip-fetch --repeat 8``, shared 2-core machine, load 3.1-3.7): ours/bare per
round 0.75 0.52 0.99 0.88 0.99 0.98 0.94 0.85, median 0.91, best 0.99; one by one 0.76 median,
0.88 best; bare best 528 msg/s, ours 461, one by one 434; CPU per message (median, this
process) bare 222 us, ours 348, one by one 506. Where the time went before (cProfile and
in-place timers on the send half): the send loop itself ran at smtplib's speed (the client's
send and bare ``sendmail`` alike in wall time, ~2.4 ms a message here); the gap was the durable
enqueue, one FULL commit per message, 0.4-3.7 ms a message as the disk's load varied (ratio
0.46-0.85, median 0.65 before), then the signature's MIME round trip (~120 us CPU a message)
and one commit per send outcome (100-150 us wall). Group commit of the batch, the byte splice
for one-part messages (signing 120 -> 70 us CPU) and outcome groups took those out, step by
step (medians 0.82, 0.84, 0.93 in their own interleaved runs against the step before).

Recorded (fetch, ``--skip-send --repeat 3``, back to back on a shared 2-core machine) when the
POP3 client began reading its own socket with every read bounded in bytes and time: ours best
0.58 s, bare poplib 0.45 s, paired median poplib/ours 1.17, 8.06x fetchmail, 8.97x getmail6;
the poplib-based client just before: ours 0.72 s, poplib/ours 1.24, 7.26x, 8.58x.
"""

from __future__ import annotations

import argparse
import json
import os
import poplib
import pwd
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailsupport.pipeline import OutgoingMessage, enqueue_message, enqueue_messages, poll, send_queued
from mailsupport.store import Store
from mailsupport.testing.mailgen import padded_message, pipeline_tenant
from mailsupport.testing.realservers import (
    MAIL_UID,
    Dovecot,
    Postfix,
    missing_real_servers,
    private_root,
    wait_for_maildir,
    write_maildir,
)


def load(dovecot: Dovecot, user: str, messages: list[bytes]) -> None:
    write_maildir(dovecot.add_user(user), messages)


def bench_ours(dovecot: Dovecot, user: str, work: Path) -> int:
    tenant = pipeline_tenant(pop_port=dovecot.port, username=user, password=dovecot.password)
    with Store(work / "store") as store:
        s = poll(tenant, store)
    assert not s.errors, s.errors
    return s.fetched


def bench_poplib(dovecot: Dovecot, user: str, work: Path) -> int:
    pop = poplib.POP3("127.0.0.1", dovecot.port, timeout=30)
    pop.user(user)
    pop.pass_(dovecot.password)
    count, _ = pop.stat()
    for n in range(1, count + 1):
        pop.retr(n)
        pop.dele(n)
    pop.quit()
    return count


def bench_fetchmail(dovecot: Dovecot, user: str, work: Path) -> int:
    out = work / "files"
    out.mkdir()
    rc = work / "fetchmailrc"
    rc.write_text(
        f"poll 127.0.0.1 service {dovecot.port} protocol pop3 auth password\n"
        f'  user "{user}" password "{dovecot.password}" sslproto "" no sslcertck fetchall nokeep\n'
        f"  mda \"/bin/sh -c 'cat > $(mktemp {out}/msg.XXXXXXXX)'\"\n"
    )
    rc.chmod(0o600)
    env = {**os.environ, "HOME": str(work), "FETCHMAILHOME": str(work)}
    subprocess.run(
        ["fetchmail", "-f", str(rc), "-N", "--nosyslog", "-s", "--pidfile", str(work / "fm.pid")],
        env=env,
        check=False,
        capture_output=True,
        timeout=600,
    )
    return len(list(out.iterdir()))


def bench_getmail(dovecot: Dovecot, user: str, work: Path) -> int:
    maildir = work / "Maildir"
    work.chmod(0o755)  # mkdtemp makes 0700; the delivering user must reach the Maildir
    for sub in ("", "tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
        os.chown(maildir / sub, MAIL_UID, MAIL_UID)  # getmail refuses to deliver as root: user = nobody
    rc = work / "getmailrc"
    rc.write_text(
        f"[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\nport = {dovecot.port}\n"
        f"username = {user}\npassword = {dovecot.password}\ntimeout = 30\n\n"
        f"[destination]\ntype = Maildir\npath = {maildir}/\nuser = {pwd.getpwuid(MAIL_UID).pw_name}\n\n"
        f"[options]\nread_all = true\ndelete = true\nverbose = 0\nmessage_log_syslog = false\n"
    )
    subprocess.run(["getmail", f"--getmaildir={work}", f"--rcfile={rc}"], check=False, capture_output=True, timeout=900)
    return len(list((maildir / "new").iterdir()))


FETCHERS = {"poplib": bench_poplib, "ours": bench_ours, "fetchmail": bench_fetchmail, "getmail6": bench_getmail}


def run_fetch(root: Path, n: int, size: int, repeat: int) -> dict:
    messages = [padded_message(i, f"{1001 + i % 3}@catchall.example", size) for i in range(n)]
    best: dict[str, dict] = {}
    incomplete: list[dict] = []
    rounds: list[dict[str, float]] = []
    with Dovecot(root / "dovecot", users=[], mail_root=root / "mail") as dovecot:
        for rnd in range(repeat):  # rounds interleave the contenders, so load hits them alike
            rounds.append({})
            for name, fn in FETCHERS.items():
                user = f"bench-{name}-{rnd}"
                load(dovecot, user, messages)
                work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-", dir=root))
                t0 = time.perf_counter()
                got = fn(dovecot, user, work)
                elapsed = time.perf_counter() - t0
                left = sum(1 for s in ("new", "cur") for _ in (dovecot.maildir(user) / s).iterdir())
                print(
                    f"fetch {name:10s} round {rnd + 1}: {got:5d} msgs in {elapsed:7.2f} s = "
                    f"{got / elapsed:8.1f} msg/s (left on server: {left})",
                    flush=True,
                )
                shutil.rmtree(work, ignore_errors=True)
                if got != n:  # getmail6 sometimes stalls until its socket timeout: keep the round visible
                    incomplete.append(
                        {"contender": name, "round": rnd + 1, "messages": got, "seconds": round(elapsed, 1)}
                    )
                else:
                    rounds[-1][name] = elapsed
                if got == n and (name not in best or elapsed < best[name]["seconds"]):
                    best[name] = {"messages": got, "seconds": round(elapsed, 3), "msgs_per_s": round(got / elapsed, 1)}
    results: dict = {"best_of": repeat, **best, "incomplete_rounds": incomplete}
    # the machine is shared: ratios are the median of per-round ratios (same conditions)
    results["ratios"] = {
        "ours_vs_fetchmail": _paired(rounds, "fetchmail", "ours"),
        "ours_vs_getmail6": _paired(rounds, "getmail6", "ours"),
        "poplib_vs_ours": _paired(rounds, "ours", "poplib"),
    }
    return results


def _paired(rounds: list[dict[str, float]], slow: str, fast: str) -> float | None:
    """Median over rounds of time(slow) / time(fast), using rounds where both completed."""
    import statistics

    ratios = [r[slow] / r[fast] for r in rounds if slow in r and fast in r]
    return round(statistics.median(ratios), 2) if ratios else None


def _send_bare(tenant, store, raws: list[bytes]) -> None:
    """Bare smtplib: the composed messages, unsigned, one connection, nothing stored."""
    with smtplib.SMTP("127.0.0.1", tenant.outbound.server.port) as s:
        for raw in raws:
            s.sendmail("jane@catchall.example", ["client@outside.example"], raw)


def _send_ours(tenant, store, raws: list[bytes]) -> None:
    """Ours: the batch signed and queued in one durable commit, then sent over one connection,
    each Message-ID recorded for reply routing."""
    enqueue_messages(
        tenant,
        store,
        [
            OutgoingMessage(
                raw=raw,
                mail_from="jane@catchall.example",
                rcpt_tos=("client@outside.example",),
                matter="1001",
                message_id=f"<bare{i}@catchall.example>",
            )
            for i, raw in enumerate(raws)
        ],
    )
    summary = send_queued(tenant, store)
    assert summary.sent == len(raws), summary.errors


def _send_ours_one_by_one(tenant, store, raws: list[bytes]) -> None:
    """Ours with one enqueue call (one durable commit) per message, as single submissions are."""
    for i, raw in enumerate(raws):
        enqueue_message(
            tenant,
            store,
            raw,
            mail_from="jane@catchall.example",
            rcpt_tos=["client@outside.example"],
            matter="1001",
            message_id=f"<bare{i}@catchall.example>",
        )
    summary = send_queued(tenant, store)
    assert summary.sent == len(raws), summary.errors


SENDERS = {"bare_smtplib": _send_bare, "ours": _send_ours, "ours_one_by_one": _send_ours_one_by_one}


def run_send(root: Path, n: int, repeat: int = 1) -> dict:
    import statistics

    from mailsupport.signature import compose_message

    text = "Dear client,\n\nplease find our advice below.\n\n" + "Lorem ipsum dolor sit amet. " * 40 + "\n"
    raws = [
        compose_message(
            from_addr="jane@catchall.example",
            to=["client@outside.example"],
            subject=f"Advice {i}",
            text=text,
            message_id=f"<bare{i}@catchall.example>",
            date="Thu, 26 Nov 2026 09:00:00 +0000",
        )
        for i in range(n)
    ]
    rounds: list[dict[str, float]] = []
    cpu: dict[str, list[float]] = {name: [] for name in SENDERS}
    outside = root / "send-mail" / "outside" / "Maildir"
    with (
        Dovecot(root / "dovecot-send", users=["mailbox", "outside"], mail_root=root / "send-mail"),
        Postfix(root / "postfix", mail_root=root / "send-mail") as postfix,
    ):
        tenant = pipeline_tenant(smtp_port=postfix.port)
        names = list(SENDERS)
        for rnd in range(repeat):
            rounds.append({})
            for name in names[rnd % len(names) :] + names[: rnd % len(names)]:  # rotated: no contender always first
                with Store(Path(tempfile.mkdtemp(prefix="bench-send-", dir=root))) as store:
                    c0, t0 = time.process_time(), time.perf_counter()
                    SENDERS[name](tenant, store, raws)
                    rounds[-1][name], cpu[name] = time.perf_counter() - t0, cpu[name] + [time.process_time() - c0]
                # Postfix delivers after accepting: let it finish, so the next contender starts on an idle server
                delivered = wait_for_maildir(outside, n, timeout=300)
                assert len(delivered) >= n, f"{name}: only {len(delivered)} of {n} delivered"
                for path in delivered:
                    path.unlink()
            r = rounds[-1]
            print(
                f"send  round {rnd + 1}: "
                + ", ".join(f"{k} {n / v:6.1f} msg/s" for k, v in r.items())
                + f"; ours/bare {r['bare_smtplib'] / r['ours']:.2f}, one by one/bare "
                f"{r['bare_smtplib'] / r['ours_one_by_one']:.2f} (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    results: dict = {"rounds": repeat}
    for name in SENDERS:
        secs = [r[name] for r in rounds]
        results[name] = {
            "messages": n,
            "best_seconds": round(min(secs), 3),
            "best_msgs_per_s": round(n / min(secs), 1),
            "median_msgs_per_s": round(n / statistics.median(secs), 1),
            "cpu_us_per_msg_median": round(statistics.median(cpu[name]) / n * 1e6),
        }
    results["ratios_vs_bare_smtplib"] = {}
    for name in ("ours", "ours_one_by_one"):
        per_round = [round(r["bare_smtplib"] / r[name], 2) for r in rounds]
        results["ratios_vs_bare_smtplib"][name] = {
            "per_round": per_round,
            "best": max(per_round),
            "median": _paired(rounds, "bare_smtplib", name),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print (and optionally save) the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--size", type=int, default=50_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-send", action="store_true")
    ap.add_argument("--skip-fetch", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (contenders interleaved in each)")
    args = ap.parse_args(argv)
    tools = () if args.skip_fetch else ("fetchmail", "getmail")
    why = missing_real_servers() or next((f"missing {b}" for b in tools if not shutil.which(b)), None)
    if why:
        print(f"bench_pipeline: cannot run: {why}", file=sys.stderr)
        return 2
    root = private_root("mailsupport-bench-")
    try:
        out = {} if args.skip_fetch else {"fetch": run_fetch(root, args.messages, args.size, args.repeat)}
        if not args.skip_send:
            out["send"] = run_send(root, args.messages, args.repeat)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
