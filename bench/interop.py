"""Interop benchmark: TapeAgents import throughput and fine-tuning (SFT) export throughput.

A benchmark, not a test: it prints figures. Run with `python bench/interop.py [--tapes N] [--json]`.

figures:
  import     N TapeAgents-format tapes of 20 steps (one JSON list file, half the steps LLM-made with
             their calls in tapedata.sqlite beside it): Workspace.import_file = read + convert + link
             calls + one store transaction. Also the conversion alone (no store).
  sft        SFT export of N stored qa tapes (copies of a demo tape, 2 LLM-made groups each), rebuilt
             through the nodes (Agent.next_move + make_prompt + render + parse check); and of the N
             imported TapeAgents tapes (no spec here: from their recorded calls).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from tape_studio.core.demo import demo_files
from tape_studio.core.interop.exporting import TapeSelection, render_export
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.interop.tapeagents import read_tapeagents
from tape_studio.core.tape import new_id
from tape_studio.core.workspace import Workspace

STEPS = 20


def tapeagents_tape(n: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """One TapeAgents-shaped tape (user, then thought/action/observation rounds) and its calls."""
    steps: list[dict[str, Any]] = [{"metadata": {"id": f"t{n}-0", "prompt_id": "", "node": "", "agent": "", "other": {}},
                                    "kind": "user", "content": f"Question number {n}: what is {n} squared?"}]
    calls = []
    for i in range(1, STEPS):
        prompt_id = f"p{n}-{i // 3}" if i % 3 else ""
        kind = ("tool", "reasoning_thought", "search_action")[i % 3]
        body = {"content": f"result {i}"} if kind == "tool" else {"reasoning": f"step {i} of {n}"} \
            if kind == "reasoning_thought" else {"query": f"{n}**2"}
        steps.append({"metadata": {"id": f"t{n}-{i}", "prompt_id": prompt_id, "node": "act" if prompt_id else "",
                                   "agent": "agent" if prompt_id else "", "other": {}}, "kind": kind, **body})
        if prompt_id and i % 3 == 1:
            calls.append((prompt_id, f"call {prompt_id}"))
    meta = {"id": f"ta-{n}", "parent_id": None, "author": "agent", "author_tape_id": None, "n_added_steps": STEPS,
            "error": None, "result": {}}
    return {"metadata": meta, "context": None, "steps": steps}, calls


def write_tapeagents(folder: Path, count: int) -> Path:
    tapes, rows = [], []
    for n in range(count):
        tape, calls = tapeagents_tape(n)
        tapes.append(tape)
        rows += calls
    path = folder / "tapes.json"
    path.write_text(json.dumps(tapes))
    with sqlite3.connect(folder / "tapedata.sqlite") as conn:
        conn.execute("CREATE TABLE LLMCalls (prompt_id TEXT PRIMARY KEY, timestamp TEXT, prompt TEXT, output TEXT, "
                     "prompt_length_tokens INTEGER, output_length_tokens INTEGER, cached INTEGER, llm_info TEXT, cost REAL)")
        conn.executemany("INSERT INTO LLMCalls VALUES (?, '2024-05-01T00:00:00', ?, ?, 10, 5, 0, ?, 0.0)", [
            (pid, json.dumps({"id": pid, "tools": None, "messages": [{"role": "user", "content": text}]}),
             json.dumps({"role": "assistant", "content": text}), json.dumps({"model_name": "gpt-4o-mini"}))
            for pid, text in rows])
    return path


def copy_qa_tapes(ws: Workspace, count: int) -> list[str]:
    """Stores `count` copies of a demo qa tape (fresh ids), with its calls."""
    bundle = read_bundle(next(p for p in demo_files() if "capital-of-france" in p.name))
    tape = bundle.tapes[0]
    copies = []
    for _ in range(count):
        steps = tuple(s.model_copy(update={"metadata": s.metadata.model_copy(update={"id": new_id()})})
                      for s in tape.steps)
        copies.append(tape.model_copy(update={"steps": steps, "metadata": tape.metadata.model_copy(update={"id": new_id()})}))
    ws.store.save_tapes(copies, bundle.llm_calls)
    return [t.id for t in copies]


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def cpu_timed(fn: Any) -> tuple[Any, float, float]:
    """The result, wall seconds and this process's CPU seconds (steadier on a shared machine)."""
    cpu = time.process_time()
    result, wall = timed(fn)
    return result, wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tapes", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_tapeagents(folder, args.tapes)
        (_, fidelity), convert_s = timed(lambda: read_tapeagents(path))
        ws = Workspace(folder / "store.sqlite", model="fake/none")
        report, import_s, import_cpu_s = cpu_timed(lambda: ws.import_file(path))
        assert len(report.imported) == args.tapes and fidelity.dropped == []
        ids = copy_qa_tapes(ws, args.tapes)
        (_, sft), sft_s = timed(lambda: render_export(ws, TapeSelection(ids=ids), "sft"))
        (_, foreign), foreign_s = timed(lambda: render_export(ws, TapeSelection(tags=["tapeagents"]), "sft"))
    steps = args.tapes * STEPS
    figures = {
        "import_tapes_per_s": round(args.tapes / import_s), "import_steps_per_s": round(steps / import_s),
        "import_s": round(import_s, 3), "import_tapes_per_cpu_s": round(args.tapes / import_cpu_s),
        "convert_only_tapes_per_s": round(args.tapes / convert_s),
        "calls_linked": fidelity.llm_calls,
        "sft_node_tapes_per_s": round(args.tapes / sft_s), "sft_node_records_per_s": round(sft.records / sft_s),
        "sft_recorded_tapes_per_s": round(args.tapes / foreign_s),
        "sft_recorded_records_per_s": round(foreign.records / foreign_s),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"TapeAgents import, {args.tapes} tapes x {STEPS} steps ({fidelity.llm_calls} calls linked from tapedata.sqlite):")
    print(f"  import_file (read+convert+store): {figures['import_tapes_per_s']:>8,} tapes/s  "
          f"{figures['import_steps_per_s']:>9,} steps/s  ({import_s:.2f} s; "
          f"{figures['import_tapes_per_cpu_s']:,} tapes per CPU second)")
    print(f"  conversion alone:                 {figures['convert_only_tapes_per_s']:>8,} tapes/s")
    print(f"SFT export, {args.tapes} tapes:")
    print(f"  qa tapes rebuilt through nodes:   {figures['sft_node_tapes_per_s']:>8,} tapes/s  "
          f"{figures['sft_node_records_per_s']:>9,} records/s  ({sft.records} records, {sft_s:.2f} s)")
    print(f"  TapeAgents tapes from calls:      {figures['sft_recorded_tapes_per_s']:>8,} tapes/s  "
          f"{figures['sft_recorded_records_per_s']:>9,} records/s  ({foreign.records} records, {foreign_s:.2f} s)")


if __name__ == "__main__":
    main()
