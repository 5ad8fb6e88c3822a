"""An experiment whose reruns run as Ray tasks gives the same report, forks and calls as on threads."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from experiment_helpers import fake_workspace, run_tapes

from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.experiments import Budget, Experiment, Selection, build_report, create_experiment, parse_rule
from tape_studio.core.experiments import run_experiment
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.workspace import Workspace

ray = pytest.importorskip("ray", reason="the Ray executor is optional: pip install 'tape-studio[ray]'")

FAKE = "experiments-ray"
SETUP = functools.partial(register_learning_fake, FAKE)
"""Ray tasks run in fresh processes, which must register the fake there too."""
QUESTIONS = ("What is the capital of France?", "What is 12 times 7?", "What is 9 plus 4?")
PATCH = {"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]}


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    """One local instance for the module: its worker processes (and their imports) are reused."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def planned(folder: Path, budget: Budget = Budget()) -> tuple[Workspace, str]:
    ws = fake_workspace(folder, name=FAKE)
    tapes = run_tapes(ws, QUESTIONS)
    experiment = Experiment(selection=Selection(ids=tuple(t.id for t in tapes)), rule=parse_rule(PATCH),
                            scorer="answer", workers=2, budget=budget)
    return ws, create_experiment(ws, experiment)[0].id


def outcome(ws: Workspace, experiment_id: str) -> list[tuple[object, ...]]:
    """Each row as the report gives it, and its fork's steps without what differs by construction (ids, clocks)."""
    rows = []
    for r in build_report(ws.store, experiment_id).rows:
        fork = ws.store.load_tape(r.fork_id) if r.fork_id else None
        steps = [(s.kind, s.summary(), s.metadata.node) for s in fork.steps] if fork else []
        rows.append((r.position, r.state, r.fork_at, r.original_score, r.fork_score, r.first_divergence,
                     r.llm_calls, r.new_llm_calls, fork.metadata.status if fork else None, steps,
                     len(ws.store.calls_for_tape(r.fork_id)) if r.fork_id else 0))
    return rows


def test_ray_and_threads_give_the_same_report(tmp_path: Path) -> None:
    results = {}
    for kind in ("threads", "ray"):
        ws, experiment_id = planned(tmp_path / kind)
        finished = run_experiment(ws, experiment_id, executor=ExecutorChoice(kind=kind, setup=SETUP))  # type: ignore[arg-type]
        aggregate = build_report(ws.store, experiment_id).aggregate
        results[kind] = (finished.status, outcome(ws, experiment_id),
                         (aggregate.delta.mean, aggregate.fixed, aggregate.broken, aggregate.unchanged))
    assert results["ray"] == results["threads"]
    status, rows, (mean, fixed, broken, same) = results["ray"]
    assert status == "completed" and [r[1] for r in rows] == ["done"] * 3
    assert fixed == 2 and mean > 0  # the calculator fixes both sums; the driver wrote each fork and its calls
    assert all(r[10] > 0 for r in rows)


def test_a_ray_experiment_stopped_by_its_budget_resumes_without_redoing_a_fork(tmp_path: Path) -> None:
    ws, experiment_id = planned(tmp_path, Budget(max_llm_calls=1))
    choice = ExecutorChoice(kind="ray", setup=SETUP)
    stopped = run_experiment(ws, experiment_id, executor=choice)
    assert stopped.status == "stopped" and "budget" in stopped.stop_reason
    first = {r.tape_id: r for r in build_report(ws.store, experiment_id).rows if r.state == "done"}
    assert 1 <= len(first) < 3
    finished = run_experiment(ws, experiment_id, executor=choice, budget=Budget())
    rows = build_report(ws.store, experiment_id).rows
    assert finished.status == "completed" and [r.state for r in rows] == ["done"] * 3
    assert all(first[r.tape_id] == r for r in rows if r.tape_id in first)  # finished rows were not redone
    assert len({r.fork_id for r in rows}) == 3


def test_a_ray_task_applies_every_to_the_steps_the_rerun_makes(tmp_path: Path) -> None:
    ws = fake_workspace(tmp_path, name=FAKE)
    france = run_tapes(ws, ("What is the capital of France?",))
    rule = {"match": {"tool": "lookup", "which": "every"}, "action": "substitute", "pattern": "Paris", "replacement": "Lyon"}
    experiment = Experiment(selection=Selection(ids=(france[0].id,)), rule=parse_rule(rule), scorer="answer")
    experiment_id = create_experiment(ws, experiment)[0].id
    run_experiment(ws, experiment_id, executor=ExecutorChoice(kind="ray", setup=SETUP))
    row = build_report(ws.store, experiment_id).rows[0]
    fork = ws.store.load_tape(row.fork_id)
    assert (row.state, fork.metadata.result, row.delta) == ("done", "Lyon", -1.0)
    assert "Lyon" in fork.steps[3].content  # the result the task's environment returned, edited there
