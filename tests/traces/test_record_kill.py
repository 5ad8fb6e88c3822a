"""kill -9 during a recorded session: every step the session had committed is in the store, whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from openai_fake import FakeOpenAI

from tape_studio.core.leases import mark_interrupted
from tape_studio.core.store import Store

RUNNER = Path(__file__).with_name("record_runner.py")


def test_every_committed_step_survives_a_kill_at_a_random_moment(fake: FakeOpenAI, tmp_path: Path) -> None:
    rng = random.Random(10)
    for attempt in range(3):
        store_path = tmp_path / f"store{attempt}.sqlite"
        victim = subprocess.Popen([sys.executable, str(RUNNER), str(store_path), fake.url], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        assert victim.stdout is not None
        tape_id = victim.stdout.readline().strip()
        committed = 0
        for _ in range(rng.randint(3, 25)):
            committed = int(victim.stdout.readline())
        os.kill(victim.pid, signal.SIGKILL)  # mid-loop: maybe inside a model call, maybe inside a commit
        victim.wait(30)
        store = Store(store_path)
        assert mark_interrupted(store) == [tape_id]  # the dead recorder's lease tells
        tape = store.load_tape(tape_id)
        assert len(tape.steps) >= committed and tape.metadata.status == "interrupted"
        assert [s.kind for s in tape.steps[:3]] == ["task", "tool_call", "tool_result"]
        linked = {s.metadata.prompt_id for s in tape.steps if s.metadata.prompt_id}
        assert linked == {c.prompt_id for c in store.calls_for_tape(tape_id)}  # no step without its call
        assert store.summary(tape_id).n_steps == len(tape.steps)
