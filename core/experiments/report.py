"""An experiment's report: per tape (original vs fork, scores, cost, first divergence) and in
aggregate (mean delta with a paired bootstrap interval, fixed / broken / unchanged, extra cost)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tape_studio.core.experiments import records
from tape_studio.core.experiments.model import Experiment, TapeRun
from tape_studio.core.experiments.stats import Interval, paired_bootstrap
from tape_studio.core.store import Store


class Aggregate(BaseModel):
    """The effect over every tape that has both scores."""

    model_config = ConfigDict(frozen=True)

    selected: int
    scored: int
    skipped: int
    pending: int
    failed: int
    delta: Interval
    fixed: int
    """Tapes whose fork scores higher than the original."""
    broken: int
    unchanged: int
    extra_cost: float
    llm_calls: int
    new_llm_calls: int

    @property
    def cached_share(self) -> float:
        return 1 - self.new_llm_calls / self.llm_calls if self.llm_calls else 0.0


class ExperimentReport(BaseModel):
    """The experiment, its rows in selection order, and the aggregate."""

    model_config = ConfigDict(frozen=True)

    experiment: Experiment
    rows: list[TapeRun]
    aggregate: Aggregate

    def summary(self) -> str:
        """One paragraph for the CLI."""
        a, e = self.aggregate, self.experiment
        lines = [f"experiment {e.id}: {e.status}" + (f" ({e.stop_reason})" if e.stop_reason else "")]
        lines.append(f"  {a.selected} tapes selected: {a.scored} scored, {a.skipped} skipped (no match), "
                     f"{a.pending} pending, {a.failed} failed")
        if a.scored:
            lines.append(f"  mean delta {a.delta.mean:+.3f}, {a.delta.level:.0%} CI [{a.delta.low:+.3f}, {a.delta.high:+.3f}] "
                         f"(paired bootstrap over {a.delta.n} tapes)")
            lines.append(f"  fixed {a.fixed} · broken {a.broken} · unchanged {a.unchanged}")
        lines.append(f"  extra cost ${a.extra_cost:.4f}; {a.llm_calls} LLM calls, {a.new_llm_calls} new "
                     f"({a.cached_share:.0%} answered by the cache)")
        return "\n".join(lines)


def build_report(store: Store, experiment_id: str, resamples: int = 10_000) -> ExperimentReport:
    experiment = records.load_experiment(store, experiment_id)
    rows = records.load_rows(store, experiment_id)
    return ExperimentReport(experiment=experiment, rows=rows, aggregate=aggregate(rows, resamples))


def aggregate(rows: list[TapeRun], resamples: int = 10_000) -> Aggregate:
    deltas = [row.delta for row in rows if row.state == "done" and row.delta is not None]
    return Aggregate(
        selected=len(rows), scored=len(deltas), skipped=sum(r.state == "skipped" for r in rows),
        pending=sum(r.state == "pending" for r in rows), failed=sum(r.state == "failed" for r in rows),
        delta=paired_bootstrap(deltas, resamples=resamples), fixed=sum(d > 0 for d in deltas),
        broken=sum(d < 0 for d in deltas), unchanged=sum(d == 0 for d in deltas),
        extra_cost=round(sum(r.cost for r in rows), 6), llm_calls=sum(r.llm_calls for r in rows),
        new_llm_calls=sum(r.new_llm_calls for r in rows))
