"""The trainer: epochs of minibatch update steps, committed one by one, resumable after a crash.

A run is a fixed plan of units: the baseline (epoch 0), each update step, each epoch's end, and
the final test report. Each unit commits one row; resume skips committed units and redoes the
one that was cut off, whose LLM calls the cache now answers for free and whose forward tapes
are found by their ids. Validation picks the best version; the test split is only reported.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tape_studio.core.executor import ExecutorChoice, open_executor
from tape_studio.core.leases import holding, run_subject
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.compare import Comparison, compare_versions
from tape_studio.core.learning.context import Context, TrainingStopped
from tape_studio.core.learning.datasets import Dataset, Example, load_dataset
from tape_studio.core.learning.evaluate import evaluate, mean
from tape_studio.core.learning.guards import length_cap, text_length
from tape_studio.core.learning.meter import Budget, BudgetExceeded, Meter, combine
from tape_studio.core.learning.records import RecordTape, RunStatus, StepRow, TrainingRun
from tape_studio.core.learning.step import update_step
from tape_studio.core.learning.summary import summarize
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.llm import LLM
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store
from tape_studio.core.tape import new_id
from tape_studio.core.workspace import Workspace


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for progress bars: units done of the plan, and the current phase."""

    run_id: str
    done: int
    total: int
    phase: str


@dataclass(frozen=True)
class Unit:
    kind: str  # "baseline" | "step" | "epoch" | "final"
    epoch: int = 0
    step: int = 0


@dataclass
class State:
    """What the committed rows say: the current version and the validation scores known so far."""

    current: AgentSpec
    val: dict[str, float] = field(default_factory=dict)
    rows: list[StepRow] = field(default_factory=list)


def minibatches(examples: Sequence[Example], size: int, seed: int, epoch: int) -> list[tuple[Example, ...]]:
    """The epoch's minibatches: a seeded shuffle, so a resumed run sees the very same batches."""
    order = list(examples)
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [tuple(order[i:i + size]) for i in range(0, len(order), size)]


def plan(config: TrainConfig, n_train: int) -> list[Unit]:
    steps = -(-n_train // config.batch_size)
    units = [Unit("baseline")]
    for epoch in range(1, config.epochs + 1):
        units += [Unit("step", epoch, step) for step in range(steps)] + [Unit("epoch", epoch)]
    return units + [Unit("final")]


class Trainer:
    """Runs training for a workspace; progress goes to `on_progress`, stop requests come from `should_stop`."""

    def __init__(
        self, ws: Workspace, on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None, llm: LLM | None = None,
        executor: ExecutorChoice | None = None,
    ) -> None:
        self.ws = ws
        self.llm = llm or ws.llm
        """Whose model (for new runs) and LLM mode the run uses; the workspace's by default."""
        self.executor = executor or ExecutorChoice()
        """Where forward passes and evaluations run; other stages stay on the run's thread pool."""
        self.on_progress = on_progress
        self.should_stop = should_stop

    def start(self, config: TrainConfig) -> TrainingRun:
        """Records a new run (nothing is trained yet): checks the agent and dataset first."""
        spec = self.ws.spec(config.agent)
        dataset = load_dataset(config.dataset, config.metric)
        dataset.split("train")
        config = config.model_copy(update={"model": config.model or self.llm.model})
        self.ws.store.save_spec(spec)
        run = TrainingRun(id=new_id(), agent=spec.name, dataset=dataset.name, config=config, spec_id=spec.id,
                          current_spec_id=spec.id, best_spec_id=spec.id)
        rec.save_run(self.ws.store, run)
        return run

    def run(self, run_id: str, budget: Budget | None = None) -> TrainingRun:
        """Runs (or resumes) `run_id` to its end, a stop request, or its budget (`budget` replaces it).
        It holds the run's lease: a second runner of the same run gets LeaseHeld, nothing else."""
        with holding(self.ws.store, run_subject(run_id)):
            return self._run(run_id, budget)

    def _run(self, run_id: str, budget: Budget | None) -> TrainingRun:
        run = rec.load_run(self.ws.store, run_id)
        if run.status == "completed":
            return run
        if budget is not None:
            run = run.model_copy(update={"config": run.config.model_copy(update=budget.model_dump())})
        config = run.config
        dataset = load_dataset(config.dataset, config.metric)
        rows = rec.load_rows(self.ws.store, run_id)
        state = _state(self.ws, run, rows)
        meter = Meter(Budget(max_llm_calls=config.max_llm_calls, max_cost=config.max_cost),
                      start=combine(*(row.usage for row in rows)))
        run = run.model_copy(update={"status": "running", "error": ""})
        rec.save_run(self.ws.store, run)
        pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="train")
        batch = open_executor(self.executor, config.workers) if self.executor.kind != "threads" else None
        try:
            ctx = self._context(run, dataset, meter, pool)
            ctx.executor = batch
            return _Runner(self, ctx, run, dataset, state, meter).run_all()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if batch is not None:
                batch.close()

    def _context(self, run: TrainingRun, dataset: Dataset, meter: Meter, pool: ThreadPoolExecutor) -> Context:
        config = run.config
        llm = LLM(model=config.model or None, mode=self.llm.mode, cache=self.ws.cache)
        v0 = self.ws.store.load_spec(run.spec_id)
        caps = {node.name: length_cap(text_length(node.prompt), config.max_growth) for node in v0.nodes}
        return Context(store=self.ws.store, llm=llm, meter=meter, run_id=run.id, metric=dataset.metric, pool=pool,
                       optimizer_model=config.optimizer_model, train_examples=dataset.split("train"),
                       length_caps=caps, token_cap=config.token_cap, skip_solved=config.skip_solved,
                       tape_tags=(rec.RECORD_TAG,),
                       should_stop=self.should_stop)


def run_comparisons(store: Store, run: TrainingRun, dataset: Dataset) -> list[Comparison]:
    """v0 against the best version on each split both were scored on (validation; test when reported)."""
    found = []
    for split in ("val", "test"):
        if split in dataset.splits:
            ids = [e.id for e in dataset.split(split)]
            comparison = compare_versions(store, run.id, run.spec_id, run.best_spec_id, split, ids)
            if comparison is not None:
                found.append(comparison)
    return found


def _state(ws: Workspace, run: TrainingRun, rows: list[StepRow]) -> State:
    state = State(current=ws.store.load_spec(rows[-1].spec_id if rows else run.spec_id), rows=list(rows))
    for row in rows:
        if row.val_score is not None:
            state.val[row.spec_id] = row.val_score
        if row.val_candidate is not None and row.candidate_spec_id:
            state.val[row.candidate_spec_id] = row.val_candidate
    return state


class _Runner:
    """One process's pass over a run's remaining units."""

    def __init__(self, trainer: Trainer, ctx: Context, run: TrainingRun, dataset: Dataset, state: State,
                 meter: Meter) -> None:
        self.trainer, self.ctx, self.run, self.dataset, self.state, self.meter = trainer, ctx, run, dataset, state, meter
        self.store = ctx.store
        self.units = plan(run.config, len(dataset.split("train")))
        self.done = {(r.kind, r.epoch, r.step) for r in state.rows}
        self.number = 0
        """Index of the unit in progress, for progress reports."""
        ctx.on_phase = self._phase

    def run_all(self) -> TrainingRun:
        try:
            for number, unit in enumerate(self.units):
                self.number = number
                if unit.kind == "final":
                    return self._final()
                key = ("epoch" if unit.kind in ("baseline", "epoch") else "step", unit.epoch, unit.step)
                if key not in self.done:
                    self._unit(unit)
            return self.run
        except (BudgetExceeded, TrainingStopped) as exc:
            return self._end("stopped", str(exc))
        except BaseException as exc:
            # A crash (or Ctrl+C) is recorded; the committed rows are intact and the run resumes.
            self._end("failed" if isinstance(exc, Exception) else "stopped", f"{type(exc).__name__}: {exc}")
            raise

    def _unit(self, unit: Unit) -> None:
        before = self.meter.snapshot()
        if unit.kind == "baseline":
            row = self._epoch_row(0)
        elif unit.kind == "epoch":
            row = self._epoch_row(unit.epoch)
        else:
            row = self._step(unit)
        val = row.val_score if row.val_score is not None else self.state.val.get(row.spec_id)
        row = row.model_copy(update={"usage": self.meter.since(before), "val_score": val})
        self.state.rows.append(row)
        self.state.current = self.store.load_spec(row.spec_id)
        best = self._best()
        self.run = self.run.model_copy(update={"current_spec_id": row.spec_id, "best_spec_id": best})
        rec.commit_row(self.store, self.run, row)

    def _step(self, unit: Unit) -> StepRow:
        config = self.run.config
        batches = minibatches(self.dataset.split("train"), config.batch_size, config.seed, unit.epoch)
        tape_id = rec.record_tape_id(self.run.id, unit.epoch, unit.step)
        if self.store.has_tape(tape_id):
            self.store.delete_tape(tape_id)  # records of a step cut off before its commit: redo them
        records = RecordTape(tape_id, self.run.id, f"training {self.run.id[:8]} · epoch {unit.epoch} · step "
                             f"{unit.step + 1}", {"epoch": unit.epoch, "step": unit.step, "spec_id": self.state.current.id})
        row = StepRow(kind="step", epoch=unit.epoch, step=unit.step, spec_id=self.state.current.id)
        result = update_step(self.ctx, self.state.current, batches[unit.step], config.optimizers, config.policy,
                             self._val_score, records, row)
        records.context["forward_tape_ids"] = list(result.row.forward_tape_ids)  # the tapes these records read
        self.store.save_tape(records.tape(), records.calls)
        return result.row

    def _epoch_row(self, epoch: int) -> StepRow:
        self.ctx.checkpoint(f"epoch {epoch} · validation" if epoch else "baseline · validation")
        spec = self.state.current
        val = self._val_score(spec)
        steps = [r for r in self.state.rows if r.kind == "step" and r.epoch == epoch]
        train = [r.train_score for r in steps if r.train_score is not None]
        if epoch == 0 and "demos" in self.run.config.optimizers:
            train = [self._bootstrap(spec)]
        return StepRow(kind="epoch", epoch=epoch, spec_id=spec.id, val_score=val,
                       train_score=mean(train) if train else None,
                       accepted=sum(r.accepted for r in steps), rejected=sum(r.rejected for r in steps))

    def _bootstrap(self, spec: AgentSpec) -> float:
        """The first version's forward pass over the whole train split, so that the first step
        already has successful turns to take demonstrations from (bootstrapped demonstrations).
        Steps that run while this version is still current reuse these very tapes: no call is made twice."""
        self.ctx.checkpoint("baseline · forward over train (demonstrations)")
        return evaluate(self.ctx, spec, self.dataset.split("train"), "train", "forward")[0].mean

    def _val_score(self, spec: AgentSpec) -> float | None:
        if "val" not in self.dataset.splits:
            return None
        if spec.id not in self.state.val:
            evaluation, _ = evaluate(self.ctx, spec, self.dataset.split("val"), "val", "eval")
            self.state.val[spec.id] = evaluation.mean
        return self.state.val[spec.id]

    def _best(self) -> str:
        """The adopted version with the highest validation score; ties keep the earlier (simpler) one."""
        adopted = [self.run.spec_id] + [r.spec_id for r in self.state.rows]
        scored = [spec_id for spec_id in dict.fromkeys(adopted) if spec_id in self.state.val]
        if not scored:
            return self.state.current.id
        return max(scored, key=lambda spec_id: (self.state.val[spec_id], -scored.index(spec_id)))

    def _final(self) -> TrainingRun:
        test: dict[str, float] | None = None
        if self.run.config.evaluate_test and "test" in self.dataset.splits:
            self.ctx.checkpoint("test (reported, never used to choose)")
            test = {}
            for label, spec_id in (("v0", self.run.spec_id), ("best", self.run.best_spec_id)):
                spec = self.store.load_spec(spec_id)
                test[label] = evaluate(self.ctx, spec, self.dataset.split("test"), "test", "eval")[0].mean
        self.run = self.run.model_copy(update={"status": "completed", "phase": "done"})
        rows = rec.load_rows(self.store, self.run.id)
        comparisons = run_comparisons(self.store, self.run, self.dataset)
        self.run = self.run.model_copy(update={"summary": summarize(self.run, rows, test, self.meter.snapshot(),
                                                                    comparisons)})
        rec.save_run(self.store, self.run)
        self._report("done")
        return self.run

    def _end(self, status: RunStatus, error: str) -> TrainingRun:
        self.run = self.run.model_copy(update={"status": status, "error": error})
        rows = rec.load_rows(self.store, self.run.id)
        self.run = self.run.model_copy(update={"summary": summarize(self.run, rows, None, self.meter.snapshot())})
        rec.save_run(self.store, self.run)
        return self.run

    def _phase(self, phase: str) -> None:
        rec.set_phase(self.store, self.run.id, phase)
        self._report(phase)

    def _report(self, phase: str) -> None:
        if self.trainer.on_progress is not None:
            self.trainer.on_progress(Progress(self.run.id, self.number, len(self.units) - 1, phase))

