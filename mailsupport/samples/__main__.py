"""``python -m mailsupport.samples [DIR]``: regenerate the bundled synthetic samples (default ``data/samples``)."""

from __future__ import annotations

import sys
from pathlib import Path

from .generate import write_bundled

if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "data" / "samples"
    for path in write_bundled(root):
        print(path)
