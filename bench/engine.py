"""Engine benchmark: framework overhead per step, tape round trips, durable appends, embedded model speed.

A benchmark, not a test: it prints figures (a table, or JSON with --json). Run with
`python bench/engine.py [--quick] [--json]`; `--help` explains each figure and its target.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.errors import ConfigError
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.llm import LLM, Prompt
from tape_studio.core.loop import RunEnded, StepAdded, run
from tape_studio.core.tools import Tool
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, Task, Thought, ToolCall, ToolResult, new_id

FIGURES = """figures:
  1. overhead µs/step   loop.run() cost per step added, zero-latency fake LLM (fake/bench), one
                        choose_tool node looping on itself, prompt = {task} only (size does not grow).
                        Measured at tape lengths 10 / 1,000 / 10,000, without and with a Store.
                        Target: flat in tape length. 'litellm µs/call' is LLM.complete() on the fake
                        alone: the part of a visit that is litellm. 'start ms' is run() start-up
                        (for a Store: saving the tape it resumes) up to its first step.
                        'cProfile' lines: core/ functions (or C calls they make, e.g. sqlite execute)
                        whose own time per iteration grows most from the shortest to the longest tape,
                        profiled with a Store: the suspects when overhead is not flat.
  2. round trip ms      10,000-step tape: to_json()+Tape.from_json(); Store.save_tape+load_tape; file size.
  3. appends/s          Store.append_step, one transaction each (WAL, synchronous=NORMAL). Target >= 2,000/s.
  4. tokens/s           embedded model (local/smollm2), same prompt, max_tokens 64, temperature 0: raw
                        xllamacpp server vs LLM(...).complete(); best of 3 after a warm-up.
                        Target: LLM layer within 10% of raw. Skipped if the model is not installed."""

RESPONSE = '{"thought": "t", "tool": "echo", "input": "x"}'


# --- 1. overhead per step -----------------------------------------------------------------------


def make_agent() -> tuple[Agent, Environment]:
    model = register_fake("bench", lambda messages, params: RESPONSE)
    node = NodeSpec(name="act", type="choose_tool", tools=("echo",),
                    prompt=PromptComponents(instruction="Call echo.", input_template="{task}"))
    spec = AgentSpec(name="bench", nodes=(node,), edges=(Edge(source="act", target="act"),), entry="act",
                     max_iterations=10**9)
    echo = Tool.from_function(_echo, name="echo", description="returns ok")
    agent = Agent(spec, LLM(model=model, mode="live", cache=None), tools={"echo": echo})
    return agent, Environment({"echo": echo})


def _echo(input: str) -> str:  # noqa: A002  (the argument name the node's compact form fills)
    return "ok"


def build_tape(n: int, agent: str) -> Tape:
    """A Task, then Thought/ToolCall/ToolResult groups stamped as the agent and environment would."""
    steps: list[Any] = [Task(text="bench task")]
    while len(steps) < n:
        meta = {"node": "act", "agent": agent, "prompt_id": new_id()}
        steps += [Thought(text="t", metadata=StepMetadata(**meta)),
                  ToolCall(tool="echo", arguments={"input": "x"}, metadata=StepMetadata(**meta)),
                  ToolResult(tool="echo", content="ok")]
    return Tape(steps=tuple(steps[:n]))


def time_run(agent: Agent, env: Environment, tape: Tape, store: Store | None, iterations: int,
             profiler: cProfile.Profile | None = None) -> dict[str, Any]:
    """Times one run(); steady state (and the optional profile) spans the first step event to the last."""
    start = time.perf_counter()
    stamps: list[float] = []
    ended: RunEnded | None = None
    for event in run(agent, env, tape, store=store, max_iterations=iterations):
        if isinstance(event, StepAdded):
            stamps.append(time.perf_counter())
            if profiler is not None and len(stamps) == 1:
                profiler.enable()
        elif isinstance(event, RunEnded):
            ended = event
            if profiler is not None:
                profiler.disable()
    assert ended is not None and ended.reason == "paused", ended
    steps = len(stamps)
    window = stamps[-1] - stamps[0]
    return {"tape": ended.tape, "start_ms": (stamps[0] - start) * 1e3,
            "us_step": window / (steps - 1) * 1e6, "us_iter": window / (steps - 1) * steps / iterations * 1e6}


def loop_overhead(lengths: list[int], iterations: int, stores: list[Store | None],
                  repeats: int) -> list[dict[str, Any]]:
    """Best of `repeats` runs per (length, store); rounds are interleaved so machine load hits all alike."""
    agent, env = make_agent()
    tapes = {}
    for n in lengths:
        for i, store in enumerate(stores):
            tape = build_tape(n, agent.name)
            if store is not None:
                store.save_tape(tape)
            tapes[n, i] = time_run(agent, env, tape, store, 10)["tape"]  # warm-up: frame scan, caches
    runs: dict[tuple[int, int], list[dict[str, Any]]] = {key: [] for key in tapes}
    for _ in range(repeats):
        for (n, i), tape in tapes.items():  # each run continues the tape the previous one ended with
            runs[n, i].append(time_run(agent, env, tape, stores[i], iterations))
            tapes[n, i] = runs[n, i][-1]["tape"]
    return [{"length": n, "store": stores[i] is not None,
             "us_step": min(r["us_step"] for r in rs), "us_iter": min(r["us_iter"] for r in rs),
             "start_ms": min(r["start_ms"] for r in rs)} for (n, i), rs in runs.items()]


def litellm_us_per_call(calls: int, repeats: int = 3) -> float:
    agent, _ = make_agent()
    prompt = Prompt(messages=[{"role": "user", "content": "bench task"}])
    agent.llm.complete(prompt)
    batches = [timed(lambda: [agent.llm.complete(prompt) for _ in range(calls)])[0] for _ in range(repeats)]
    return min(batches) / calls * 1e3


def own_times(stats: dict[Any, Any], iterations: int) -> dict[str, float]:
    """µs/iteration spent in core/ functions themselves, and in C calls (sqlite, copies) made by them."""
    times: dict[str, float] = {}
    for (file, line, name), (_, _, own, _, callers) in stats.items():
        if "/core/" in file:
            times[f"{Path(file).name}:{line}:{name}"] = own / iterations * 1e6
        elif file == "~":  # a builtin: charge it to each core/ function that called it
            for (cfile, cline, cname), (_, _, tt, _) in callers.items():
                if "/core/" in cfile:
                    short = name.split("'")[1] if name.startswith("<method") else name
                    times[f"{short}() in {Path(cfile).name}:{cline}:{cname}"] = tt / iterations * 1e6
    return times


def profile_growth(small: int, large: int, iterations: int, tmp: Path, top: int = 3) -> list[dict[str, Any]]:
    """What grows most per iteration from the small to the large tape (steady state, with a Store)."""
    store = Store(tmp / "profile.db")

    def per_function(n: int) -> dict[str, float]:
        agent, env = make_agent()
        tape = build_tape(n, agent.name)
        store.save_tape(tape)
        tape = time_run(agent, env, tape, store, 10)["tape"]
        profiler = cProfile.Profile()
        time_run(agent, env, tape, store, iterations, profiler)
        return own_times(pstats.Stats(profiler).stats, iterations)  # type: ignore[attr-defined]
    a, b = per_function(small), per_function(large)
    growth = sorted(((b[k] - a.get(k, 0.0), k) for k in b), reverse=True)[:top]
    return [{"function": k, "us_small": round(a.get(k, 0.0), 1), "us_large": round(b[k], 1)} for _, k in growth]


# --- 2. round trips, 3. appends ------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1e3, value


def round_trip(n: int, tmp: Path) -> dict[str, Any]:
    tape = build_tape(n, "bench")
    dump_ms, text = timed(tape.to_json)
    load_ms, back = timed(lambda: Tape.from_json(text))
    assert back == tape
    store = Store(tmp / "roundtrip.db")
    save_ms, _ = timed(lambda: store.save_tape(tape))
    read_ms, loaded = timed(lambda: store.load_tape(tape.id))
    assert len(loaded.steps) == n
    store.close()
    size = sum(p.stat().st_size for p in tmp.glob("roundtrip.db*"))
    return {"steps": n, "json_dump_ms": dump_ms, "json_load_ms": load_ms, "json_bytes": len(text),
            "store_save_ms": save_ms, "store_load_ms": read_ms, "db_bytes": size}


def appends_per_second(n: int, tmp: Path) -> dict[str, Any]:
    store = Store(tmp / "appends.db")
    tape = Tape()
    store.save_tape(tape)
    steps = build_tape(n, "bench").steps
    seconds, _ = timed(lambda: [store.append_step(tape.id, i, step) for i, step in enumerate(steps)])
    store.close()
    return {"appends": n, "per_second": n / (seconds / 1e3)}


# --- 4. embedded model ---------------------------------------------------------------------------


def model_tokens_per_second(runs: int = 3) -> dict[str, Any]:
    from tape_studio.core.local_model import local_model, model_path
    try:
        model_path()
    except ConfigError as exc:
        return {"skipped": str(exc)}
    messages = [{"role": "user", "content": "Write three sentences about the sea."}]
    raw_request = {"messages": messages, "max_tokens": 64, "temperature": 0.0, "seed": 0}
    llm = LLM(model="local/smollm2", mode="live", cache=None)

    def raw() -> int:
        return int(local_model().chat(dict(raw_request))["usage"]["completion_tokens"])

    def layered() -> int:
        call = llm.complete(Prompt(messages=messages), params={"max_tokens": 64})
        assert not call.error, call.error
        return call.completion_tokens

    raw(), layered()  # warm-up: model load, litellm import
    rates: dict[Callable[[], int], list[tuple[float, int]]] = {raw: [], layered: []}
    for _ in range(runs):  # interleaved, so a busy moment on the machine hurts both paths alike
        for fn in (raw, layered):
            ms, tokens = timed(fn)
            rates[fn].append((tokens / (ms / 1e3), tokens))
    (raw_tps, raw_tokens), (llm_tps, llm_tokens) = max(rates[raw]), max(rates[layered])
    return {"raw_tps": raw_tps, "llm_tps": llm_tps, "ratio": llm_tps / raw_tps,
            "raw_tokens": raw_tokens, "llm_tokens": llm_tokens}


# --- output --------------------------------------------------------------------------------------


def table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[f"{c:,.1f}" if isinstance(c, float) else f"{c:,}" if isinstance(c, int) else str(c)
                          for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title] + ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    parts = [f"Tape Studio engine bench · {m['platform']} · {m['cpus']} CPUs · load {m['load']} · "
             f"Python {m['python']}" + (" · quick" if m["quick"] else "")]
    rows = [[f"{a['length']:,}", a["us_step"], a["us_iter"], a["start_ms"], b["us_step"], b["us_iter"], b["start_ms"]]
            for a, b in zip(r["overhead"]["memory"], r["overhead"]["store"])]
    parts.append(table(f"1. loop overhead, fake LLM ({r['overhead']['iterations']} iterations; target: flat)",
                       ["tape length", "µs/step", "µs/iter", "start ms",
                        "+Store µs/step", "+Store µs/iter", "+Store start ms"], rows))
    g = r["overhead"]["growth"]
    parts.append(f"  litellm path alone (LLM.complete on fake): {r['overhead']['litellm_us_call']:,.1f} µs/call"
                 f"\n  µs/step growth, shortest → longest tape: {g['memory']:.2f}x in memory, "
                 f"{g['store']:.2f}x with Store"
                 f" ({'flat' if r['overhead']['flat'] else 'NOT FLAT'}: target < 1.20x)")
    parts[-1] += "".join(f"\n  cProfile (with Store), grows most: {p['function']}  {p['us_small']:,} → "
                         f"{p['us_large']:,} µs/iter" for p in r["overhead"]["profile"])
    t = r["round_trip"]
    parts.append(table(f"2. round trip of a {t['steps']:,}-step tape", ["what", "write ms", "read ms", "size KiB"], [
        ["to_json / from_json", t["json_dump_ms"], t["json_load_ms"], t["json_bytes"] // 1024],
        ["Store save / load", t["store_save_ms"], t["store_load_ms"], t["db_bytes"] // 1024]]))
    a = r["appends"]
    parts.append(f"3. durable appends: {a['per_second']:,.0f}/s over {a['appends']:,} (target >= 2,000/s: "
                 f"{'ok' if a['per_second'] >= 2000 else 'MISSED'})")
    e = r["model"]
    if "skipped" in e:
        parts.append(f"4. embedded model: skipped ({e['skipped']})")
    else:
        parts.append(table("4. embedded model tokens/s (best of 3, max_tokens 64)", ["path", "tokens/s", "tokens"], [
            ["raw xllamacpp", e["raw_tps"], e["raw_tokens"]], ["LLM.complete", e["llm_tps"], e["llm_tokens"]]]))
        parts.append(f"  ratio LLM/raw {e['ratio']:.2f} (target >= 0.90: {'ok' if e['ratio'] >= 0.9 else 'MISSED'})")
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=FIGURES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (lengths 10/100/1,000, fewer iterations)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    args = parser.parse_args(argv)
    lengths, iterations, repeats = ([10, 100, 1_000], 60, 3) if args.quick else ([10, 1_000, 10_000], 200, 5)
    big, appends = (1_000, 500) if args.quick else (10_000, 5_000)
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                           "platform": platform.platform(terse=True), "quick": args.quick,
                                           "load": " ".join(f"{x:.1f}" for x in os.getloadavg())}}
    with tempfile.TemporaryDirectory() as tmp:
        rows = loop_overhead(lengths, iterations, [None, Store(Path(tmp) / "loop.db")], repeats)
        memory, stored = [r for r in rows if not r["store"]], [r for r in rows if r["store"]]
        growth = {"memory": memory[-1]["us_step"] / memory[0]["us_step"],
                  "store": stored[-1]["us_step"] / stored[0]["us_step"]}
        overhead = {"iterations": iterations, "memory": memory, "store": stored, "growth": growth,
                    "flat": max(growth.values()) < 1.2, "litellm_us_call": litellm_us_per_call(iterations)}
        overhead["profile"] = profile_growth(lengths[0], lengths[-1], iterations, Path(tmp))
        results["overhead"] = overhead
        results["round_trip"] = round_trip(big, Path(tmp))
        results["appends"] = appends_per_second(appends, Path(tmp))
    results["model"] = model_tokens_per_second()
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    sys.exit(main())
