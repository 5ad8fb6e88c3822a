"""Experiment throughput on threads: 200 qa tapes, a fake model answering after 200 ms, 2/4/8 workers.

    nice -n 10 .venv/bin/python bench/experiments.py [--tapes 200] [--latency 0.2] [--executor ray]

Prints tapes per second for each worker count, and the share of the experiment's calls the
cache answered: first for a fresh rule (every rerun call is new), then for the same rule run
again as a second experiment (every call is answered by the cache). Last, the demo tapes (those
of the demo bundles and of the recorded training runs) rerun with a rule that changes no prompt
(the final answer deleted, so the answer node is asked again): in replay mode, every call must
come from the cache or the original's recorded calls.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from pathlib import Path

from tape_studio.core.demo import load_demo_tapes
from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.experiments import (
    Experiment, Selection, build_report, create_experiment, parse_rule, preview_experiment, register_scorer,
    run_experiment,
)
from tape_studio.core.store import TapeFilter
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.tape import TapeMetadata
from tape_studio.core.workspace import Workspace

RULE = {"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tapes", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--executor", choices=("threads", "ray"), default="threads",
                        help="ray: a local instance with as many CPUs as workers (tasks start processes: slower to warm)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-experiments-"))
    for workers in (2, 4, 8):
        ws = Workspace(folder / f"w{workers}" / "store.sqlite", model=register_learning_fake(f"bench-{workers}",
                       latency_s=args.latency), mode="cached")
        # Ray tasks run in other processes: the fake is registered there first.
        executor = ExecutorChoice(kind=args.executor, setup=functools.partial(register_learning_fake, f"bench-{workers}",
                                  latency_s=args.latency))
        ids = _tapes(ws, args.tapes)
        for label in ("fresh", "again"):
            experiment = Experiment(selection=Selection(ids=tuple(ids)), rule=parse_rule(RULE), scorer="exact",
                                    workers=workers)
            experiment_id = create_experiment(ws, experiment)[0].id
            started = time.perf_counter()
            run_experiment(ws, experiment_id, executor=executor)
            elapsed = time.perf_counter() - started
            a = build_report(ws.store, experiment_id, resamples=1000).aggregate
            print(f"workers={workers} {label:<5} {a.scored} tapes in {elapsed:6.1f} s = {a.scored / elapsed:6.2f} tapes/s; "
                  f"{a.llm_calls} calls, {a.cached_share:.0%} answered by the cache", flush=True)
    _demo(folder / "demo")


@register_scorer(name="bench_answered")
def _answered(item: object) -> float:
    """Needs no model and no target: the bench counts calls, not quality."""
    return 1.0 if getattr(item, "answer", "") else 0.0


def _demo(folder: Path) -> None:
    ws = Workspace(folder / "store.sqlite", mode="replay")
    load_demo_tapes(ws.store, ws.cache)
    experiment = Experiment(selection=Selection(filter=TapeFilter(agent="qa", status="completed", limit=5000)),
                            rule=parse_rule({"match": {"kind": "final_answer"}, "action": "delete"}),
                            scorer="bench_answered", workers=2)
    experiment_id = create_experiment(ws, experiment)[0].id
    preview = preview_experiment(ws, experiment_id)
    run_experiment(ws, experiment_id)
    a = build_report(ws.store, experiment_id, resamples=1000).aggregate
    print(f"demo tapes  {preview.tapes} tapes: preview {preview.cached_calls} of {preview.calls} calls from the cache; "
          f"run {a.scored} scored, {a.failed} failed, {a.llm_calls} calls, {a.cached_share:.0%} answered by the cache",
          flush=True)


def _tapes(ws: Workspace, n: int) -> list[str]:
    """`n` finished qa tapes, written directly (plan → lookup → answer), as an earlier session left them."""
    from tape_studio.core.tape import FinalAnswer, StepMetadata, Tape, Task, Thought, ToolCall, ToolResult

    spec = ws.spec("qa")
    ws.store.save_spec(spec)
    ids = []
    tapes = []
    for k in range(n):
        plan = StepMetadata(node="plan", agent="qa")
        question = f"What is {k} times {k + 3}?"
        tape = Tape(metadata=TapeMetadata(agent="qa", author="qa", spec_id=spec.id, title=question, status="completed",
                                          result="unknown"),
                    context={"target": str(k * (k + 3))},
                    steps=(Task(text=question), Thought(text="Look it up.", metadata=plan),
                           ToolCall(tool="lookup", arguments={"query": question}, metadata=plan),
                           ToolResult(tool="lookup", content="Nothing found."),
                           FinalAnswer(text="unknown", metadata=StepMetadata(node="answer", agent="qa"))))
        tapes.append(tape)
        ids.append(tape.id)
    ws.store.save_tapes(tapes, [], [spec])
    return ids


if __name__ == "__main__":
    main()
