"""Load the openspf conformance suite and run one case (shared by the conformance tests).

The suite is vendored in ``tests/data/spf/`` (unmodified upstream files with their BSD-style
licences; ``tests/data/spf/PROVENANCE.md`` says where they come from), so a fresh clone runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailsupport.spf.evaluate import SpfResult

SUITE_DIR = Path(__file__).resolve().parents[1] / "data" / "spf"
RFC7208 = SUITE_DIR / "rfc7208-tests.yml"
RFC4408 = SUITE_DIR / "rfc4408-tests.yml"

REPO = Path(__file__).resolve().parents[2]
ZONES = REPO / "data" / "samples" / "zones"
#: The SPF sample zones (other helpers keep their own zone files in the same folder).
SPF_ZONES = tuple(
    ZONES / f"{name}.zone"
    for name in (
        "actionstep-vendor",
        "smithlaw.example",
        "no-record.example",
        "multiple-records.example",
        "syntax-error.example",
        "vendor-include-missing.example",
        "vendor-include-after-all.example",
        "terms-after-all.example",
        "too-many-lookups.example",
        "too-many-void-lookups.example",
        "ptr-deprecated.example",
        "permissive-all.example",
        "dns-temporary-failure.example",
        "vendor-ip-not-permitted.example",
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One test case of one scenario."""

    scenario: int
    name: str
    helo: str
    host: str
    mailfrom: str
    expected: tuple[str, ...]
    explanation: str | None


def load(path: Path) -> list[tuple[dict[str, Any], list[Case]]]:
    """(zonedata, cases) per scenario (YAML document)."""
    import yaml

    out = []
    with path.open(encoding="utf-8") as fh:
        for index, doc in enumerate(yaml.safe_load_all(fh)):
            if not doc:
                continue
            cases = []
            for name, t in doc["tests"].items():
                res = t["result"]
                cases.append(
                    Case(
                        scenario=index,
                        name=name,
                        helo=str(t.get("helo", "")),
                        host=str(t["host"]),
                        mailfrom=str(t.get("mailfrom", "")),
                        expected=tuple(res) if isinstance(res, list) else (res,),
                        explanation=t.get("explanation"),
                    )
                )
            out.append((doc.get("zonedata") or {}, cases))
    return out


def call_args(case: Case) -> tuple[str, str, dict[str, Any]]:
    """(ip, domain, keyword args) for check_host, per the suite's driver conventions."""
    sender = case.mailfrom or f"postmaster@{case.helo}"
    domain = sender.rpartition("@")[2]
    return case.host, domain, {"sender": sender, "helo": case.helo, "receiver": "unknown"}


def verdict_ok(case: Case, result: SpfResult) -> str | None:
    """None when the result is acceptable, else a message."""
    if result.result not in case.expected:
        return f"{case.name}: got {result.result} ({result.reason}), expected {case.expected}"
    if case.explanation is not None and result.result == "fail":
        if case.explanation == "DEFAULT":
            if not result.explanation_default:
                return f"{case.name}: expected the default explanation, got {result.explanation!r}"
        elif result.explanation != case.explanation:
            return f"{case.name}: explanation {result.explanation!r} != {case.explanation!r}"
    return None
