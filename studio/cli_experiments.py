"""The `experiment` subcommand of `tape-studio`: one edit rule across many tapes, rerun and scored.

    tape-studio experiment run --select agent=qa --rule RULE --scorer answer
    tape-studio experiment show ID | list | export ID --out F | import F
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from tape_studio.core.errors import InputError
from tape_studio.studio.terminal import clean

EXAMPLES = """\
rules (JSON, or @FILE holding it):
  {"match": {"kind": "tool_result", "tool": "lookup"}, "action": "override_result", "result": "..."}
  {"match": {"kind": "thought", "which": "first"}, "action": "delete"}
  {"match": {"text": "capital"}, "action": "substitute", "pattern": "capital", "replacement": "largest city"}
  {"match": {"kind": "tool_call"}, "action": "replace_fields", "fields": {"tool": "calculator"}}
  {"match": {"node": "answer"}, "action": "insert_before", "step": {"kind": "thought", "text": "Check the text."}}
  {"node": "plan", "rules": ["Prefer the calculator for arithmetic."]}          a spec patch for the rerun
  {"tool": "lookup", "tool_description": "Look up a whole article."}
  match keys: kind, node, tool, text (a regex on the step summary), which (first | every)

selections (--select KEY=VALUE, repeatable, combined):
  ids=ID1,ID2   eval=RUN_ID (the tapes of an evaluation)   agent=qa  status=failed  text=capital
  min_score=0.5  max_score=0.5  limit=200

examples:
  tape-studio experiment run --select agent=qa --rule @rule.json --scorer judge --preview
  tape-studio experiment run --select eval=eval-1a2b --dataset qa --rule @rule.json --max-llm-calls 200
  tape-studio experiment run --resume exp-1a2b3c4d5e        continue after Ctrl+C, a kill or the budget
  tape-studio experiment show exp-1a2b3c4d5e --json
  tape-studio export --format dpo --tag experiment:exp-1a2b3c4d5e --out pairs.jsonl
"""
_FILTER_KEYS = ("agent", "status", "text", "min_score", "max_score", "limit")


def add_experiment_commands(sub: Any, common: argparse.ArgumentParser, llm: argparse.ArgumentParser) -> None:
    p = sub.add_parser("experiment", help="what-if experiments: one edit rule across many tapes, rerun and scored",
                       description="Apply one edit rule at the matching step of many tapes, fork and rerun each, "
                       "score both sides and report the effect with a paired bootstrap interval.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="experiment_command", metavar="ACTION", required=True)
    run = actions.add_parser("run", parents=[common, llm], help="plan, preview and run an experiment (or resume one)",
                             epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--select", action="append", default=[], metavar="KEY=VALUE", help="which tapes (see below)")
    run.add_argument("--rule", help="the edit rule as JSON, or @FILE")
    run.add_argument("--scorer", default="auto", help="judge, a metric (answer, exact, f1, numeric, yours) or a "
                     "registered scorer; auto (default): the dataset's metric with --dataset, else the judge")
    run.add_argument("--dataset", help="targets for the tapes' example ids (a built-in set, folder or JSONL file)")
    run.add_argument("--title", default="")
    run.add_argument("--workers", type=int, default=2, help="tapes rerun at once (default 2)")
    run.add_argument("--executor", choices=("threads", "ray"), default="threads",
                     help="rerun the forks on threads (default) or as Ray tasks (tape-studio[ray])")
    run.add_argument("--ray-address", help="join this Ray cluster (default: start Ray on this machine); "
                     "only this machine writes the store, so other nodes need no shared folder")
    run.add_argument("--max-llm-calls", type=int, help="budget: stop after this many new model calls (cache hits free)")
    run.add_argument("--max-cost", type=float, help="budget: stop after spending this many dollars")
    run.add_argument("--preview", action="store_true", help="plan and print the cost preview only; run later with --resume")
    run.add_argument("--resume", metavar="ID", help="continue a stored experiment's pending tapes")
    show = actions.add_parser("show", parents=[common], help="an experiment's report, tape by tape")
    show.add_argument("experiment_id")
    listing = actions.add_parser("list", parents=[common], help="stored experiments, newest first")
    listing.add_argument("--limit", type=int, default=50)
    export = actions.add_parser("export", parents=[common], help="write experiments with their tapes, forks and calls")
    export.add_argument("experiment_ids", nargs="+")
    export.add_argument("--out", required=True, type=Path)
    imp = actions.add_parser("import", parents=[common], help="read an experiment file (its tapes and experiments)")
    imp.add_argument("path", type=Path)


def cmd_experiment(args: argparse.Namespace) -> int:
    return _ACTIONS[args.experiment_command](args)


def _workspace(args: argparse.Namespace) -> Any:
    from tape_studio.core.workspace import Workspace

    return Workspace(args.store, model=getattr(args, "model", None), mode=getattr(args, "llm_mode", None),
                     agents=args.agents)


def _run(args: argparse.Namespace) -> int:
    from tape_studio.core.experiments import create_experiment, preview_experiment, run_experiment

    executor = _executor(args)  # a bad choice is refused before anything is stored
    ws = _workspace(args)
    if args.resume:
        if args.rule or args.select:
            raise InputError("--resume continues a stored experiment: give no --rule or --select with it")
        _rebudget(ws, args)
        experiment_id = args.resume
    else:
        experiment, _ = create_experiment(ws, _experiment(args))
        experiment_id = experiment.id
    preview = preview_experiment(ws, experiment_id)
    if not args.json or args.preview:
        _print_preview(experiment_id, preview, to=sys.stdout if args.preview else sys.stderr, as_json=args.json)
    if args.preview:
        if not args.json:
            print(f"run it with: tape-studio experiment run --resume {experiment_id}")
        return 0
    bar = _Progress(enabled=not args.json)
    run_experiment(ws, experiment_id, executor=executor, on_progress=bar.update)
    bar.close()
    return _show_report(ws, experiment_id, args.json)


def _executor(args: argparse.Namespace) -> Any:
    from tape_studio.core.executor import ExecutorChoice

    if args.ray_address and args.executor != "ray":
        raise InputError("--ray-address needs --executor ray")
    return ExecutorChoice(kind=args.executor, address=args.ray_address)


def _rebudget(ws: Any, args: argparse.Namespace) -> None:
    """A resumed experiment keeps its budget unless new limits are given (each run counts its own calls)."""
    from tape_studio.core.experiments import Budget
    from tape_studio.core.experiments.records import load_experiment, save_experiment

    experiment = load_experiment(ws.store, args.resume)
    if args.max_llm_calls is not None or args.max_cost is not None:
        budget = Budget(max_llm_calls=args.max_llm_calls, max_cost=args.max_cost)
        save_experiment(ws.store, experiment.model_copy(update={"budget": budget}))


def _experiment(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from tape_studio.core.experiments import Budget, Experiment, parse_rule

    if not args.rule:
        raise InputError("experiment run needs --rule (JSON or @FILE) and --select, or --resume ID")
    rule = parse_rule(_json_or_file("--rule", args.rule))
    try:
        return Experiment(selection=_selection(args.select), rule=rule, scorer=args.scorer, dataset=args.dataset,
                          title=args.title, workers=args.workers,
                          budget=Budget(max_llm_calls=args.max_llm_calls, max_cost=args.max_cost))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"--{'-'.join(str(p) for p in first['loc'][-1:]).replace('_', '-')}: {first['msg']}") from None


def _selection(items: list[str]) -> Any:
    from pydantic import ValidationError

    from tape_studio.core.experiments import Selection
    from tape_studio.core.store import TapeFilter
    from tape_studio.core.tape import TapeStatus

    if not items:
        raise InputError("--select: give at least one, e.g. --select agent=qa or --select ids=ID1,ID2")
    ids: list[str] = []
    run: str | None = None
    filters: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not value:
            raise InputError(f"--select {item!r}: expected KEY=VALUE")
        if key == "ids":
            ids += [part.strip() for part in value.split(",") if part.strip()]
        elif key == "eval":
            run = value
        elif key in _FILTER_KEYS:
            if key == "status" and value not in get_args(TapeStatus):
                raise InputError(f"--select status={value!r}: one of {', '.join(get_args(TapeStatus))}")
            filters[key] = value
        else:
            raise InputError(f"--select {key!r}: not one of ids, eval, {', '.join(_FILTER_KEYS)}")
    try:
        where = TapeFilter(**filters) if filters else None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"--select {first['loc'][0]}: {first['msg']}") from None
    return Selection(ids=tuple(ids), eval_run=run, filter=where)


def _json_or_file(flag: str, text: str) -> Any:
    if text.startswith("@"):
        from tape_studio.core.files import read_json

        return read_json(Path(text[1:]).expanduser())
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{flag}: invalid JSON at column {exc.colno}: {exc.msg} (or give @FILE)") from None


def _print_preview(experiment_id: str, preview: Any, to: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"experiment_id": experiment_id, **preview.model_dump(),
                          "cached_share": round(preview.cached_share, 4)}, indent=2), file=to)
        return
    more = "" if preview.exact else " (at least; calls after a new answer are estimated)"
    print(f"experiment {experiment_id}: {preview.tapes} tapes to rerun, {preview.skipped} skipped (no match); "
          f"{preview.calls} LLM calls expected{more}, {preview.cached_calls} from the cache "
          f"({preview.cached_share:.0%}), {preview.new_calls} new, ${preview.cost:.4f}"
          + (f"; of these {preview.judge_calls} by the judge ({preview.judge_cached} from the cache)"
             if preview.judge_calls else "")
          + (f"; {preview.unknown} tapes not previewable" if preview.unknown else ""), file=to, flush=True)


def _show_report(ws: Any, experiment_id: str, as_json: bool) -> int:
    from tape_studio.core.experiments import build_report

    report = build_report(ws.store, experiment_id)
    if as_json:
        data = report.model_dump(mode="json")
        for row, source in zip(data["rows"], report.rows, strict=True):
            row["delta"] = source.delta
        print(json.dumps(data, indent=2))
        return 0 if report.experiment.status == "completed" else 1
    print(clean(report.summary(), keep_newlines=True))
    for row in report.rows:
        if row.state == "skipped":
            print(f"  skipped  {row.tape_id}  {clean(row.reason)}")
        elif row.state == "done":
            print(f"  {row.delta:+.2f}   {row.tape_id} → {row.fork_id}  {row.original_score:.2f} → {row.fork_score:.2f}  "
                  f"diverges at step {row.first_divergence}  ${row.cost:.4f}")
        else:
            print(f"  {row.state:<8} {row.tape_id}" + (f"  {clean(row.reason)}" if row.reason else ""))
    if report.experiment.status != "completed":
        print(f"resume with: tape-studio experiment run --resume {experiment_id}")
    return 0 if report.experiment.status == "completed" else 1


def _show(args: argparse.Namespace) -> int:
    _show_report(_workspace(args), args.experiment_id, args.json)
    return 0


def _list(args: argparse.Namespace) -> int:
    from tape_studio.core.experiments.records import list_experiments
    from tape_studio.core.experiments.report import build_report

    ws = _workspace(args)
    found = list_experiments(ws.store, args.limit)
    rows = []
    for experiment in found:
        a = build_report(ws.store, experiment.id, resamples=2000).aggregate
        rows.append({"id": experiment.id, "title": experiment.title, "status": experiment.status,
                     "created_at": experiment.created_at.isoformat(), "selected": a.selected, "scored": a.scored,
                     "skipped": a.skipped, "mean_delta": a.delta.mean, "ci": [a.delta.low, a.delta.high]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no experiments yet; start one with: tape-studio experiment run --select agent=qa --rule @rule.json")
    for row in rows:
        print(f"{row['id']}  {row['status']:<9} {row['scored']:>4}/{row['selected']} scored  "
              f"delta {row['mean_delta']:+.3f} [{row['ci'][0]:+.3f}, {row['ci'][1]:+.3f}]  {clean(row['title'][:50])}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from tape_studio.core.experiments.bundle import export_experiments

    export_experiments(_workspace(args), args.experiment_ids, args.out)
    print(json.dumps({"out": str(args.out), "experiments": args.experiment_ids}) if args.json
          else f"wrote {clean(args.out)}: {len(args.experiment_ids)} experiments with their tapes and forks")
    return 0


def _import(args: argparse.Namespace) -> int:
    from tape_studio.core.experiments.bundle import import_experiments

    report, added = import_experiments(_workspace(args), args.path)
    if args.json:
        print(json.dumps({"tapes": report.imported, "experiments": added}, indent=2))
    else:
        print(f"{clean(args.path)}: imported {len(report.imported)} tapes and {len(added)} experiments")
    return 0


class _Progress:
    """A tqdm bar on stderr (one line per tape when stderr is not a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.bar = enabled, None

    def update(self, progress: Any) -> None:
        if not self.enabled:
            return
        if not sys.stderr.isatty():
            print(f"[{progress.done}/{progress.total}] {progress.tape_id} {progress.state}", file=sys.stderr, flush=True)
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=progress.total, initial=progress.done - 1, file=sys.stderr, unit="tape")
        self.bar.n = progress.done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


_ACTIONS: dict[str, Callable[[argparse.Namespace], int]] = {"run": _run, "show": _show, "list": _list,
                                                            "export": _export, "import": _import}
EXPERIMENT_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"experiment": cmd_experiment}
