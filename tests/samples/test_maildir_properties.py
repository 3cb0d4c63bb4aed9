"""Property tests (Hypothesis) of the Maildir and folder readers: every file comes back, in order, within the cap.

The number of examples comes from the active Hypothesis profile; no test here sets it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailsupport.samples import ReadLimits
from mailsupport.samples.readers import iter_folder, iter_maildir

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

file_name = st.text(alphabet="abc019:,._-", min_size=1, max_size=12).filter(lambda s: not s.startswith("."))


@SETTINGS
@given(
    new=st.dictionaries(file_name, st.binary(max_size=500), max_size=6),
    cur=st.dictionaries(file_name, st.binary(max_size=500), max_size=6),
    cap=st.integers(min_value=1, max_value=600),
)
def test_maildir_gives_new_then_cur_sorted_within_the_cap(new, cur, cap):
    """A Maildir's messages come back new/ then cur/, sorted by name, byte for byte; a file over the cap
    is a row saying so, never its bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for sub, files in (("new", new), ("cur", cur), ("tmp", {"ignored": b"x"})):
            (root / sub).mkdir()
            for name, data in files.items():
                (root / sub / name).write_bytes(data)
        rows = [(r.position, r.data, r.problem) for r in iter_maildir(root, limits=ReadLimits(max_message_bytes=cap))]
    expected = [(f"new/{n}", new[n]) for n in sorted(new)] + [(f"cur/{n}", cur[n]) for n in sorted(cur)]
    assert [pos for pos, _d, _p in rows] == [pos for pos, _d in expected]
    for (_pos, data, problem), (_, original) in zip(rows, expected):
        if len(original) <= cap:
            assert (data, problem) == (original, "")
        else:
            assert data == b"" and "over the per-message cap" in problem


@SETTINGS
@given(
    files=st.dictionaries(st.lists(file_name, min_size=1, max_size=3).map(tuple), st.binary(max_size=300), max_size=8)
)
def test_folder_gives_every_eml_sorted_by_path(files):
    """Every .eml under a folder, at any depth, comes back once, sorted by relative path, byte for byte;
    other files are passed over."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        written = {}
        for parts, data in files.items():
            target = root.joinpath(*parts[:-1], parts[-1] + ".eml")
            if any(p.is_file() for p in target.parents if p != root) or target.is_dir():
                continue  # a name already used as a file where a folder is wanted (or the reverse)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            (target.parent / "notes.txt").write_bytes(b"not mail")
            written[target.relative_to(root)] = data
        rows = [(r.position, r.data, r.problem) for r in iter_folder(root)]
    assert rows == [(str(rel), written[rel], "") for rel in sorted(written)]
