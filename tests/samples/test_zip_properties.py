"""Property tests (Hypothesis) of the zip reader: members round trip within the caps; any bytes are safe.

The number of examples comes from the active Hypothesis profile; no test here sets it.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsupport.errors import SampleError
from mailsupport.samples import ReadLimits
from mailsupport.samples.archive import iter_zip

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

name_part = st.text(alphabet="abcXYZ09 _-.é", min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
member_name = st.lists(name_part, min_size=1, max_size=3).map("/".join).map(lambda n: n + ".eml")
members = st.dictionaries(member_name, st.binary(max_size=3000), max_size=8)


def _read(raw: bytes, limits: ReadLimits):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "s.zip"
        p.write_bytes(raw)
        return [(r.position, r.data, r.problem) for r in iter_zip(p, limits=limits)]


def _zip(files: dict[str, bytes], method: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


@SETTINGS
@given(
    files=members,
    method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]),
    cap=st.integers(min_value=1, max_value=4000),
    total=st.integers(min_value=1, max_value=20000),
)
def test_members_come_back_exactly_or_as_rows_naming_the_cap(files, method, cap, total):
    """Every .eml member is one row in name order: its exact bytes when within the per-message and total
    caps, else a problem naming the cap; the total cap is never passed by what was read."""
    limits = ReadLimits(max_message_bytes=cap, max_zip_total_bytes=total, max_zip_ratio=1e9)
    rows = _read(_zip(files, method), limits)
    assert [pos for pos, _d, _p in rows] == sorted(files)
    used = 0
    for name, data, problem in rows:
        if problem:
            assert data == b"" and (
                "per-message cap" in problem or "in total" in problem or "already inflated" in problem
            )
        else:
            assert data == files[name] and len(data) <= cap
            used += len(data)
    assert used <= total


@SETTINGS
@given(raw=st.binary(max_size=600), files=members)
def test_any_bytes_as_a_zip_are_rows_or_a_sample_error(raw, files):
    """Arbitrary bytes, or a real zip with bytes flipped, read as a zip never raise anything but
    SampleError (the file cannot be opened at all); what is read stays within the caps."""
    real = bytearray(_zip(files, zipfile.ZIP_DEFLATED))
    for i, b in enumerate(raw[: len(real)]):
        real[(i * 7919) % len(real)] ^= b
    for data in (raw, bytes(real)):
        try:
            rows = _read(data, ReadLimits(max_message_bytes=2000, max_zip_total_bytes=6000))
        except SampleError:
            continue
        assert all(len(d) <= 2000 for _pos, d, _p in rows)
