"""Tape Studio against TapeAgents 0.1.16 on the same machine: the agent loop and 10,000-step tape I/O.

A benchmark, not a test: it prints figures. TapeAgents lives in a venv of its own (its dependencies
clash with ours); give its python with `--tapeagents ~/ta-venv/bin/python` (or in the environment
variable TAPEAGENTS_PYTHON), or the figures of ours are printed alone, with how to make that venv:

    python3 -m venv ~/ta-venv && ~/ta-venv/bin/pip install tapeagents==0.1.16

The TapeAgents side is bench/tapeagents_side.py, run with that python. Rounds are interleaved (ours, theirs, ours, theirs...) so that the load of a
shared machine hits both alike; each figure is the best of a round's repeats, one column per round.

figures:
  loop µs/iter   the same 2-node agent on both: node `act` asks the model and calls the python tool
                 `echo`, the environment runs it, node `reflect` asks the model and writes a thought;
                 then `act` again. Zero-latency model (ours: a named fake; theirs: MockLLM-style LLM
                 subclass), 100 loops = 200 LLM calls = 200 agent iterations, 401 steps.
                 "in memory": nothing persisted. "persisted": ours commits every step and call to
                 the SQLite store as it is made (one transaction each); theirs writes every LLM call
                 to its SQLite (observe_llm_call, its default) and every step to a JSONL file,
                 flushed, as it is made (their closest to a durable tape).
  tape load/save 10,000 steps (thought / tool call / tool result): ours Store.load_tape and
                 Store.save_tape (new tape, one transaction); theirs load_tapes / save_json_tape of
                 one JSON file. Wall time, then the process's CPU time (steadier on a shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.llm import LLM
from tape_studio.core.loop import RunEnded, run
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, Task, Thought, ToolCall, ToolResult, new_id
from tape_studio.core.tools import Tool

HERE = Path(__file__).resolve().parent
MAKE_VENV = "make its venv: python3 -m venv ~/ta-venv && ~/ta-venv/bin/pip install tapeagents==0.1.16"
LOOPS = 100
TOOL_CHOICE = '{"thought": "call it", "tool": "echo", "input": "x"}'


def echo(input: str) -> str:  # noqa: A002  (the argument name the node's compact form fills)
    return "ok"


def two_node_agent(direct: bool = True) -> tuple[Agent, Environment]:
    model = register_fake("vs-ta", lambda messages, params: TOOL_CHOICE if "Call echo" in messages[0]["content"]
                          else "noted")
    act = NodeSpec(name="act", type="choose_tool", tools=("echo",),
                   prompt=PromptComponents(instruction="Call echo.", input_template="{task}"))
    reflect = NodeSpec(name="reflect", type="write", prompt=PromptComponents(
        instruction="Say what you saw.", input_template="{last_text}"))
    spec = AgentSpec(name="vs-ta", nodes=(act, reflect), entry="act", max_iterations=10**9,
                     edges=(Edge(source="act", target="reflect"), Edge(source="reflect", target="act")))
    tool = Tool.from_function(echo, name="echo", description="returns ok")
    return Agent(spec, LLM(model=model, mode="live", cache=None, direct=direct), tools={"echo": tool}), \
        Environment({"echo": tool})


def ours_loop(store_path: Path | None, loops: int = LOOPS, direct: bool = True) -> dict[str, Any]:
    """µs per agent iteration (LLM call) over `loops` act→tool→reflect rounds, from the task on."""
    agent, env = two_node_agent(direct)
    store = Store(store_path) if store_path is not None else None
    tape = Tape(steps=(Task(text="bench task"),))
    start = time.perf_counter()
    ended = None
    for event in run(agent, env, tape, store=store, max_iterations=3 * loops):
        if isinstance(event, RunEnded):
            ended = event
    seconds = time.perf_counter() - start
    assert ended is not None and ended.reason == "paused", ended
    calls = sum(1 for s in ended.tape.steps if s.metadata.prompt_id and s.kind != "tool_call")
    if store is not None:
        store.close()
    return {"us_iter": seconds / calls * 1e6, "llm_calls": calls, "steps": len(ended.tape.steps)}


def big_tape(n: int) -> Tape:
    steps: list[Any] = [Task(text="bench task")]
    while len(steps) < n:
        meta = {"node": "act", "agent": "bench", "prompt_id": new_id()}
        steps += [Thought(text="thinking about it", metadata=StepMetadata(**meta)),
                  ToolCall(tool="echo", arguments={"input": "x"}, metadata=StepMetadata(**meta)),
                  ToolResult(tool="echo", content="ok")]
    return Tape(steps=tuple(steps[:n]))


def ours_tape_io(tmp: Path, n: int) -> dict[str, Any]:
    tape = big_tape(n)
    path = tmp / f"io-{new_id()}.db"
    store = Store(path)
    start, cpu = time.perf_counter(), time.process_time()
    store.save_tape(tape)
    save_ms, save_cpu_ms = (time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3
    store.close()
    store = Store(path)  # a fresh connection, as a new process would have
    start, cpu = time.perf_counter(), time.process_time()
    loaded = store.load_tape(tape.id)
    load_ms, load_cpu_ms = (time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3
    assert len(loaded.steps) == n
    store.close()
    return {"save_ms": save_ms, "load_ms": load_ms, "save_cpu_ms": save_cpu_ms, "load_cpu_ms": load_cpu_ms}


def ours(tmp: Path, repeats: int, n: int) -> dict[str, float]:
    io = [ours_tape_io(tmp, n) for _ in range(repeats)]  # first, as on the TapeAgents side
    memory = min(ours_loop(None)["us_iter"] for _ in range(repeats))
    stored = min(ours_loop(tmp / f"loop-{new_id()}.db")["us_iter"] for _ in range(repeats))
    return {"memory_us": memory, "persisted_us": stored,
            **{key: min(r[key] for r in io) for key in ("load_ms", "save_ms", "load_cpu_ms", "save_cpu_ms")}}


def theirs(python: str, tmp: Path, repeats: int, n: int) -> dict[str, float]:
    out = subprocess.run([python, str(HERE / "tapeagents_side.py"), "--repeats", str(repeats), "--steps", str(n),
                          "--loops", str(LOOPS), "--tmp", str(tmp)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"TapeAgents side failed: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


ROWS = [("loop µs/iter, in memory", "memory_us"), ("loop µs/iter, persisted", "persisted_us"),
        ("10,000-step tape load ms", "load_ms"), ("10,000-step tape save ms", "save_ms"),
        ("  the same, CPU ms: load", "load_cpu_ms"), ("  the same, CPU ms: save", "save_cpu_ms")]


def report(rounds: list[dict[str, dict[str, float]]], load: str) -> str:
    lines = [f"Tape Studio vs TapeAgents · {os.cpu_count()} CPUs · load {load} · {len(rounds)} interleaved rounds"]
    has_theirs = "theirs" in rounds[0]
    header = f"  {'figure':<28}" + "".join(f"{'ours r' + str(i + 1):>12}" for i in range(len(rounds)))
    if has_theirs:
        header += "".join(f"{'TA r' + str(i + 1):>12}" for i in range(len(rounds))) + "   ratio ours/TA per round"
    lines.append(header)
    for label, key in ROWS:
        line = f"  {label:<28}" + "".join(f"{r['ours'][key]:>12,.1f}" for r in rounds)
        if has_theirs:
            line += "".join(f"{r['theirs'][key]:>12,.1f}" for r in rounds)
            line += "   " + " / ".join(f"{r['ours'][key] / r['theirs'][key]:.2f}x" for r in rounds)
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("figures:")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tapeagents", metavar="PYTHON", default=os.environ.get("TAPEAGENTS_PYTHON"),
                        help="python of a venv with tapeagents==0.1.16 installed (default: $TAPEAGENTS_PYTHON)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure in a round (best is kept)")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.tapeagents and not Path(args.tapeagents).exists():
        raise SystemExit(f"--tapeagents {args.tapeagents}: no such python; {MAKE_VENV}")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        ours_loop(None, loops=5)  # warm-up: imports, registries
        for _ in range(args.rounds):
            row = {"ours": ours(Path(tmp), args.repeats, args.steps)}
            if args.tapeagents:
                row["theirs"] = theirs(args.tapeagents, Path(tmp), args.repeats, args.steps)
            rounds.append(row)
    print(json.dumps(rounds, indent=2) if args.json else report(rounds, load))
    if not args.tapeagents and not args.json:
        print(f"(ours only: for the TapeAgents side, {MAKE_VENV}, then pass --tapeagents ~/ta-venv/bin/python)")


if __name__ == "__main__":
    sys.exit(main())
