"""Scale benchmark: a store of 100,000 tapes, durable appends from 1 and 2 processes, and evaluation
throughput on threads versus Ray, on one node and on a multi-node cluster.

A benchmark, not a test: it prints figures. Run with `python bench/scale.py [--quick] [--json]`, or
only some of it: `--sections eval --executors threads,cluster --workers 4,8`.
- store: size on disk of 100,000 tapes (4 steps each) and the time of the studio's list/filter queries;
- appends: committed steps per second (one transaction each, WAL) with 1 and 2 writer processes;
- eval: examples per second over 200 examples with a fake model of fixed 200 ms latency (the qa agent
  makes 2 calls per example), on 2, 4 and 8 workers: threads; a local Ray instance (`ray`); and a
  multi-node Ray cluster on this machine (`cluster`: a CPU-less head node for the driver, which alone
  writes the store, and `--nodes` worker nodes). Ray's time includes starting its worker processes,
  which import litellm: that is what a user waits for; the cluster's own start is printed apart.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.report import evaluate_agent
from tape_studio.core.llm import _load_litellm
from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult
from tape_studio.core.workspace import Workspace

FAKE = "bench-scale"
LATENCY_S = 0.2


def timed(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Best of `repeat` runs, in milliseconds: the query's cost without the machine's noise."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best * 1000


def make_tape(n: int) -> Tape:
    meta = StepMetadata(node="plan", agent="qa")
    status = ("completed", "failed", "running")[n % 3]
    return Tape(metadata=TapeMetadata(agent=("qa", "writer")[n % 2], title=f"question number {n}", status=status),
                steps=(Task(text=f"What is {n} plus 1?"), Thought(text="Calculate.", metadata=meta),
                       ToolCall(tool="calculator", arguments={"expression": f"{n}+1"}, metadata=meta),
                       ToolResult(tool="calculator", content=str(n + 1))))


def bench_store(folder: Path, n_tapes: int) -> dict[str, Any]:
    store = Store(folder / "many.sqlite")
    started = time.perf_counter()
    for first in range(0, n_tapes, 2000):
        store.save_tapes([make_tape(n) for n in range(first, min(first + 2000, n_tapes))])
    built_s = time.perf_counter() - started
    store.query("PRAGMA wal_checkpoint(TRUNCATE)")
    size = sum(path.stat().st_size for path in folder.glob("many.sqlite*"))
    middle = store.list_tapes(TapeFilter(limit=1, offset=n_tapes // 2))[0].id
    queries = {
        "list first page (100)": lambda: store.list_tapes(),
        f"list a page at offset {n_tapes // 2:,}": lambda: store.list_tapes(TapeFilter(offset=n_tapes // 2)),
        "count all": lambda: store.count_tapes(),
        "filter agent+status": lambda: store.list_tapes(TapeFilter(agent="qa", status="failed")),
        "count agent+status": lambda: store.count_tapes(TapeFilter(agent="qa", status="failed")),
        "text search (title or step)": lambda: store.list_tapes(TapeFilter(text="number 9999")),
        "load one tape": lambda: store.load_tape(middle),
    }
    return {"tapes": n_tapes, "build_s": round(built_s, 1), "size_mib": round(size / 2**20, 1),
            "bytes_per_tape": round(size / n_tapes), "query_ms": {k: round(timed(q), 2) for k, q in queries.items()}}


def _append_worker(path: str, tape_id: str, n_steps: int, start: Any) -> None:
    store = Store(path)
    tape = Tape(metadata=TapeMetadata(id=tape_id, agent="qa"), steps=(Task(text="appends"),))
    store.save_tape(tape)
    meta = StepMetadata(node="plan", agent="qa")
    start.wait()
    for index in range(1, n_steps + 1):
        store.append_step(tape_id, index, Thought(text=f"step {index} " * 10, metadata=meta))


def bench_appends(folder: Path, n_steps: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    context = multiprocessing.get_context("spawn")
    for writers in (1, 2):
        path = str(folder / f"appends{writers}.sqlite")
        Store(path).close()
        start = context.Event()
        processes = [context.Process(target=_append_worker, args=(path, f"w{w}", n_steps, start))
                     for w in range(writers)]
        for process in processes:
            process.start()
        time.sleep(3)  # let both import and open the store before the clock starts
        started = time.perf_counter()
        start.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        results[f"{writers} writer(s)"] = {"steps": n_steps * writers, "steps_per_s": round(n_steps * writers / elapsed)}
    return results


def bench_eval(folder: Path, n_examples: int, worker_counts: tuple[int, ...], kinds: tuple[str, ...],
               nodes: int) -> dict[str, Any]:
    dataset = folder / "questions.jsonl"
    questions = [json.loads(line) for line in (Path(__file__).parents[1] / "core/learning/data/qa/train.jsonl")
                 .read_text().splitlines() if line.strip()]
    dataset.write_text("".join(json.dumps({**questions[n % len(questions)], "id": f"q{n}"}) + "\n"
                               for n in range(n_examples)))
    model = register_learning_fake(FAKE, latency_s=LATENCY_S)
    setup = functools.partial(register_learning_fake, FAKE, latency_s=LATENCY_S)
    _load_litellm()  # its import (seconds) is paid once here, not by the first timed cell
    results: dict[str, Any] = {}
    for kind in kinds:
        cluster = _start_cluster(nodes, max(worker_counts), results) if kind == "cluster" else None
        try:
            for workers in worker_counts:
                # A fresh store per cell and live mode: every call waits its 200 ms, none comes from a cache.
                ws = Workspace(folder / f"eval-{kind}-{workers}" / "store.sqlite", model=model, mode="live")
                choice = ExecutorChoice(kind="threads" if kind == "threads" else "ray", setup=setup,
                                        address=cluster.address if cluster else None)
                started = time.perf_counter()
                report = evaluate_agent(ws, "qa", str(dataset), split="train", workers=workers, executor=choice)
                elapsed = time.perf_counter() - started
                results[f"{kind} x{workers}"] = {"seconds": round(elapsed, 1),
                                                 "examples_per_s": round(n_examples / elapsed, 2),
                                                 "calls": report.usage.calls, "score": report.score}
        finally:
            if cluster is not None:
                import ray

                ray.shutdown()
                cluster.shutdown()
    return results


def _start_cluster(nodes: int, workers: int, results: dict[str, Any]) -> Any:
    """A head node with no CPUs (the driver's: it writes the store, runs no task) and `nodes` worker
    nodes sharing `workers` CPUs, all on this machine; connects this process to it."""
    import ray
    from ray.cluster_utils import Cluster

    started = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(nodes):
        cluster.add_node(num_cpus=-(-workers // nodes), wait=False)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
    results["cluster start"] = {"nodes": nodes, "cpus_per_node": -(-workers // nodes),
                                "seconds": round(time.perf_counter() - started, 1)}
    return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sections", default="store,appends,eval", help="comma list of store, appends, eval")
    parser.add_argument("--executors", default="threads,ray,cluster", help="comma list of threads, ray, cluster")
    parser.add_argument("--workers", default="2,4,8", help="comma list of worker counts")
    parser.add_argument("--nodes", type=int, default=2, help="worker nodes of the cluster (default 2)")
    args = parser.parse_args()
    n_tapes, n_steps, n_examples = (5_000, 500, 20) if args.quick else (100_000, 2_000, 200)
    sections = set(args.sections.split(","))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    figures: dict[str, Any] = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
                                          f"load {load:.1f} at start"}
    with tempfile.TemporaryDirectory(prefix="tape-studio-scale-") as tmp:
        folder = Path(tmp)
        if "store" in sections:
            figures["store"] = bench_store(folder, n_tapes)
        if "appends" in sections:
            figures["appends"] = bench_appends(folder, n_steps)
        if "eval" in sections:
            kinds = tuple(kind for kind in args.executors.split(",") if kind)
            try:
                if set(kinds) - {"threads"}:
                    import ray  # noqa: F401
            except ImportError:
                figures["eval"] = "skipped: Ray is not installed (pip install 'tape-studio[ray]')"
            else:
                workers = tuple(int(n) for n in args.workers.split(","))
                figures["eval"] = bench_eval(folder, n_examples, workers, kinds, args.nodes)
    print(json.dumps(figures, indent=2) if args.json else render(figures))


def render(figures: dict[str, Any]) -> str:
    lines = [f"machine: {figures['machine']}"]
    if "store" in figures:
        store = figures["store"]
        lines += ["", (f"store: {store['tapes']:,} tapes × 4 steps, built in {store['build_s']} s, "
                       f"{store['size_mib']} MiB on disk ({store['bytes_per_tape']} bytes/tape)")]
        lines += [f"  {name:<32} {ms:>9.2f} ms" for name, ms in store["query_ms"].items()]
    if "appends" in figures:
        lines += ["", "durable appends (one transaction per step, WAL, synchronous=NORMAL):"]
        lines += [f"  {name:<12} {cell['steps']:>6} steps  {cell['steps_per_s']:>7} steps/s"
                  for name, cell in figures["appends"].items()]
    if "eval" in figures:
        lines += ["", f"evaluation, fake model {LATENCY_S * 1000:.0f} ms per call, qa agent (2 calls per example):"]
        if isinstance(figures["eval"], str):
            lines.append(f"  {figures['eval']}")
        for name, cell in (figures["eval"].items() if isinstance(figures["eval"], dict) else ()):
            if name == "cluster start":
                lines.append(f"  cluster: {cell['nodes']} worker nodes × {cell['cpus_per_node']} CPUs and a head "
                             f"node, started in {cell['seconds']} s (not counted below)")
                continue
            lines.append(f"  {name:<12} {cell['seconds']:>6.1f} s  {cell['examples_per_s']:>6.2f} examples/s  "
                         f"({cell['calls']} calls, score {cell['score']})")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
