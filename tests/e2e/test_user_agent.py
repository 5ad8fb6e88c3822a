"""A user's agent (examples/travel) end to end through the installed `tape-studio` command, with the
real embedded model: run, pause and resume, fork an edited step and rerun, a bundle rerun in a
fresh store, eval and one training epoch. Structure, never wording: the model is real and small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.live_model

ROOT = Path(__file__).resolve().parents[2]
TRAVEL = ROOT / "examples" / "travel"
COMMAND = str(Path(sys.executable).with_name("tape-studio"))


def tape_studio(*args: str | Path, cwd: Path, agents: bool = True, timeout: int = 400) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAPE_STUDIO_LLM_MODE": "cached"}
    env.pop("TAPE_STUDIO_AGENTS", None)
    extra = ["--agents", str(TRAVEL / "agent.py")] if agents else []
    return subprocess.run([COMMAND, *map(str, args), *extra], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode in (0, 1), result.stderr  # 1: the tape failed, which a small model may do
    return json.loads(result.stdout)


def test_every_command_runs_the_travel_agent(tmp_path: Path) -> None:
    store = tmp_path / "one"
    store.mkdir()
    paused = ok(tape_studio("run", "--agent", "travel", "--task", "What is the weather in Oslo in 2 days?",
                            "--max-iterations", "2", "--store", store, "--json", cwd=tmp_path))
    assert paused["status"] == "paused"
    assert [s["kind"] for s in paused["steps"]][:2] == ["task", "route_thought"]
    assert paused["steps"][1]["text"].startswith("weather:")

    done = ok(tape_studio("resume", paused["tape_id"], "--store", store, "--json", cwd=tmp_path))
    kinds = [s["kind"] for s in done["steps"]]
    assert done["status"] in ("completed", "failed") and "tool_call" in kinds
    plan = next(s for s in done["steps"] if s["kind"] == "tool_call")
    assert plan["prompt_id"] in {c["prompt_id"] for c in done["llm_calls"]}

    edit = json.dumps({"kind": "thought", "text": "The user wants the forecast for Paris."})
    fork = ok(tape_studio("fork", paused["tape_id"], "--at", "2", "--replace-step", edit, "--rerun", "--store", store,
                          "--json", cwd=tmp_path))
    assert fork["parent_id"] == paused["tape_id"] and fork["fork_step"] == 2

    bundle = tmp_path / "bundle.json"
    assert tape_studio("export", done["tape_id"], "--out", bundle, "--store", store, cwd=tmp_path).returncode == 0
    fresh = tmp_path / "two.sqlite"
    assert tape_studio("import", bundle, "--store", fresh, cwd=tmp_path, agents=False).returncode == 0
    missing = tape_studio("fork", done["tape_id"], "--at", "2", "--rerun", "--store", fresh, cwd=tmp_path, agents=False)
    assert missing.returncode == 2 and f"load it with --agents {TRAVEL / 'agent.py'}" in missing.stderr
    rerun = ok(tape_studio("fork", done["tape_id"], "--at", "2", "--rerun", "--store", fresh, "--json", cwd=tmp_path))
    assert rerun["status"] in ("completed", "failed") and rerun["parent_id"] == done["tape_id"]


def test_eval_and_one_training_epoch_of_the_travel_agent(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    scored = ok(tape_studio("eval", "--agent", "travel", "--dataset", TRAVEL / "data", "--split", "val",
                            "--store", store, "--json", cwd=tmp_path))
    assert len(scored["examples"]) == 3 and 0.0 <= scored["score"] <= 1.0
    # One epoch of one update step: two training examples and one for validation keep it short.
    small = tmp_path / "small"
    small.mkdir()
    (small / "train.jsonl").write_text("".join((TRAVEL / "data" / "train.jsonl").read_text().splitlines(True)[:2]))
    (small / "val.jsonl").write_text((TRAVEL / "data" / "val.jsonl").read_text().splitlines(True)[0])
    trained = ok(tape_studio("train", "--agent", "travel", "--dataset", small, "--epochs", "1", "--batch", "2",
                             "--no-test", "--store", store, "--json", cwd=tmp_path, timeout=900))
    assert trained["status"] == "completed"
    # The prompt optimizer works on the LLM nodes only: the rule node `route` is never a target.
    from tape_studio.core.store import Store

    db = Store(store)
    proposals = [step for row in db.list_tapes() for step in db.load_tape(row.id).steps if step.kind == "proposal"]
    assert proposals and all(step.target != "route" for step in proposals)  # type: ignore[attr-defined]
