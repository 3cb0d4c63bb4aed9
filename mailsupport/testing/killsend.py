"""Run one send pass and SIGKILL this very process at an exact point: the send crash test's sender.

``python -m mailsupport.testing.killsend TENANT.json STORE_DIR K`` sends the store's queue like
``mailsupport run --once`` does, but, through :func:`mailsupport.pipeline.send_queued`'s
``checkpoint`` seam, sends itself SIGKILL right after the server accepted the ``K``-th message
of the pass, before the pass recorded it: no cleanup, no ``finally``, no QUIT, exactly like a
power cut or the OOM killer. ``0`` never kills.

Layer 6 (testing).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from ..config import load_tenant
from ..pipeline import send_queued
from ..store import Store


def main(argv: list[str]) -> int:
    """Entry point; prints the send summary as JSON when not killed."""
    tenant_file, store_dir, count = argv
    wanted = int(count)

    def checkpoint(stage: str, number: int) -> None:
        if stage == "sent" and number == wanted:
            os.kill(os.getpid(), signal.SIGKILL)

    tenant = load_tenant(tenant_file)
    with Store(store_dir) as store:
        summary = send_queued(tenant, store, checkpoint=checkpoint)
    print(json.dumps(summary.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
