"""Replay of the recorded demo tapes: the current agents, fed the recorded model answers, must
write exactly the recorded steps. A failure means prompts or parsing changed; if that was on
purpose, regenerate the demo tapes with `python scripts/make_demo_tapes.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.cache import LLMCache
from tape_studio.core.demo import demo_files
from tape_studio.core.errors import ReplayMissError
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.llm import LLM, record_calls
from tape_studio.core.loop import run_to_end
from tape_studio.core.tape import Tape, TapeMetadata

ORIGINALS = [
    (path, tape) for path in demo_files() for tape in read_bundle(path).tapes
    if tape.metadata.parent_id is None and tape.metadata.status == "completed"
]


def test_demo_tapes_include_a_fork_family_and_a_failed_tape() -> None:
    tapes = [tape for path in demo_files() for tape in read_bundle(path).tapes]
    assert len(tapes) >= 10
    assert any(t.metadata.parent_id for t in tapes)
    assert any(t.metadata.status == "failed" for t in tapes)


@pytest.mark.parametrize(("path", "recorded"), ORIGINALS, ids=[p.stem for p, _ in ORIGINALS])
def test_replaying_recorded_calls_reproduces_the_demo_tape(path: Path, recorded: Tape, tmp_path: Path) -> None:
    spec = agent_spec(recorded.metadata.agent)
    assert spec.id == recorded.metadata.spec_id, "demo tapes are stale: run scripts/make_demo_tapes.py"
    cache = LLMCache(tmp_path / "cache")
    record_calls(cache, read_bundle(path).llm_calls)
    agent = build_agent(spec, LLM(model="local/smollm2", mode="replay", cache=cache))
    start = Tape(metadata=TapeMetadata(agent=spec.name), steps=recorded.steps[:1])
    replayed = run_to_end(agent, build_environment(agent), start).tape
    assert [s.body() for s in replayed.steps] == [s.body() for s in recorded.steps]
    assert [s.metadata.node for s in replayed.steps] == [s.metadata.node for s in recorded.steps]
    assert replayed.metadata.status == "completed"


def test_replay_of_an_unrecorded_task_fails_with_the_closest_prompt(tmp_path: Path) -> None:
    path, recorded = ORIGINALS[0]
    cache = LLMCache(tmp_path / "cache")
    record_calls(cache, read_bundle(path).llm_calls)
    agent = build_agent(agent_spec(recorded.metadata.agent), LLM(model="local/smollm2", mode="replay", cache=cache))
    start = Tape(steps=(recorded.steps[0].model_copy(update={"text": recorded.steps[0].text + " Explain."}),))
    with pytest.raises(ReplayMissError, match="closest recorded prompt") as error:
        run_to_end(agent, build_environment(agent), start)
    assert "Explain." in str(error.value)
