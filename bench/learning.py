"""Learning benchmark: LLM calls per update step against the formula, and epoch wall time per worker count.

A benchmark, not a test: it prints figures. Run with `python bench/learning.py [--quick]`.

1. Calls per update step, by role, for one step of the qa agent (N = 2 node visits: plan, answer) and
   of the writer agent (N = 2: draft, edit; no targets, so the loss is an LLM judge), minibatch b,
   every example failing so that every one is back-propagated. Formula (REFERENCE.md §4, aiwaves,
   prompt optimizer only): forward b·N + loss b + backward b·N + optimizer N; the gate's paired rerun
   adds b·N (plus b judge calls when the loss is a judge). qa scores with a metric: its loss costs
   no call. Our tool optimizer adds one call per step (and the pipeline optimizer one, if enabled).
   The demonstration optimizer calls no model to write its proposal; what it adds is exploration
   (the plan node's other tool tried on at most 2 failed training examples: <= 2·N calls) and, once
   per run, v0's forward pass over the train split, which the first epoch's steps then reuse.
2. Epoch wall time with 1, 2, 4 and 8 workers: qa, a 32-question train set in one minibatch of 32,
   a fake LLM with a fixed 200 ms latency. Target: speed-up >= 0.9·W. The critical path of a step is
   7 latencies (2 forward, 2 backward, 1 optimizers, 2 gate rerun), so the bound at W = 8 is ~7.8.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

from tape_studio.core.learning import records as rec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.meter import Usage
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.workspace import Workspace

_names = itertools.count()
COUNTRIES = ["France", "Germany", "Italy", "Spain", "Portugal", "Ireland", "Netherlands", "Belgium", "Switzerland",
             "Austria", "Poland", "Sweden", "Norway", "Denmark", "Finland", "Greece", "Russia", "Ukraine", "Turkey",
             "Japan", "China", "India", "Thailand", "Vietnam", "Egypt", "Nigeria", "Kenya", "Morocco", "Canada",
             "Brazil", "Argentina", "Chile", "Peru", "Colombia", "Mexico", "Australia"]
FAILING = {"plan": lambda m: '{"thought": "Look.", "tool": "lookup", "input": "nothing"}',
           "answer": lambda m: '{"answer": "unknown"}', "edit": lambda m: "Text."}
"""Every example fails, so every example is back-propagated (the worst case the formula describes);
the plan's lookups find nothing, so the plan is the node blamed and the demonstrations explore."""


def workspace(folder: Path, latency_s: float = 0.0) -> Workspace:
    model = register_learning_fake(f"bench-learning-{next(_names)}", FAILING, latency_s)
    return Workspace(folder / "store.sqlite", model=model, mode="cached")


def first_step_usage(agent: str, b: int, folder: Path, optimizers: tuple[str, ...]) -> tuple[dict[str, Usage], dict[str, Usage]]:
    """The usage of the run's baseline (epoch 0) and of its first update step."""
    ws = workspace(folder)
    config = TrainConfig(agent=agent, dataset=agent, epochs=1, batch_size=b, workers=4, evaluate_test=False,
                         optimizers=optimizers)  # type: ignore[arg-type]
    trainer = Trainer(ws)
    run = trainer.run(trainer.start(config).id)
    return rec.load_rows(ws.store, run.id, "epoch")[0].usage, rec.load_rows(ws.store, run.id, "step")[0].usage


def calls_table(b: int) -> None:
    n = 2
    print(f"1. LLM calls per update step (minibatch b = {b}, N = 2 node visits, every example failing)")
    print("   formula (aiwaves, prompt optimizer only): forward b·N + loss b + backward b·N + optimizer N + gate b·N")
    for optimizers in (("demos", "prompt", "tool"), ("demos",)):
        print(f"   --optimizers {','.join(optimizers)}")
        print(f"   {'agent':<7} {'role':<17} {'measured':>8} {'formula':>8}  term")
        for agent, judge in (("qa", False), ("writer", True)):
            with tempfile.TemporaryDirectory() as folder:
                baseline, usage = first_step_usage(agent, b, Path(folder), optimizers)
            prompt = "prompt" in optimizers
            expected = [
                ("forward", b * n, "b·N (0 measured: the steps reuse the bootstrap's tapes of v0)"),
                ("judge", b * 2 if judge else 0, "loss b" + (" + gate b" if judge else " (metric: 0)")),
                ("backward", b * n, "b·N"),
                ("prompt_optimizer", n, "N" + ("" if prompt else " (prompt optimizer off)")),
                ("tool_optimizer", 0, "ours: 1 per step with tools"),
                ("explore", 0, "ours, demos: other tools tried on <= 2 failed train examples x N"),
                ("gate", b * n, "paired rerun b·N")]
            for role, formula, term in expected:
                print(f"   {agent:<7} {role:<17} {usage.get(role, Usage()).calls:>8} {formula:>8}  {term}")
            measured = sum(u.calls for u in usage.values())
            print(f"   {agent:<7} {'total':<17} {measured:>8} {sum(f for _, f, _ in expected):>8}  "
                  f"{'<= formula' if measured <= sum(f for _, f, _ in expected) else 'ABOVE the formula'}")
            bootstrap = baseline.get("forward", Usage()).calls
            if bootstrap:
                print(f"   {agent:<7} {'(once per run)':<17} {bootstrap:>8} {'':>8}  demos: v0 forward over the train split"
                      " (the first epoch's forward passes, made ahead)")


def bench_dataset(folder: Path) -> Path:
    data = folder / "bench_set"
    data.mkdir()
    rows = [{"id": f"c{n}", "input": f"What is the capital of {c}?", "target": "x"} for n, c in enumerate(COUNTRIES)]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:32]))
    (data / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[32:]))
    return data


def epoch_seconds(workers: int, folder: Path) -> float:
    ws = workspace(folder, latency_s=0.2)
    config = TrainConfig(agent="qa", dataset=str(bench_dataset(folder)), epochs=1, batch_size=32, workers=workers,
                         evaluate_test=False)
    trainer = Trainer(ws)
    run = trainer.run(trainer.start(config).id)
    baseline, epoch = rec.load_rows(ws.store, run.id, "epoch")
    return (epoch.created_at - baseline.created_at).total_seconds()


def workers_table(counts: list[int]) -> None:
    print("2. Epoch wall time, qa, 32 train examples in one minibatch, fake LLM with 200 ms latency")
    print(f"   {'workers':>7} {'epoch s':>8} {'speed-up':>9} {'target':>7}")
    base = None
    for workers in counts:
        with tempfile.TemporaryDirectory() as folder:
            seconds = epoch_seconds(workers, Path(folder))
        base = base or seconds
        speedup = base / seconds
        verdict = "ok" if speedup >= 0.9 * workers else "MISSED"
        print(f"   {workers:>7} {seconds:>8.2f} {speedup:>8.2f}x {0.9 * workers:>6.1f}x {verdict}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="workers 1 and 2 only")
    args = parser.parse_args()
    start = time.perf_counter()
    calls_table(b=4)
    print()
    workers_table([1, 2] if args.quick else [1, 2, 4, 8])
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
