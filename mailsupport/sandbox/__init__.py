"""The embedded sandbox mail world: real SMTP, POP3 and DNS servers on 127.0.0.1.

Every server binds ``127.0.0.1:0`` inside one asyncio event loop running in a background
thread (:class:`~mailsupport.sandbox.loop.BackgroundLoop`). Provider *profiles* reproduce the
headers real servers add on delivery into a mailbox; *faults* are deterministic
(stage + match + reply/action), never random. Layer 6: may import every other layer, and
nothing outside ``mailsupport.testing`` and the CLI imports it.
"""

from __future__ import annotations

from .loop import BackgroundLoop

__all__ = ["BackgroundLoop"]
