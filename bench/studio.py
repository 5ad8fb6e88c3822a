"""Studio benchmark: server-side render time of the Tape page by tape length and of the Browse page
by store size, and the time of Browse's filter queries.

A benchmark, not a test: it prints figures (a table, or JSON with --json).
Run with `python bench/studio.py [--quick] [--tape-only] [--json]`; `--help` explains each figure and its target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import (
    FinalAnswer,
    StepMetadata,
    Tape,
    TapeMetadata,
    Task,
    Thought,
    ToolCall,
    ToolResult,
)

FIGURES = """figures:
  1. Tape page ms      AppTest run of pages/tape.py (the whole script: store reads, drawing, the
                       element tree) on one tape of 100 / 1,000 / 10,000 steps, cursor in the middle.
                       'first' is the first run in the process (imports, cold SQLite pages), then
                       the median and max of the following runs. Target: < 1,000 ms and flat in length.
  2. Browse page ms    AppTest run of pages/browse.py with 1,000 / 10,000 tapes (5 steps each) in the
                       store: no filter, and a text search. Same columns as above.
  3. filter query ms   count_tapes + list_tapes (one page of 50) for each filter, median of 5, with
                       10,000 tapes. Target: < 200 ms each."""

WORDS = ["Paris", "Lyon", "Madrid", "Rome", "Berlin", "Tokyo", "Lima", "Oslo", "Cairo", "Quito"]


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def long_tape(n: int) -> tuple[Tape, list[LLMCall]]:
    """Thought/tool call/tool result groups, each pair of agent steps linked to one LLM call."""
    steps: list[Any] = [Task(text="bench task")]
    calls: list[LLMCall] = []
    while len(steps) < n:
        call = LLMCall(model="fake/bench", messages=[{"role": "user", "content": f"step {len(steps)}"}],
                       output='{"tool": "echo"}', prompt_tokens=20, completion_tokens=5)
        calls.append(call)
        meta = {"node": "act", "agent": "bench", "prompt_id": call.prompt_id}
        steps += [Thought(text=f"thinking {len(steps)}", metadata=StepMetadata(**meta)),
                  ToolCall(tool="echo", arguments={"input": "x"}, metadata=StepMetadata(**meta)),
                  ToolResult(tool="echo", content="ok")]
    return Tape(metadata=TapeMetadata(agent="bench", title=f"{n} steps", status="completed"),
                steps=tuple(steps[:n])), calls


def many_tapes(n: int) -> list[Tape]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    tapes = []
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        failed = i % 7 == 0
        tapes.append(Tape(
            metadata=TapeMetadata(agent=("qa", "writer", "explainer")[i % 3], title=f"question {i} about {word}",
                                  status="failed" if failed else "completed", created_at=start + timedelta(minutes=i)),
            steps=(Task(text=f"What about {word} number {i}?"), Thought(text=f"I will look up {word}."),
                   ToolCall(tool="lookup", arguments={"query": word}),
                   ToolResult(tool="lookup", content=f"{word}: a city, entry {i}."), FinalAnswer(text=word)),
        ))
    return tapes


def page_times(page: str, query: dict[str, str], state: dict[str, Any], runs: int) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest

    times = []
    for _ in range(runs + 1):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
        for key, value in query.items():
            at.query_params[key] = value
        for key, value in state.items():
            at.session_state[key] = value
        times.append(timed(at.run))
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].value}")
    rest = times[1:]
    return {"first_ms": times[0], "median_ms": statistics.median(rest), "max_ms": max(rest)}


def use_store(path: Path) -> Store:
    import streamlit

    os.environ["TAPE_STUDIO_STORE"] = str(path)
    streamlit.cache_resource.clear()
    return Store(path)


def tape_page(lengths: list[int], runs: int, tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for n in lengths:
        store = use_store(tmp / f"tape-{n}.sqlite")
        tape, calls = long_tape(n)
        store.save_tape(tape, calls)
        figures = page_times("tape.py", {"tape": tape.id}, {"tape_id": tape.id, "tape_cursor": n // 2}, runs)
        rows.append({"steps": n, **figures})
    return rows


def browse_page(sizes: list[int], runs: int, tmp: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pages, queries = [], []
    for n in sizes:
        store = use_store(tmp / f"browse-{n}.sqlite")
        store.save_tapes(many_tapes(n))
        pages.append({"tapes": n, "view": "no filter", **page_times("browse.py", {}, {}, runs)})
        pages.append({"tapes": n, "view": "search 'Madrid'", **page_times("browse.py", {}, {"browse_text": "Madrid"}, runs)})
        if n == max(sizes):
            queries = filter_queries(store, n)
    return pages, queries


def filter_queries(store: Store, n: int) -> list[dict[str, Any]]:
    middle = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=n // 2)
    filters = {
        "none": TapeFilter(),
        "text, common ('look up')": TapeFilter(text="look up"),
        "text, rare ('entry 4242.')": TapeFilter(text="entry 4242."),
        "text, 2 chars ('Li')": TapeFilter(text="Li"),
        "agent + status": TapeFilter(agent="qa", status="failed"),
        "has error": TapeFilter(has_error=True),
        "score range": TapeFilter(min_score=0.2, max_score=0.8),
        "created after": TapeFilter(created_after=middle),
        "all at once": TapeFilter(text="Madrid", agent="writer", status="completed", has_error=False,
                                  created_after=datetime(2025, 1, 1, tzinfo=UTC)),
    }
    rows = []
    for name, where in filters.items():
        page = where.model_copy(update={"limit": 50})
        times = [timed(lambda page=page: (store.count_tapes(page), store.list_tapes(page))) for _ in range(5)]
        rows.append({"tapes": n, "filter": name, "matches": store.count_tapes(page),
                     "median_ms": statistics.median(times), "max_ms": max(times)})
    return rows


def table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[f"{v:,.1f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v) for v in row]
             for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [title, "  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def tape_verdict(rows: list[dict[str, Any]]) -> str:
    """One line on the longest tape measured against the 1 s target."""
    longest = max(rows, key=lambda r: r["steps"])
    verdict = "within" if longest["max_ms"] < 1000 else "OVER"
    return (f"Tape page at {longest['steps']:,} steps: median {longest['median_ms']:,.0f} ms, max "
            f"{longest['max_ms']:,.0f} ms of server time ({verdict} the 1,000 ms target)")


def report(results: dict[str, Any]) -> str:
    tape = [table("1. Tape page (AppTest run, ms)", ["steps", "first", "median", "max"],
                  [[r["steps"], r["first_ms"], r["median_ms"], r["max_ms"]] for r in results["tape_page"]]),
            tape_verdict(results["tape_page"])]
    if "browse_page" not in results:
        return "\n\n".join(tape) + f"\n\n{results['machine']}"
    parts = [
        *tape,
        table("2. Browse page (AppTest run, ms)", ["tapes", "view", "first", "median", "max"],
              [[r["tapes"], r["view"], r["first_ms"], r["median_ms"], r["max_ms"]] for r in results["browse_page"]]),
        table(f"3. Browse filter query (count + one page of 50, ms, {results['filter_queries'][0]['tapes']:,} tapes)",
              ["filter", "matches", "median", "max"],
              [[r["filter"], r["matches"], r["median_ms"], r["max_ms"]] for r in results["filter_queries"]]),
    ]
    return "\n\n".join(parts) + f"\n\n{results['machine']}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=FIGURES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs (a smoke check)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--tape-only", action="store_true", help="only figure 1, the Tape page (a minute, not ten)")
    args = parser.parse_args(argv)
    lengths, sizes, runs = ([100, 1_000], [1_000], 2) if args.quick else ([100, 1_000, 10_000], [1_000, 10_000], 5)
    with tempfile.TemporaryDirectory(prefix="tape-bench-studio-") as folder:
        tmp = Path(folder)
        os.environ["TAPE_STUDIO_HOME"] = str(tmp)
        results: dict[str, Any] = {"tape_page": tape_page(lengths, runs, tmp)}
        if not args.tape_only:
            results["browse_page"], results["filter_queries"] = browse_page(sizes, runs, tmp)
        results["machine"] = (f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, SQLite "
                              f"{__import__('sqlite3').sqlite_version}")
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    main()
