"""End to end with the real embedded model, through the installed `tape-studio` command.

These assert structure, never wording: the model is real and small."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.live_model


def tape_studio(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "TAPE_STUDIO_LLM_MODE": "live"}
    return subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_qa_run_with_the_embedded_model_links_every_llm_step_to_its_call(tmp_path: Path) -> None:
    done = tape_studio("run", "--agent", "qa", "--task", "What is the capital of France?", "--json", home=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    families = [step["family"] for step in result["steps"]]
    assert {"thought", "action", "observation"} <= set(families)
    calls = {call["prompt_id"]: call for call in result["llm_calls"]}
    llm_steps = [step for step in result["steps"] if step["node"]]
    assert llm_steps and all(step["prompt_id"] in calls for step in llm_steps)
    for call in calls.values():
        assert call["model"] == "local/smollm2" and not call["error"]
        assert call["prompt_tokens"] > 0 and call["completion_tokens"] > 0 and call["latency_s"] > 0


def test_a_run_killed_mid_way_resumes_to_completion_without_losing_steps(tmp_path: Path) -> None:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(tmp_path), "TAPE_STUDIO_LLM_MODE": "live"}
    process = subprocess.Popen([sys.executable, "-m", "tape_studio.studio.cli", "run", "--agent", "writer", "--task",
                                "A short note about rivers"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    store = tmp_path / "store.sqlite"
    before: list[tuple] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists():
            try:
                with sqlite3.connect(store) as conn:
                    before = conn.execute("SELECT tape_id, idx, data FROM steps ORDER BY idx").fetchall()
            except sqlite3.OperationalError:  # the file is there, its tables not yet (migrations under way)
                before = []
            if len(before) >= 2:  # the task and the draft: the edit node is still to come
                break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(before) >= 2, "the run finished or stalled before it could be killed mid-way"
    tape_id = before[0][0]
    resumed = tape_studio("resume", tape_id, "--json", home=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "completed" and result["steps"][-1]["family"] == "stop"
    with sqlite3.connect(store) as conn:
        after = conn.execute("SELECT tape_id, idx, data FROM steps WHERE tape_id = ? ORDER BY idx",
                             (tape_id,)).fetchall()
    assert after[: len(before)] == before


def test_the_embedded_model_serves_concurrent_callers_consistently() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tape_studio.core.llm import LLM, Prompt

    llm = LLM(model="local/smollm2", mode="live")
    prompts = [Prompt(messages=[{"role": "user", "content": f"Name a colour. Variant {n}."}]) for n in range(4)]
    alone = [llm.complete(p, params={"max_tokens": 12}).output for p in prompts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda p: llm.complete(p, params={"max_tokens": 12}), prompts))
    assert all(not call.error and call.completion_tokens > 0 for call in together)
    assert [call.output for call in together] == alone  # temperature 0: same answers however called
