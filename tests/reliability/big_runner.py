"""Makes or loads very large tapes in a fresh process and prints its peak memory (MiB) as JSON.

    big_runner.py import FOLDER    write a 10 MB-step tape and a 100,000-step tape as files, import both
    big_runner.py load FOLDER      load both back from the store, whole and a window of the long one
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tape_studio.core.interop.tape_files import write_bundle
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.core.workspace import Workspace

BIG_TEXT_BYTES = 10 * 1024 * 1024
LONG_STEPS = 100_000


def peak_mib() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Python starts children with
    vfork, and Linux carries the parent's peak into the child's ru_maxrss across exec, so a test
    run that had grown to 1 GB measured 1 GB here. VmHWM belongs to the new address space alone."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024  # kB


def make(folder: Path) -> dict[str, object]:
    meta = StepMetadata(node="plan", agent="qa")
    big = Tape(metadata=TapeMetadata(id="big", agent="qa", status="completed"),
               steps=(Task(text="big"), Thought(text="x<y>&\n" * (BIG_TEXT_BYTES // 6), metadata=meta)))
    long = Tape(metadata=TapeMetadata(id="long", agent="qa", status="completed"),
                steps=(Task(text="long"),) + tuple(Thought(text=f"thought {n}", metadata=meta)
                                                   for n in range(1, LONG_STEPS)))
    write_bundle(folder / "big.json", [big], [])
    write_bundle(folder / "long.json", [long], [])
    del big, long
    before = peak_mib()
    ws = Workspace(folder / "store.sqlite", mode="replay")
    reports = [ws.import_file(folder / name) for name in ("big.json", "long.json")]
    return {"peak_mib_before_import": before, "peak_mib": peak_mib(),
            "imported": [tape for report in reports for tape in report.imported]}


def load(folder: Path) -> dict[str, object]:
    store = Store(folder / "store.sqlite")
    big, long = store.load_tape("big"), store.load_tape("long")
    window = store.load_steps("long", 54_321, 54_371)
    return {"peak_mib": peak_mib(), "big_chars": len(big.steps[1].text), "long_steps": len(long.steps),  # type: ignore[attr-defined]
            "window_first": window[0].text, "file_mib": (folder / "store.sqlite").stat().st_size / 2**20}  # type: ignore[attr-defined]


if __name__ == "__main__":
    command, folder = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(make(folder) if command == "import" else load(folder)))
