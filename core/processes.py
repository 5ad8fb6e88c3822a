"""Whether a process on this machine is still alive: what stale temporary files and leases are told by."""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int, started: str = "") -> bool:
    """True while process `pid` runs; with `started` (from `start_mark`), only if it is the same
    process and not a later one that was given the recycled pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return not started or start_mark(pid) in ("", started)


def start_mark(pid: int) -> str:
    """When the process started, in clock ticks since boot (Linux); empty where that is unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    return stat.rsplit(")", 1)[-1].split()[19]
