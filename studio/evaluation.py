"""Helpers of the Data page's evaluation: run core/learning's `evaluate_agent` with the model saved in
Settings, then tabulate means and the per-example changes between two evaluations.

The forward tapes are ordinary stored tapes (tagged "eval" and the split) with their scores.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tape_studio.core.learning.report import EvalProgress, EvalReport, evaluate_agent
from tape_studio.core.settings import build_llm, load_settings
from tape_studio.core.workspace import Workspace

WORKERS = 4


def run_evaluation(
    ws: Workspace, spec_ref: str, dataset_ref: str, split: str, show: Callable[[EvalProgress], None] | None = None,
    poll_s: float = 0.25,
) -> EvalReport:
    """Runs and scores every example of the split on a worker pool, with the Settings page's model.

    The studio's workspace is shared by every browser session, so the model is set on a shallow
    copy (same store and cache) rather than on the shared one. The evaluation runs on a thread and
    `show` is called here, on the caller's thread, with the latest progress: Streamlit elements
    can only be updated from the script's own thread."""
    session = copy.copy(ws)
    session.llm = build_llm(load_settings(ws.store), ws.cache)
    latest: list[EvalProgress] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="eval") as runner:
        future = runner.submit(evaluate_agent, session, spec_ref, dataset_ref, split, WORKERS,
                               on_progress=latest.append)
        shown = 0
        while not future.done():
            if show is not None and len(latest) > shown:
                shown = len(latest)
                show(latest[-1])
            time.sleep(poll_s)
        report = future.result()
    if show is not None and latest:
        show(latest[-1])
    return report


def progress_text(progress: EvalProgress) -> str:
    return (f"{progress.done} of {progress.total} examples · running score {progress.score:.2f} · "
            f"{progress.calls} LLM calls")


def label(report: EvalReport) -> str:
    return f"{report.spec_id} · {report.dataset}/{report.split}"


def aggregate_rows(reports: list[EvalReport]) -> list[dict[str, object]]:
    """One row per evaluation: mean score, and how many examples scored 1 and 0."""
    return [{"evaluation": label(r), "metric": r.metric, "examples": len(r.examples), "mean": r.score,
             "solved": sum(e.score >= 1.0 for e in r.examples), "zero": sum(e.score <= 0.0 for e in r.examples),
             "llm_calls": r.usage.calls, "cost": r.usage.cost}
            for r in reports]


def change_rows(before: EvalReport, after: EvalReport) -> list[dict[str, object]]:
    """Per example scored by both: the two scores and whether `after` improved or regressed it.
    Regressions first, then improvements, then unchanged; each group by example id."""
    order = {"regressed": 0, "improved": 1, "same": 2}
    old = {e.id: e for e in before.examples}
    rows = []
    for new in after.examples:
        if new.id not in old:
            continue
        was = old[new.id]
        change = "improved" if new.score > was.score else "regressed" if new.score < was.score else "same"
        rows.append({"example": new.id, "change": change, "before": was.score, "after": new.score,
                     "delta": round(new.score - was.score, 4), "before_prediction": was.prediction,
                     "after_prediction": new.prediction, "before_tape": was.tape_id, "after_tape": new.tape_id})
    return sorted(rows, key=lambda row: (order[str(row["change"])], str(row["example"])))
