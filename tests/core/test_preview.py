"""core/preview.py: what a rerun will cost, checked against the demo tapes' recorded calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from tape_studio.core.agent import Visit
from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.cache import LLMCache
from tape_studio.core.demo import demo_files
from tape_studio.core.fake_llm import scripted_fake
from tape_studio.core.interop.tape_files import Bundle, read_bundle
from tape_studio.core.llm import LLM, record_calls
from tape_studio.core.loop import StepAdded, run
from tape_studio.core.preview import preview_rerun, prompt_request
from tape_studio.core.tape import Tape, Task, ToolCall, fork_tape


@pytest.fixture
def family() -> Bundle:
    """The demo fork family: 17*23 looked up (original), then a calculator edit and an unchanged fork."""
    return read_bundle(next(p for p in demo_files() if p.stem == "qa-what-is-17-times-23"))


def seeded(tmp_path: Path, bundle: Bundle | None) -> LLMCache:
    cache = LLMCache(tmp_path / "cache")
    if bundle is not None:
        record_calls(cache, bundle.llm_calls)
    return cache


def agent_for(cache: LLMCache, mode: str = "replay"):  # type: ignore[no-untyped-def]
    return build_agent(agent_spec("qa"), LLM(model="local/smollm2", mode=mode, cache=cache))  # type: ignore[arg-type]


def original(bundle: Bundle) -> Tape:
    return next(t for t in bundle.tapes if t.metadata.parent_id is None)


def test_a_fully_cached_rerun_is_previewed_exactly(family: Bundle, tmp_path: Path) -> None:
    agent = agent_for(seeded(tmp_path, family))
    preview = preview_rerun(agent, fork_tape(original(family), 2), agent.llm.cache, build_environment(agent))
    assert preview.exact and preview.outcome == "finishes with an answer"
    assert [(c.node, c.source) for c in preview.calls] == [("plan", "cache"), ("answer", "cache")]
    assert preview.cached_calls == 2 and preview.new_calls == 0 and preview.new_tokens == 0


def test_an_edited_tool_call_is_followed_through_the_environment(family: Bundle, tmp_path: Path) -> None:
    agent = agent_for(seeded(tmp_path, family))
    edit = ToolCall(tool="calculator", arguments={"expression": "17*23"})
    fork = fork_tape(original(family), 2, [edit.model_copy(update={"metadata": edit.metadata.model_copy(
        update={"node": "plan", "agent": "qa"})})])
    preview = preview_rerun(agent, fork, agent.llm.cache, build_environment(agent))
    # The demo's calculator fork recorded the answer node's call for exactly this prompt.
    assert [(c.node, c.source) for c in preview.calls] == [("answer", "cache")]
    assert preview.exact


def test_without_a_cache_hit_the_rest_is_estimated_from_the_reference(family: Bundle, tmp_path: Path) -> None:
    agent = agent_for(seeded(tmp_path, None), mode="cached")
    parent = original(family)
    calls = {c.prompt_id: c for c in family.llm_calls}
    preview = preview_rerun(agent, fork_tape(parent, 1), agent.llm.cache, build_environment(agent),
                            reference=parent, calls=calls)
    assert not preview.exact and "plan" in preview.outcome
    assert [(c.node, c.source) for c in preview.calls] == [("plan", "model"), ("answer", "estimate")]
    recorded_plan = calls[parent.steps[1].metadata.prompt_id]
    assert preview.calls[0].prompt_tokens == recorded_plan.prompt_tokens
    assert preview.new_calls == 2 and preview.new_tokens > 0


def test_without_any_record_tokens_are_sized_from_the_prompt(tmp_path: Path) -> None:
    agent = agent_for(seeded(tmp_path, None), mode="cached")
    start = Tape(steps=(Task(text="What is the capital of Peru?"),))
    preview = preview_rerun(agent, start, agent.llm.cache)
    assert [c.node for c in preview.calls] == ["plan", "answer"]
    assert preview.calls[0].prompt_tokens > 50 and preview.calls[0].completion_tokens == 96


def test_live_mode_counts_cached_prompts_as_new_calls(family: Bundle, tmp_path: Path) -> None:
    agent = agent_for(seeded(tmp_path, family), mode="live")
    preview = preview_rerun(agent, fork_tape(original(family), 2), agent.llm.cache, build_environment(agent))
    assert [c.source for c in preview.calls] == ["model", "model"]
    assert all(c.exact for c in preview.calls) and preview.new_tokens > 0


def test_a_team_preview_walks_into_the_sub_agent(tmp_path: Path) -> None:
    spec = agent_spec("explainer")
    agent = build_agent(spec, LLM(model="local/smollm2", mode="cached", cache=seeded(tmp_path, None)))
    preview = preview_rerun(agent, Tape(steps=(Task(text="Why is the sky blue?"),)), agent.llm.cache)
    nodes = [(c.agent, c.node) for c in preview.calls]
    assert nodes[:2] == [("qa", "plan"), ("qa", "answer")] and nodes[-1][0] == "explainer"


def test_preview_prompt_is_the_request_the_run_sends(tmp_path: Path) -> None:
    model = scripted_fake("preview-parity", ['{"thought": "t", "tool": "lookup", "input": "Peru"}',
                                             '{"answer": "Lima"}'])
    agent = build_agent(agent_spec("qa"), LLM(model=model, mode="live", cache=seeded(tmp_path, None)))
    tape = Tape(steps=(Task(text="What is the capital of Peru?"),))
    move = agent.next_move(tape)
    assert isinstance(move, Visit)
    expected = prompt_request(move).key()
    sent = next(e.call for e in run(agent, build_environment(agent), tape) if isinstance(e, StepAdded) and e.call)
    assert sent.request().key() == expected


def test_preview_leaves_the_cache_and_tape_untouched(family: Bundle, tmp_path: Path) -> None:
    cache = seeded(tmp_path, family)
    agent = agent_for(cache)
    fork = fork_tape(original(family), 2)
    before = cache.stats()["entries"]
    preview_rerun(agent, fork, cache, build_environment(agent))
    assert cache.stats()["entries"] == before and len(fork.steps) == 2


