"""``mailsupport demo``: the main job on the embedded sandbox and the bundled samples.

Each step's line goes to stdout as it ends; on a terminal a bar on stderr counts the steps
(``--quiet`` prints only where the report, the findings and the tenants' fix reports were written).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="start the sandbox, seed it from data/samples/, run every check, write the report",
        description="Start the embedded sandbox, seed it from the bundled samples, run every "
        "check and write an HTML report and the findings as CSV.",
    )
    p.add_argument(
        "--samples", type=Path, default=None, help="the samples folder (default: data/samples/ of this checkout)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("mailsupport-output"),
        help="where to write report.html, findings.csv and tenants/ (a fix report per tenant; "
        "default: ./mailsupport-output)",
    )
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no step lines and no progress bar: print only where the outputs went",
    )
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from ..demo import default_samples_dir, run_demo
    from ..progress import progress

    with progress(unit="steps", desc="demo", quiet=args.quiet) as bar:  # stderr, only on a terminal

        def step(line: str) -> None:
            if not args.quiet:
                bar.write(line)
            bar.update(1, note=line.split(":", 1)[0][:40])

        result = run_demo(samples_dir=args.samples or default_samples_dir(), out_dir=args.out, progress=step)
    print(f"report:   {result.html_path.resolve()}")
    print(f"findings: {result.csv_path.resolve()}")
    print(f"fix reports: {(result.out_dir / 'tenants').resolve()} (one page per tenant)")
    return 0
