"""What Ray tasks of the cluster tests run first: Ray pickles this module by value, so task
processes (which cannot import the tests) get it whole."""

from __future__ import annotations

import os
from pathlib import Path


def mark_then_register(folder: str, fake: str, latency_s: float) -> None:
    """Leaves `<node id>-<pid>` in `folder` (so the test can tell which node is working), then
    registers the learning fake in this task's process."""
    import ray

    from tape_studio.core.learning.fake_roles import register_learning_fake

    node = ray.get_runtime_context().get_node_id()
    (Path(folder) / f"{node}-{os.getpid()}").touch()
    register_learning_fake(fake, latency_s=latency_s)


def report_open_files_then_register(data_folder: str, reports: str, fake: str) -> None:
    """Writes down any file of `data_folder` this task's process holds open (a worker is reused
    from task to task, so what an earlier task opened and kept shows here), then registers the fake."""
    from tape_studio.core.learning.fake_roles import register_learning_fake

    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(data_folder):
            held.append(target)
    if held:
        (Path(reports) / f"{os.getpid()}").write_text("\n".join(held))
    register_learning_fake(fake)
