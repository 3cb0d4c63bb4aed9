"""Replay a customer's own mailbox sample through their settings, before and after a fix.

The catch-all diagnosis says which header would route a sample; the sandbox runs the real
pipeline. A replay joins them: each message of the sample, without the receiving side's
headers, is sent again to the sandbox MX as the sample's own client, through the profile of the
server that received it (or one chosen), and the real pipeline polls and routes it twice: with
the tenant's current settings (``before``) and with a change (``after``: the header the
diagnosis recommends, or any ``KEY=VALUE`` setting). Nothing in the sample is modified. ::

    from mailsupport.config import load_tenant
    from mailsupport.replay import replay
    from mailsupport.sandbox import Sandbox

    tenant = load_tenant("data/samples/tenants/smithlaw-sample-catchall.toml")
    result = replay(tenant, ["data/samples/catchall-postfix.mbox"], sandbox_factory=Sandbox)
    result.before.failed, result.after.failed          # 9 and 1
    result.evidence()                                  # the sentence a fix report quotes
    result.to_dict()                                   # before/after: routed counts and messages

Modules: :mod:`.envelope` (what is sent, to whom; pure), :mod:`.infer` (which profile; pure),
:mod:`.changes` (the ``KEY=VALUE`` language; pure), :mod:`.result` (the before/after model;
pure), :mod:`.plan` (the first pass over the sample), :mod:`.run` (the sandboxes and the
pipeline), :mod:`.plot` (the chart; presentation).

Layer 4 (use case): must not import the sandbox (it is passed in as ``sandbox_factory``), the
CLI or presentation modules other than the display helper.
"""

from __future__ import annotations

from .changes import Change, apply_changes, catch_all_change, parse_change
from .envelope import Stripped, original_recipients, strip_receiving_side
from .infer import PROFILE_NAMES, ServerGuess, guess_server
from .plan import PlannedMessage, ReplayPlan, Transaction, plan_replay
from .result import CopyReplay, MessageReplay, Outcome, PassSummary, ReplayResult
from .run import replay, run_replay

__all__ = [
    "Change",
    "parse_change",
    "apply_changes",
    "catch_all_change",
    "Stripped",
    "strip_receiving_side",
    "original_recipients",
    "PROFILE_NAMES",
    "ServerGuess",
    "guess_server",
    "PlannedMessage",
    "Transaction",
    "ReplayPlan",
    "plan_replay",
    "Outcome",
    "CopyReplay",
    "MessageReplay",
    "PassSummary",
    "ReplayResult",
    "replay",
    "run_replay",
]
