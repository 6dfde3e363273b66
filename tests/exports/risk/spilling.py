"""A real process holding a spill directory (a risk counter that spilled and waits between two
batches), for the tests of abandoned spill directories in exports/ and of recovery in gateway/."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# A counter that spills at once, says where, and waits: a run between two batches.
SPILLING = textwrap.dedent(
    """
    import sys
    import numpy as np, pyarrow as pa
    from exports.risk.counter import RiskCounter
    counter = RiskCounter(("code",), None, directory=sys.argv[1], buffer_entries=100)
    counter.add(pa.table({"code": np.arange(1000)}))
    print(counter.directory, flush=True)
    sys.stdin.read()
    """
)


@contextmanager
def spilling_process(parent: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A real process holding a spill directory in `parent`; killed on leaving if still alive."""
    child = subprocess.Popen(
        [sys.executable, "-c", SPILLING, str(parent)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        directory = Path(child.stdout.readline().strip())
        assert directory.parent == parent and directory.is_dir(), directory
        yield child, directory
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
