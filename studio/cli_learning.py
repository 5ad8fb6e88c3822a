"""The `train` and `eval` subcommands of `tape-studio` (agent symbolic learning from a terminal)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.studio.terminal import clean

TRAIN_EXAMPLES = """\
examples:
  tape-studio train --agent qa --dataset qa --epochs 1 --batch 8 --optimizers demos   the recorded demo run
  tape-studio train --agent qa --dataset my_set/ --policy minibatch --optimizers prompt,tool,pipeline
  tape-studio train --resume RUN_ID                  continue after a crash, Ctrl+C or the budget
  tape-studio eval --agent qa@SPEC_ID --dataset qa --split test
"""


def add_learning_commands(sub: Any, common: argparse.ArgumentParser, llm: argparse.ArgumentParser) -> None:
    from tape_studio.core.learning.datasets import SPLITS
    from tape_studio.core.learning.gate import POLICIES
    from tape_studio.core.learning.metrics import metric_names

    # User metrics register when their source loads, after parsing: so the name is checked then.
    metrics_help = f"metric name: {', '.join(metric_names())}, or one registered by a loaded source"
    # Where batch work runs: a parent parser, so train and eval spell it the same way.
    batch = argparse.ArgumentParser(add_help=False)
    batch.add_argument("--executor", choices=("threads", "ray"), default="threads",
                       help="run forward passes and evaluations on threads (default) or Ray (tape-studio[ray])")
    batch.add_argument("--ray-address", help="join this Ray cluster (default: start Ray on this machine); "
                       "only this machine writes the store, so other nodes need no shared folder")
    p = sub.add_parser("train", parents=[common, llm, batch], help="train an agent's prompts, tools and graph on a dataset",
                       epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--agent", help="built-in agent, spec id or NAME@SPEC_ID to start from")
    p.add_argument("--dataset", help="a registered set (built-in: qa, writer; or one a loaded source registers), "
                   "a folder of train/val/test.jsonl, or a JSONL file")
    p.add_argument("--resume", metavar="RUN_ID", help="continue a stored run from its last committed step")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=8, help="minibatch size (default 8: a gate on fewer examples is mostly ties)")
    p.add_argument("--workers", type=int, default=2, help="threads for model calls")
    p.add_argument("--policy", choices=POLICIES, default="minibatch+val", help="gate policy (default minibatch+val)")
    p.add_argument("--optimizers", default="demos,prompt,tool",
                   help="comma list of demos (few-shot examples from successful turns), prompt, tool, pipeline")
    p.add_argument("--metric", help=f"override the dataset's metric ({metrics_help})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--optimizer-model", help="model for judge, backward and optimizers (default: the agent's)")
    p.add_argument("--max-llm-calls", type=int, help="budget: stop after this many model calls (cache hits free)")
    p.add_argument("--max-cost", type=float, help="budget: stop after spending this many dollars")
    p.add_argument("--no-test", action="store_true", help="skip the final test-split report")

    p = sub.add_parser("eval", parents=[common, llm, batch], help="score an agent version on a dataset split")
    p.add_argument("--agent", required=True, help="built-in agent, spec id or NAME@SPEC_ID")
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", choices=SPLITS, default="test")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--metric", help=f"override the dataset's metric ({metrics_help})")


def _workspace(args: argparse.Namespace) -> Any:
    from tape_studio.core.workspace import Workspace

    return Workspace(args.store, model=args.model, mode=args.llm_mode, agents=args.agents)


def _executor(args: argparse.Namespace) -> Any:
    from tape_studio.core.executor import ExecutorChoice

    if args.ray_address and args.executor != "ray":
        raise InputError("--ray-address needs --executor ray")
    return ExecutorChoice(kind=args.executor, address=args.ray_address)


def cmd_train(args: argparse.Namespace) -> int:
    from tape_studio.core.learning.meter import Budget
    from tape_studio.core.learning.trainer import Trainer

    ws = _workspace(args)
    bar = _ProgressBar(enabled=not args.json)
    trainer = Trainer(ws, on_progress=bar.update, executor=_executor(args))
    if args.resume:
        budget = Budget(max_llm_calls=args.max_llm_calls, max_cost=args.max_cost)
        run_id = args.resume
        run = trainer.run(run_id, budget if args.max_llm_calls or args.max_cost else None)
    else:
        run = trainer.run(trainer.start(_config(args)).id)
    bar.close()
    summary = run.summary or {}
    print(json.dumps(summary, indent=2) if args.json else _describe(summary))
    return 0 if run.status == "completed" else 1


def _config(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from tape_studio.core.learning.train_config import OPTIMIZERS, TrainConfig

    if not args.agent or not args.dataset:
        raise InputError("train needs --agent and --dataset (or --resume RUN_ID)")
    optimizers = tuple(name.strip() for name in args.optimizers.split(",") if name.strip())
    unknown = [name for name in optimizers if name not in OPTIMIZERS]
    if unknown or not optimizers:
        raise InputError(f"--optimizers: {unknown[0] if unknown else 'none given'!r} is not one of {', '.join(OPTIMIZERS)}")
    try:
        return TrainConfig(agent=args.agent, dataset=args.dataset, epochs=args.epochs, batch_size=args.batch,
                           workers=args.workers, policy=args.policy, optimizers=optimizers, metric=args.metric,
                           seed=args.seed, optimizer_model=args.optimizer_model, max_llm_calls=args.max_llm_calls,
                           max_cost=args.max_cost, evaluate_test=not args.no_test)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"--{str(first['loc'][0]).replace('_size', '').replace('_', '-')}: {first['msg']}") from None


def _describe(summary: dict[str, Any]) -> str:
    def score(value: Any) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [f"run {summary.get('run_id')}: {summary.get('status')}" + (f" ({summary['error']})" if summary.get("error") else "")]
    lines.append(f"  v0  {summary['v0']['spec_id']}  val {score(summary['v0']['val'])}")
    for epoch in summary.get("epochs", []):
        lines.append(f"  epoch {epoch['epoch']}: train {score(epoch['train'])} · val {score(epoch['val'])} · "
                     f"{epoch['accepted']} accepted, {epoch['rejected']} rejected · spec {epoch['spec_id']}")
    lines.append(f"  best {summary.get('best_spec_id')}  val {score(summary.get('best_val'))}")
    if summary.get("test"):
        lines.append(f"  test (reported only): v0 {score(summary['test']['v0'])} → best {score(summary['test']['best'])}")
    for change in summary.get("accepted_changes", []):
        lines.append(f"  accepted at epoch {change['epoch']} step {change['step']}: {', '.join(change['by'])} "
                     f"→ spec {change['spec_id']}")
    for split, found in (summary.get("v0_vs_best") or {}).items():
        lines.append(f"  v0 vs best on {split}: {found['a_score']:.2f} → {found['b_score']:.2f} ({found['delta']:+.2f}, "
                     f"90% CI {found['low']:+.2f} … {found['high']:+.2f}, n={found['n']})")
        for label in ("fixed", "broken"):
            if found[label]:
                lines.append(f"    {label} ({len(found[label])}): {', '.join(found[label][:12])}"
                             + (" …" if len(found[label]) > 12 else ""))
    lines.append(f"  {summary.get('llm_calls')} LLM calls ({summary.get('new_llm_calls')} new), "
                 f"{summary.get('tokens')} tokens, ${summary.get('cost', 0):.4f}")
    if summary.get("status") != "completed":
        lines.append(f"  resume with: tape-studio train --resume {summary.get('run_id')}")
    return clean("\n".join(lines), keep_newlines=True)


class _ProgressBar:
    """A tqdm bar on stderr over the run's units (steps and epoch ends), showing the phase."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.done = -1

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        if not sys.stderr.isatty():
            if progress.done != self.done:  # a log, not a redrawn bar: one line per finished unit
                print(f"[{progress.done}/{progress.total}] {progress.phase}", file=sys.stderr, flush=True)
                self.done = progress.done
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.total, file=sys.stderr, unit="unit", dynamic_ncols=True)
        self.bar.n = progress.done
        self.bar.set_description_str(progress.phase[:60])
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _EvalBar:
    """Examples done of the split, the running mean score and the LLM calls so far, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        text = f"score {progress.score:.2f} · {progress.calls} calls"
        if not sys.stderr.isatty():
            print(f"[{progress.done}/{progress.total}] {text}", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.total, file=sys.stderr, unit="example", dynamic_ncols=True)
        self.bar.n = progress.done
        self.bar.set_postfix_str(text)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_eval(args: argparse.Namespace) -> int:
    from tape_studio.core.learning.report import evaluate_agent

    bar = _EvalBar(enabled=not args.json)
    try:
        report = evaluate_agent(_workspace(args), args.agent, args.dataset, args.split, args.workers, args.metric,
                                executor=_executor(args), on_progress=bar.update)
    finally:
        bar.close()
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    print(f"{report.spec_id} on {report.dataset}/{report.split} ({report.metric}): {report.score:.3f}")
    for example in report.examples:
        print(f"  {example.score:.2f}  {clean(example.id):<14} {clean(repr(example.prediction[:50]))}  tape {example.tape_id}")
    return 0


LEARNING_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"train": cmd_train, "eval": cmd_eval}
