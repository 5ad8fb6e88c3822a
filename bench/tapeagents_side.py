"""The TapeAgents 0.1.16 half of bench/vs_tapeagents.py: the same workload, run in TapeAgents' own venv.

Not part of the tests and never imported by Tape Studio (TapeAgents' dependencies clash with ours):
bench/vs_tapeagents.py runs this file with the python of a venv made by

    python3 -m venv ~/ta-venv && ~/ta-venv/bin/pip install tapeagents==0.1.16

and reads the JSON object on its last line of output. It only imports TapeAgents and the standard library.

The workload mirrors ours (bench/vs_tapeagents.py, bench/engine.py):
  loop        node `act` asks the model and emits a tool call of the python tool `echo`; the
              environment (TapeAgents' ToolEnvironment over the plain function) runs it; node `reflect`
              asks the model and writes a thought, then hands back to `act`. A zero-latency model: an
              LLM subclass answering at once (MockLLM sleeps 10 ms per call, so it is not used), which
              records each call through TapeAgents' own `log_output`. `--loops` act→tool→reflect rounds;
              the figure is µs per LLM call (= per agent iteration).
              in memory: `observe_llm_calls=False`, nothing written.
              persisted: every LLM call goes to TapeAgents' SQLite (observe_llm_call, its default), and
              every step to a JSONL file, flushed as it is made (their closest to a durable tape).
  tape I/O    a DialogTape of `--steps` steps (user, then thought / tool call / tool result rounds, like
              ours): save_json_tape to one file, then load_tapes of that file (wall and CPU time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

TOOL_CHOICE = '{"thought": "call it", "tool": "echo", "input": "x"}'


def echo(input: str) -> str:  # noqa: A002  (the argument name our side's tool has)
    """Returns ok."""
    return "ok"


def build(observe: bool) -> tuple[Any, Any, Any]:
    from tapeagents.agent import Agent, Node
    from tapeagents.core import LLMOutput, Prompt, SetNextNode, TrainingText
    from tapeagents.dialog_tape import AssistantThought, DialogTape, UserStep
    from tapeagents.environment import ToolEnvironment
    from tapeagents.llms import LLM, LLMEvent, LLMStream
    from tapeagents.tool_calling import FunctionCall, ToolCall, ToolCalls

    class ZeroLatencyLLM(LLM):
        """Answers at once; the call is recorded the way TapeAgents' LiteLLM records one."""

        def generate(self, prompt: Prompt, **kwargs: Any) -> LLMStream:
            def events() -> Any:
                text = TOOL_CHOICE if "Call echo" in prompt.messages[0]["content"] else "noted"
                output = LLMOutput(content=text)
                call = self.log_output(prompt, output, count_tokens=False)
                yield LLMEvent(output=output, llm_call=call)

            return LLMStream(events(), prompt=prompt)

        def count_tokens(self, messages: Any) -> int:
            return 0

        def make_training_text(self, prompt: Prompt, output: LLMOutput) -> TrainingText:
            return TrainingText(text="", n_predicted=0)

    class Act(Node):
        def make_prompt(self, agent: Any, tape: Any) -> Prompt:
            return Prompt(messages=[{"role": "user", "content": "Call echo.\n" + tape.steps[0].content}])

        def generate_steps(self, agent: Any, tape: Any, llm_stream: LLMStream) -> Any:
            choice = json.loads(llm_stream.get_text())
            yield AssistantThought(content=choice["thought"])
            yield ToolCalls(tool_calls=[ToolCall(function=FunctionCall(name=choice["tool"],
                                                                       arguments={"input": choice["input"]}))])

    class Reflect(Node):
        def make_prompt(self, agent: Any, tape: Any) -> Prompt:
            return Prompt(messages=[{"role": "user", "content": "Say what you saw.\n" + str(tape.steps[-1].content)}])

        def generate_steps(self, agent: Any, tape: Any, llm_stream: LLMStream) -> Any:
            yield AssistantThought(content=llm_stream.get_text())
            yield SetNextNode(next_node="act")

    llm = ZeroLatencyLLM(model_name="zero-latency", observe_llm_calls=observe)
    agent = Agent[DialogTape].create(llm, nodes=[Act(name="act"), Reflect(name="reflect")], max_iterations=10**9)
    env = ToolEnvironment(tools=[echo])
    return agent, env, DialogTape(steps=[UserStep(content="bench task")])


def loop(loops: int, tmp: Path | None) -> float:
    """µs per LLM call over `loops` rounds; with `tmp`, every call and step persisted as made."""
    from tapeagents.orchestrator import main_loop

    agent, env, tape = build(observe=tmp is not None)
    journal = open(tmp / f"ta-steps-{os.getpid()}-{time.time_ns()}.jsonl", "w") if tmp is not None else None  # noqa: SIM115
    calls = 0
    start = time.perf_counter()
    for event in main_loop(agent, tape, env, max_loops=loops):
        step = event.agent_event.step if event.agent_event is not None else event.observation
        if step is None:
            continue
        if journal is not None:
            journal.write(step.model_dump_json() + "\n")
            journal.flush()
        calls += event.agent_event is not None and step.kind == "assistant_thought"
    seconds = time.perf_counter() - start
    if journal is not None:
        journal.close()
    return seconds / max(calls, 1) * 1e6


def big_tape(n: int) -> Any:
    from tapeagents.core import StepMetadata
    from tapeagents.dialog_tape import AssistantThought, DialogTape, UserStep
    from tapeagents.tool_calling import FunctionCall, ToolCall, ToolCalls, ToolResult

    steps: list[Any] = [UserStep(content="bench task")]
    while len(steps) < n:
        meta = {"node": "act", "agent": "bench", "prompt_id": os.urandom(16).hex()}
        steps += [AssistantThought(content="thinking about it", metadata=StepMetadata(**meta)),
                  ToolCalls(tool_calls=[ToolCall(function=FunctionCall(name="echo", arguments={"input": "x"}))],
                            metadata=StepMetadata(**meta)),
                  ToolResult(content="ok", tool_call_id="")]
    return DialogTape(steps=steps[:n])


def tape_io(tmp: Path, n: int) -> dict[str, float]:
    from tapeagents.dialog_tape import DialogTape
    from tapeagents.io import load_tapes, save_json_tape

    tape = big_tape(n)
    path = tmp / f"ta-io-{os.getpid()}-{time.time_ns()}.json"
    start, cpu = time.perf_counter(), time.process_time()
    save_json_tape(tape, str(path))
    save = ((time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3)
    start, cpu = time.perf_counter(), time.process_time()
    loaded = load_tapes(DialogTape, path, ".json")
    load = ((time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3)
    assert len(loaded[0].steps) == n
    return {"save_ms": save[0], "save_cpu_ms": save[1], "load_ms": load[0], "load_cpu_ms": load[1]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--tmp", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ["TAPEAGENTS_SQLITE_DB"] = str(args.tmp / f"ta-{os.getpid()}.sqlite")
    # Tape I/O first, in a process that has not run agents yet: an LLM keeps every call it made in
    # a class-level list, which the garbage collector would walk during the load.
    io = [tape_io(args.tmp, args.steps) for _ in range(args.repeats)]
    loop(5, None)  # warm-up: imports, pydantic schemas
    memory = min(loop(args.loops, None) for _ in range(args.repeats))
    persisted = min(loop(args.loops, args.tmp) for _ in range(args.repeats))
    print(json.dumps({"memory_us": memory, "persisted_us": persisted,
                      **{key: min(r[key] for r in io) for key in ("load_ms", "save_ms", "load_cpu_ms", "save_cpu_ms")}}))


if __name__ == "__main__":
    sys.exit(main())
