"""Paths shared by the DMARC tests: the repository, the sample zones, the DMARC/DKIM symptom zones."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ZONES = REPO / "data" / "samples" / "zones"
#: The zones of the DMARC/DKIM symptoms, the sample tenant and the vendor's own zone.
DMARC_ZONES = sorted(
    [
        ZONES / "actionstep-vendor.zone",
        ZONES / "smithlaw.example.zone",
        *ZONES.glob("dmarc-*.zone"),
        *ZONES.glob("dkim-*.zone"),
    ]
)
