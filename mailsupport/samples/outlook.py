"""Outlook ``.msg`` samples: each read as the internet message it was, through extract-msg.

A ``.msg`` file is an OLE compound document of MAPI properties, not a MIME message. It is read
with extract-msg, the ``.msg`` backend of mail-parser (``pip install 'mailsupport[outlook]'``
installs ``mail-parser[outlook]``): :func:`msg_bytes` gives the message as extract-msg rebuilds
it (``asEmailMessage``): the transport headers Outlook kept (``PR_TRANSPORT_MESSAGE_HEADERS``:
``Received``, ``Delivered-To``... exactly as received) with the body and attachments encoded
again as MIME. So the catch-all and consolidation diagnoses see the real delivery headers, while
the encoded size is that of the re-encoding (a ``.msg`` stores attachments decoded, not their
original transfer encoding); the decoded sizes are exact.

Lenient like every reader: without the extra, for a damaged file, or for a ``.msg`` holding a
contact or calendar item instead of an email, the result is a problem saying so, never an
exception. extract-msg is imported only when a ``.msg`` is met (it takes about a second).

Layer 3 (file I/O only, no sockets). Must not import diagnoses or presentation modules.
"""

from __future__ import annotations

import io
from pathlib import Path

__all__ = ["msg_bytes", "MSG_PROBLEM"]

MSG_PROBLEM = (
    "Outlook .msg file: reading it needs the outlook extra (pip install 'mailsupport[outlook]', "
    "which adds mail-parser's extract-msg backend); or save the message as .eml (File > Save As) "
    "and scan that"
)


def msg_bytes(msg: Path | bytes) -> tuple[bytes, str]:
    """``(message bytes, "")`` of an Outlook ``.msg`` file (its path or its bytes), or ``(b"", problem)``."""
    try:
        import extract_msg
    except ImportError:
        return b"", MSG_PROBLEM
    try:
        item = extract_msg.openMsg(str(msg) if isinstance(msg, Path) else io.BytesIO(msg))
    except Exception as exc:  # lenient by contract: a damaged file is a row, not the end of the scan
        return b"", f"not a readable Outlook .msg file: {type(exc).__name__}: {exc}"
    try:
        as_email = getattr(item, "asEmailMessage", None)
        if as_email is None:
            return b"", (
                f"an Outlook {type(item).__name__} item (not an email message): nothing to scan; "
                "only messages can be read"
            )
        return as_email().as_bytes(), ""
    except Exception as exc:
        return b"", f"cannot rebuild the message from the Outlook .msg file: {type(exc).__name__}: {exc}"
    finally:
        item.close()
