"""Run one poll and SIGKILL this very process at an exact point: the crash-safety test's fetcher.

``python -m mailsupport.testing.killpoll TENANT.json STORE_DIR STAGE:K`` polls like
``mailsupport run --once`` but, through :func:`mailsupport.pipeline.poll`'s ``checkpoint``
seam, sends itself SIGKILL the ``K``-th time the poll reaches ``STAGE`` (``retrieved``,
``stored``, ``deleted``, ``before-quit``, ``after-quit``) — no cleanup, no ``finally``, no
QUIT, exactly like a power cut or the OOM killer. ``none:0`` never kills.

Layer 6 (testing).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from ..config import load_tenant
from ..pipeline import poll
from ..store import Store


def main(argv: list[str]) -> int:
    """Entry point; prints the poll summary as JSON when not killed."""
    tenant_file, store_dir, point = argv
    stage, _, count = point.partition(":")
    wanted = int(count or 1)
    seen = {"n": 0}

    def checkpoint(at_stage: str, at_number: int) -> None:
        if at_stage == stage:
            seen["n"] += 1
            if seen["n"] == wanted:
                os.kill(os.getpid(), signal.SIGKILL)

    tenant = load_tenant(tenant_file)
    with Store(store_dir) as store:
        summary = poll(tenant, store, checkpoint=checkpoint)
    print(json.dumps(summary.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
