"""The agent loop with the built-in agents driven by fake models (named fakes, reached through litellm)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tape_studio.core.agent import Agent
from tape_studio.core.catalog import agent_spec, build_agent, build_environment
from tape_studio.core.cache import LLMCache
from tape_studio.core.environment import Environment
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.llm import LLM
from tape_studio.core.loop import RunEnded, StepAdded, run, run_to_end
from tape_studio.core.tools import Tool
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, FinalAnswer, Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult, fork_tape

_names = itertools.count()


def qa_fake(plan: str | None = None, answer: str = '{"answer": "Paris"}', calls: list[str] | None = None) -> str:
    """A fake that answers the qa agent's two nodes, told apart by their system prompt."""
    plan = plan or '{"thought": "I need facts about France.", "tool": "lookup", "input": "France"}'

    def respond(messages: list[dict], params: dict) -> str:
        node = "plan" if "choosing one tool" in messages[0]["content"] else "answer"
        if calls is not None:
            calls.append(node)
        return plan if node == "plan" else answer

    return register_fake(f"qa-{next(_names)}", respond)


def make_qa(model: str, mode: str = "live", cache: LLMCache | None = None) -> Agent:
    return build_agent(agent_spec("qa"), LLM(model=model, mode=mode, cache=cache))  # type: ignore[arg-type]


def start(task: str = "What is the capital of France?") -> Tape:
    return Tape(metadata=TapeMetadata(agent="qa"), steps=(Task(text=task),))


def test_qa_run_makes_thought_action_observation_answer() -> None:
    agent = make_qa(qa_fake())
    ended = run_to_end(agent, build_environment(agent), start())
    assert [s.kind for s in ended.tape.steps] == ["task", "thought", "tool_call", "tool_result", "final_answer"]
    assert ended.tape.metadata.status == "completed"
    assert ended.tape.metadata.result == "Paris"
    assert "Paris" in ended.tape.steps[3].content


def test_steps_made_by_one_call_share_its_prompt_id_and_node() -> None:
    agent = make_qa(qa_fake())
    tape = run_to_end(agent, build_environment(agent), start()).tape
    thought, call, result, answer = tape.steps[1:]
    assert thought.metadata.prompt_id == call.metadata.prompt_id != ""
    assert (thought.metadata.node, answer.metadata.node) == ("plan", "answer")
    assert result.metadata.prompt_id == "" and result.metadata.node == ""
    assert answer.metadata.prompt_id not in ("", thought.metadata.prompt_id)


def test_every_step_is_stored_as_it_is_made(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    agent = make_qa(qa_fake())
    for event in run(agent, build_environment(agent), start(), store):
        if isinstance(event, StepAdded):
            # Committed before it is reported (a node's steps are committed together, one by one).
            assert store.summary(store.list_tapes()[0].id).n_steps >= event.index + 1
            assert store.load_steps(store.list_tapes()[0].id)[event.index] == event.step
    tape_id = store.list_tapes()[0].id
    assert store.summary(tape_id).status == "completed"
    assert {c.prompt_id for c in store.calls_for_tape(tape_id)} == {
        s.metadata.prompt_id for s in store.load_tape(tape_id).steps if s.metadata.prompt_id}


def test_fork_inside_a_turn_continues_it_without_repeating_steps(tmp_path: Path) -> None:
    cache = LLMCache(tmp_path / "cache")
    agent = make_qa(qa_fake(), mode="cached", cache=cache)
    env = build_environment(agent)
    original = run_to_end(agent, env, start()).tape
    rerun = run_to_end(agent, env, fork_tape(original, 2))
    assert [s.body() for s in rerun.tape.steps] == [s.body() for s in original.steps]
    assert rerun.tape.steps[:2] == original.steps[:2]
    assert rerun.new_llm_calls == 0


def test_an_edited_thought_inside_a_turn_reaches_the_prompt_of_the_rerun() -> None:
    asked: list[dict] = []

    def respond(messages: list[dict], params: dict) -> str:
        if "choosing one tool" not in messages[0]["content"]:
            return '{"answer": "done"}'
        asked.append({"prompt": messages[-1]["content"], "schema": params["response_format"]})
        city = "Oslo" if "Oslo" in messages[-1]["content"] else "Tokyo"
        return json.dumps({"thought": "ignored: the schema fixes it", "tool": "lookup", "input": city})

    agent = make_qa(register_fake(f"edit-{next(_names)}", respond))
    env = build_environment(agent)
    original = run_to_end(agent, env, start("What is the weather in the capital?")).tape
    assert original.steps[2].arguments == {"query": "Tokyo"}
    edited = Thought(text="The user actually means Oslo.", metadata=original.steps[1].metadata)
    fork = run_to_end(agent, env, fork_tape(original, 1, [edited])).tape
    assert "The user actually means Oslo." in asked[-1]["prompt"]
    thought_schema = asked[-1]["schema"]["json_schema"]["schema"]["properties"]["thought"]
    assert thought_schema == {"type": "string", "enum": ["The user actually means Oslo."]}
    assert fork.steps[1].text == "The user actually means Oslo." and fork.steps[1].metadata.other["edited_by"] == "user"
    assert fork.steps[2].arguments == {"query": "Oslo"}


def test_an_edited_action_is_what_the_environment_runs() -> None:
    agent = make_qa(qa_fake())
    env = build_environment(agent)
    original = run_to_end(agent, env, start()).tape
    edited = ToolCall(tool="lookup", arguments={"query": "Spain"}).model_copy(
        update={"metadata": original.steps[2].metadata.model_copy(update={"id": "edited"})})
    fork = run_to_end(agent, env, fork_tape(original, 2, [edited])).tape
    assert fork.steps[2].arguments == {"query": "Spain"}
    assert "Madrid" in fork.steps[3].content
    assert fork.metadata.parent_id == original.id and fork.metadata.fork_step == 2


def test_an_llm_error_fails_the_tape_and_resume_retries_the_node() -> None:
    outputs = iter(["boom", '{"thought": "t", "tool": "lookup", "input": "France"}', '{"answer": "Paris"}'])

    def respond(messages: list[dict], params: dict) -> str:
        output = next(outputs)
        if output == "boom":
            raise TimeoutError("the model did not answer")
        return output

    agent = make_qa(register_fake(f"flaky-{next(_names)}", respond))
    env = build_environment(agent)
    failed = run_to_end(agent, env, start()).tape
    assert failed.metadata.status == "failed"
    assert isinstance(failed.steps[-1], ErrorStep) and failed.steps[-1].source == "llm"
    assert "did not answer" in failed.metadata.error
    resumed = run_to_end(agent, env, failed).tape
    assert resumed.metadata.status == "completed"
    assert [s.kind for s in resumed.steps] == ["task", "error", "thought", "tool_call", "tool_result", "final_answer"]


def test_unreadable_output_becomes_a_parse_error_step_with_the_raw_output() -> None:
    agent = make_qa(qa_fake(plan="I think the answer is Paris"))
    tape = run_to_end(agent, build_environment(agent), start()).tape
    error = tape.steps[-1]
    assert isinstance(error, ErrorStep) and error.source == "parse"
    assert error.detail == "I think the answer is Paris"
    assert error.metadata.node == "plan" and error.metadata.prompt_id


def test_a_tool_failure_is_an_observation_and_the_agent_goes_on() -> None:
    agent = make_qa(qa_fake(plan='{"thought": "t", "tool": "calculator", "input": "1/0"}'))
    tape = run_to_end(agent, build_environment(agent), start("What is 1/0?")).tape
    result = tape.steps[3]
    assert isinstance(result, ToolResult) and result.is_error and "zero" in result.content
    assert tape.metadata.status == "completed"


def test_stepping_one_iteration_at_a_time_gives_the_same_tape() -> None:
    agent = make_qa(qa_fake())
    env = build_environment(agent)
    whole = run_to_end(agent, env, start()).tape
    tape, pauses = start(), 0
    while tape.metadata.status != "completed":
        ended = [e for e in run(agent, env, tape, max_iterations=1) if isinstance(e, RunEnded)][0]
        tape, pauses = ended.tape, pauses + (ended.reason == "paused")
    assert [s.body() for s in tape.steps] == [s.body() for s in whole.steps]
    assert pauses == 2  # plan, tool; the third move writes the answer and completes at once


def test_should_stop_ends_the_run_between_iterations() -> None:
    agent = make_qa(qa_fake())
    events = list(run(agent, build_environment(agent), start(), should_stop=lambda: True))
    assert len(events) == 1 and isinstance(events[0], RunEnded) and events[0].reason == "stopped"


def test_sub_agent_steps_sit_on_the_same_tape_between_call_and_answer() -> None:
    def respond(messages: list[dict], params: dict) -> str:
        system = messages[0]["content"]
        if "choosing one tool" in system:
            return '{"thought": "Look up Japan.", "tool": "lookup", "input": "Japan"}'
        if "Read the text" in system:
            return '{"answer": "Tokyo"}'
        assert "Answer: Tokyo" in messages[-1]["content"]  # the team sees the sub-agent's answer
        return "Tokyo is the capital of Japan."

    llm = LLM(model=register_fake(f"team-{next(_names)}", respond), mode="live")
    agent = build_agent(agent_spec("explainer"), llm)
    tape = run_to_end(agent, build_environment(agent), Tape(steps=(Task(text="What is the capital of Japan?"),))).tape
    assert [(s.kind, s.metadata.agent) for s in tape.steps] == [
        ("task", ""), ("call_agent", "explainer"), ("thought", "qa"), ("tool_call", "qa"),
        ("tool_result", ""), ("final_answer", "qa"), ("final_answer", "explainer")]
    assert tape.metadata.status == "completed" and tape.metadata.result == "Tokyo is the capital of Japan."


def _looping_agent(max_iterations: int) -> tuple[Agent, Environment]:
    node = NodeSpec(name="loop", type="choose_tool", tools=("echo",),
                    prompt=PromptComponents(instruction="Call echo.", input_template="{task}"))
    spec = AgentSpec(name="looper", nodes=(node,), edges=(Edge(source="loop", target="loop"),), entry="loop",
                     max_iterations=max_iterations)
    model = register_fake(f"loop-{next(_names)}", lambda m, p: '{"thought": "again", "tool": "echo", "input": "x"}')
    agent = Agent(spec, LLM(model=model, mode="live"), tools={"echo": Tool.from_function(lambda text: text, name="echo", description="Echoes.")})
    return agent, Environment({"echo": lambda args: args["text"]})


def test_node_visit_limit_stops_a_looping_agent_as_failed() -> None:
    agent, env = _looping_agent(max_iterations=3)
    tape = run_to_end(agent, env, Tape(steps=(Task(text="loop"),))).tape
    assert tape.metadata.status == "failed"
    assert "3 node visits" in tape.metadata.error
    assert sum(isinstance(s, ToolCall) for s in tape.steps) == 3


def test_a_node_without_an_outgoing_edge_is_reported_on_the_tape() -> None:
    spec = agent_spec("qa").model_copy(update={"edges": ()})
    agent = build_agent(AgentSpec.model_validate(spec.model_dump(exclude={"id"})), LLM(model=qa_fake(), mode="live"))
    tape = run_to_end(agent, build_environment(agent), start()).tape
    assert tape.metadata.status == "failed"
    assert "no edge out of node 'plan'" in tape.metadata.error


def test_a_finished_tape_does_nothing_more() -> None:
    calls: list[str] = []
    agent = make_qa(qa_fake(calls=calls))
    env = build_environment(agent)
    done = run_to_end(agent, env, start()).tape
    again = run_to_end(agent, env, done)
    assert again.tape.steps == done.steps and calls == ["plan", "answer"]


def test_final_answer_written_by_a_person_completes_the_tape() -> None:
    agent = make_qa(qa_fake())
    tape = start().append(FinalAnswer(text="Paris"))
    assert run_to_end(agent, build_environment(agent), tape).tape.metadata.status == "completed"


def test_cached_prompts_do_not_depend_on_ids_or_times(tmp_path: Path) -> None:
    seen: list[str] = []

    def respond(messages: list[dict], params: dict) -> str:
        seen.append(json.dumps(messages))
        return '{"thought": "t", "tool": "lookup", "input": "France"}' if len(seen) % 2 else '{"answer": "Paris"}'

    agent = make_qa(register_fake(f"ids-{next(_names)}", respond))
    env = build_environment(agent)
    run_to_end(agent, env, start())
    run_to_end(agent, env, start())
    assert seen[0] == seen[2] and seen[1] == seen[3]


def test_thoughts_by_a_person_are_kept_when_the_node_continues() -> None:
    agent = make_qa(qa_fake())
    env = build_environment(agent)
    original = run_to_end(agent, env, start()).tape
    thought = Thought(text="My own idea.").model_copy(update={"metadata": original.steps[1].metadata})
    fork = run_to_end(agent, env, fork_tape(original, 1, [thought])).tape
    assert fork.steps[1].text == "My own idea."
    assert [s.kind for s in fork.steps] == ["task", "thought", "tool_call", "tool_result", "final_answer"]


@pytest.mark.parametrize("kind", ["thought", "tool_call"])
def test_resume_after_a_kill_between_any_two_steps_completes_identically(kind: str, tmp_path: Path) -> None:
    """Simulates a kill: keep only the stored prefix up to a step of `kind`, then resume from the store."""
    store = Store(tmp_path / "s.sqlite")
    cache = LLMCache(tmp_path / "cache")
    agent = make_qa(qa_fake(), mode="cached", cache=cache)
    env = build_environment(agent)
    whole = run_to_end(agent, env, start(), store).tape
    cut = next(i for i, s in enumerate(whole.steps) if s.kind == kind) + 1
    killed = Tape(metadata=whole.metadata.model_copy(update={"id": "killed", "status": "running"}),
                  steps=whole.steps[:cut])
    store.save_tape(killed)
    resumed = run_to_end(agent, env, store.load_tape("killed"), store).tape
    assert resumed.steps[:cut] == whole.steps[:cut]
    assert [s.body() for s in resumed.steps] == [s.body() for s in whole.steps]
    assert store.load_tape("killed").steps == resumed.steps
