"""The `tape-studio` command: alone it opens the studio; subcommands run, fork and move tapes.

Every subcommand takes `--json` for machine-readable output and `--store PATH`. Bad input ends
with a non-zero exit status and one line saying what and where.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sqlite3
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, get_args

from tape_studio.core.config import LLM_MODES
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.files import MAX_INPUT_BYTES, check_text
from tape_studio.core.interop.exporting import EXPORT_FORMATS
from tape_studio.core.loop import Event, RunEnded, StepAdded
from tape_studio.core.run_state import label
from tape_studio.core.tape import TapeStatus
from tape_studio.studio.cli_debug import DEBUG_COMMANDS, add_breakpoint_options, add_debug_commands, breakpoints_of, pause_lines
from tape_studio.studio.cli_experiments import EXPERIMENT_COMMANDS, add_experiment_commands
from tape_studio.studio.cli_learning import LEARNING_COMMANDS, add_learning_commands
from tape_studio.studio.cli_traces import TRACE_COMMANDS, add_trace_commands
from tape_studio.studio.terminal import clean, error
from tape_studio.studio.words import plural

EXAMPLES = """\
examples:
  tape-studio                                   open the studio on the demo tapes
  tape-studio run --agent qa --task "What is the capital of France?"
  tape-studio fork TAPE_ID --at 2 --rerun       fork before step 2 and let the agent continue
  tape-studio fork TAPE_ID --at 2 --replace-step '{"kind": "tool_call", "tool": "lookup", "arguments": {"query": "Spain"}}' --rerun
  tape-studio list --status failed --json
  tape-studio run --agent qa --task "What is 17 times 23?" --approve-tool calculator   then: tape-studio approve TAPE_ID
  tape-studio export ID1 ID2 --out tapes.json && tape-studio import tapes.json
  tape-studio export --format sft --agent qa --successful --out sft.jsonl
  tape-studio import runs/                      TapeAgents tapes (JSON/YAML) with runs/tapedata.sqlite

environment: TAPE_STUDIO_HOME (data folder, default ~/.tape_studio), TAPE_STUDIO_MODEL (any litellm
model string, default local/smollm2), TAPE_STUDIO_LLM_MODE (live | cached | replay, default cached).
"""


def common_options(top_level: bool = False) -> argparse.ArgumentParser:
    """Options every command takes, before or after its name (`tape-studio --store S list` too).

    A subcommand's copy has no default of its own, so it never overwrites what was given before
    the subcommand's name."""
    default: Any = None if top_level else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="PATH", default=default,
                        help="SQLite store file, or a folder for FOLDER/store.sqlite (default: $TAPE_STUDIO_HOME/store.sqlite)")
    common.add_argument("--json", action="store_true", default=False if top_level else argparse.SUPPRESS,
                        help="print machine-readable JSON")
    common.add_argument("--agents", metavar="SOURCE", action="append", default=[] if top_level else argparse.SUPPRESS,
                        help="load agents, tools, node types and step kinds from a .py file or a module "
                             "(repeatable; also TAPE_STUDIO_AGENTS, [tool.tape-studio] agents, entry points)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    llm = argparse.ArgumentParser(add_help=False)
    llm.add_argument("--model", help="litellm model string, e.g. local/smollm2, openai/gpt-4o-mini, ollama/llama3")
    llm.add_argument("--llm-mode", choices=LLM_MODES, help="live: always call; cached: reuse answers (default); "
                     "replay: only recorded answers, a miss is an error")

    parser = argparse.ArgumentParser(
        prog="tape-studio", description="Agent sessions as tapes: run, fork, rerun and inspect LLM agents.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common_options(top_level=True)])
    parser.add_argument("--port", type=int, default=8501, help="studio port (default 8501)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve the studio on (default 127.0.0.1, this "
                        "machine only); any other needs the access token it prints")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    studio = sub.add_parser("studio", parents=[common], help="open the studio (the default)")
    studio.add_argument("--port", type=int, default=argparse.SUPPRESS, help="studio port (default 8501)")
    studio.add_argument("--host", default=argparse.SUPPRESS, help="address to serve on (default 127.0.0.1)")

    sub.add_parser("agents", parents=[common], help="list every loaded agent with its nodes, tools and source")

    p = sub.add_parser("run", parents=[common, llm], help="start a session of an agent on a task")
    p.add_argument("--agent", required=True, help="an agent's name (built-in qa, writer, explainer, or one loaded with "
                   "--agents), a spec id, or NAME@SPEC_ID")
    p.add_argument("--task", required=True)
    p.add_argument("--max-iterations", type=int, help="pause after this many moves (resume continues)")
    add_breakpoint_options(p)

    p = sub.add_parser("resume", parents=[common, llm], help="continue a stored tape from where it stopped")
    p.add_argument("tape_id")
    p.add_argument("--max-iterations", type=int)
    add_breakpoint_options(p)

    p = sub.add_parser("fork", parents=[common, llm], help="fork a tape at a step, optionally editing and rerunning")
    p.add_argument("tape_id")
    p.add_argument("--at", type=int, required=True, help="keep steps before this index")
    p.add_argument("--replace-step", action="append", metavar="JSON", default=[],
                   help="a step (JSON) to put at the fork point; repeat for several")
    p.add_argument("--rerun", action="store_true", help="let the agent continue the fork")

    p = sub.add_parser("show", parents=[common], help="print a stored tape as JSON")
    p.add_argument("tape_id")

    p = sub.add_parser("list", parents=[common], help="list stored tapes, newest first")
    p.add_argument("--agent")
    p.add_argument("--status", choices=get_args(TapeStatus))
    p.add_argument("--text", default="", help="substring of the title or any step")
    p.add_argument("--limit", type=int, default=50)

    p = sub.add_parser("import", parents=[common], help="import tape files (each whole or not at all): our bundles, "
                       "TapeAgents JSON/YAML (with tapedata.sqlite beside), our OTLP JSON")
    p.add_argument("paths", nargs="+", type=Path, help="files, or folders whose .json/.yaml files to import")
    p.add_argument("--max-file-mb", type=float, default=MAX_INPUT_BYTES / 2**20, metavar="MB",
                   help=f"refuse files larger than this (default {MAX_INPUT_BYTES // 2**20})")

    p = sub.add_parser("export", parents=[common], help="export tapes: a bundle with their LLM calls, fine-tuning "
                       "data (sft, dpo) or OpenTelemetry traces (otel)")
    p.add_argument("tape_ids", nargs="*", help="tapes to export (default: every tape that passes the filters)")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--format", choices=EXPORT_FORMATS, default="bundle",
                   help="bundle (default), sft (OpenAI chat JSONL), dpo (preference pairs from forks), otel (OTLP JSON, "
                   "GenAI conventions), openinference (OTLP JSON, OpenInference conventions, for Phoenix)")
    p.add_argument("--agent", help="only tapes of this agent")
    p.add_argument("--successful", action="store_true", help="only completed tapes without an error")
    p.add_argument("--min-score", type=float, help="only tapes scored at least this")
    p.add_argument("--tag", action="append", default=[], help="only tapes with this tag (repeatable)")

    add_learning_commands(sub, common, llm)
    add_trace_commands(sub, common, llm)
    add_debug_commands(sub, common, llm)
    add_experiment_commands(sub, common, llm)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with _exit_on_sigterm():
        return _dispatch(args)


@contextlib.contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """A plain `kill` ends the command as Ctrl+C would, through Python's cleanup: an export
    removes its temporary file, a store rolls back its open transaction."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "studio"
    try:
        _check_arguments(args)
        if command == "studio":
            from tape_studio.studio.launch import launch

            return launch(store=args.store, port=args.port, agents=args.agents, host=args.host)
        return COMMANDS[command](args)
    except TapeStudioError as exc:
        error(exc)
        return 2
    except sqlite3.Error as exc:  # a fault found while reading (a damaged page): the store is named
        from tape_studio.core.config import store_path
        from tape_studio.core.store_faults import describe

        error(describe(store_path(args.store), exc))
        return 2
    except KeyboardInterrupt:
        print("tape-studio: interrupted; resume with `tape-studio resume TAPE_ID`", file=sys.stderr)
        return 130


def _check_arguments(args: argparse.Namespace) -> None:
    """Text arguments must be UTF-8: Python keeps a bad byte as a lone surrogate, which no store holds."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                check_text(f"--{name.replace('_', '-')}", text)


def _workspace(args: argparse.Namespace) -> Any:
    from tape_studio.core.workspace import Workspace

    return Workspace(args.store, model=getattr(args, "model", None), mode=getattr(args, "llm_mode", None),
                     agents=args.agents)


def _step_row(index: int, step: Any) -> dict[str, Any]:
    meta = step.metadata
    return {"index": index, "kind": step.kind, "family": step.family, "node": meta.node,
            "prompt_id": meta.prompt_id, "text": step.summary()}


def _step_line(index: int, step: Any) -> str:
    return f"{index:>4}  {step.family:<11} {clean(step.metadata.node or '-'):<8} {clean(step.summary())}"


def _call_row(call: Any) -> dict[str, Any]:
    return {"prompt_id": call.prompt_id, "model": call.model, "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens, "latency_s": round(call.latency_s, 4),
            "cost": call.cost, "cached": call.cached, "error": call.error}


def _follow(events: Iterator[Event], as_json: bool) -> RunEnded:
    """Prints steps as they are made (unless JSON was asked for) and returns the final event."""
    ended: RunEnded | None = None
    for event in events:
        if isinstance(event, StepAdded) and not as_json:
            step = event.step
            print(_step_line(event.index, step), flush=True)
        elif isinstance(event, RunEnded):
            ended = event
    assert ended is not None
    return ended


def _report_run(ws: Any, ended: RunEnded, as_json: bool) -> int:
    tape = ended.tape
    calls = ws.store.calls_for_tape(tape.id)
    if as_json:
        print(json.dumps({
            "tape_id": tape.id, "status": tape.metadata.status, "error": tape.metadata.error,
            "result": tape.metadata.result, "new_llm_calls": ended.new_llm_calls,
            "steps": [_step_row(i, s) for i, s in enumerate(tape.steps)],
            "llm_calls": [_call_row(c) for c in calls],
            "pause": ended.pause.model_dump(mode="json") if ended.pause else None,
        }, indent=2))
    else:
        tokens = sum(c.prompt_tokens + c.completion_tokens for c in calls)
        status = label(tape.metadata.status)
        why = f" ({ended.reason})" if ended.reason != tape.metadata.status else ""  # "paused (stopped)", not "completed (completed)"
        print(f"tape {tape.id}: {status}{why}; {len(tape.steps)} steps, "
              f"{plural(len(calls), 'LLM call')} ({ended.new_llm_calls} new), {tokens} tokens")
        if tape.metadata.error:
            print(f"error: {clean(tape.metadata.error)}")
        if ended.pause is not None:
            index = ended.pause.step_index
            pending = tape.steps[index].summary() if index is not None and index < len(tape.steps) else ""
            for line in pause_lines(ended.pause, tape.id, pending):
                print(clean(line))
    return 1 if tape.metadata.status == "failed" else 0


def cmd_run(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    events = ws.run(args.agent, args.task, max_iterations=args.max_iterations, breakpoints=breakpoints_of(args))
    return _report_run(ws, _follow(events, args.json), args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    events = ws.resume(args.tape_id, max_iterations=args.max_iterations, breakpoints=breakpoints_of(args))
    return _report_run(ws, _follow(events, args.json), args.json)


def cmd_fork(args: argparse.Namespace) -> int:
    from tape_studio.core.errors import InputError

    ws = _workspace(args)
    replacement = []
    for n, text in enumerate(args.replace_step):
        try:
            replacement.append(json.loads(text))
        except json.JSONDecodeError as exc:
            raise InputError(f"--replace-step #{n + 1}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    fork = ws.fork(args.tape_id, args.at, replacement)
    status, new_calls, error = fork.metadata.status, 0, ""
    if args.rerun:
        ended = _follow(ws.resume(fork.id), args.json)
        status, new_calls, error = ended.tape.metadata.status, ended.new_llm_calls, ended.tape.metadata.error
    result = {"tape_id": fork.id, "parent_id": fork.metadata.parent_id, "fork_step": fork.metadata.fork_step,
              "new_llm_calls": new_calls, "status": status, "error": error}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"fork {fork.id} of {clean(args.tape_id)} at step {args.at}: {status}, {new_calls} new LLM calls")
    return 1 if status == "failed" else 0


def cmd_show(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    tape = ws.store.load_tape(args.tape_id)
    if args.json:
        print(tape.model_dump_json(indent=2))
        return 0
    meta = tape.metadata
    print(f"tape {tape.id}  agent={clean(meta.agent)} status={meta.status} parent={clean(meta.parent_id or '-')}")
    print(f"title: {clean(meta.title)}")
    for index, step in enumerate(tape.steps):
        print(_step_line(index, step))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from tape_studio.core.store import TapeFilter

    ws = _workspace(args)
    rows = ws.store.list_tapes(TapeFilter(agent=args.agent, status=args.status, text=args.text, limit=args.limit))
    if args.json:
        print(json.dumps([row.model_dump(mode="json") for row in rows], indent=2))
        return 0
    if not rows:
        print("no tapes yet; start one with: tape-studio run --agent qa --task \"What is the capital of France?\"")
    for row in rows:
        fork = f" fork of {clean(row.parent_id[:8])}@{row.fork_step}" if row.parent_id else ""
        print(f"{clean(row.id)}  {clean(row.agent):<9} {label(row.status):<11} {row.n_steps:>4} steps  {clean(row.title[:60])}{fork}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    ws = _workspace(args)
    failures, reports = 0, []
    for path in _import_paths(args.paths):
        try:
            report = ws.import_file(path, max_bytes=int(args.max_file_mb * 2**20))
        except TapeStudioError as exc:
            failures += 1
            error(exc)
            continue
        reports.append(report)
        if not args.json:
            print(f"{clean(path)}: imported {len(report.imported)} tapes ({report.steps} steps, {report.llm_calls} LLM calls)"
                  + (f", {len(report.skipped_existing)} already present" if report.skipped_existing else "")
                  + (f", {len(report.updated)} updated" if report.updated else ""))
            if report.fidelity is not None:
                print(f"  {clean(report.fidelity.summary())}")
                print("".join(f"  repaired: {clean(line)}\n" for line in report.fidelity.repairs), end="")
    if args.json:
        print(json.dumps({"imported": [r.model_dump() for r in reports], "failed_files": failures}, indent=2))
    return 1 if failures else 0


def _import_paths(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for its tape files (TapeAgents keeps many beside one sqlite)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in (".json", ".jsonl", ".eval", ".yaml", ".yml"))
        else:
            found.append(path)
    return found


def cmd_export(args: argparse.Namespace) -> int:
    from tape_studio.core.interop.exporting import TapeSelection

    ws = _workspace(args)
    selection = TapeSelection(ids=args.tape_ids, agent=args.agent, successful=args.successful,
                              min_score=args.min_score, tags=args.tag)
    report = ws.export_data(selection, args.format, args.out)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    print(f"wrote {clean(args.out)}: {clean(report.summary())}")
    for skipped in report.skipped:
        print(f"  not exported: tape {clean(skipped.tape_id)} steps {skipped.steps}: {clean(skipped.reason)}")
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    from tape_studio.core.catalog import agent_source

    ws = _workspace(args)
    rows = [{"name": spec.name, "spec_id": spec.id, "source": agent_source(spec.name),
             "nodes": [f"{node.name}:{node.type}" for node in spec.nodes],
             "tools": sorted({tool for node in spec.nodes for tool in node.tools}), "description": spec.description}
            for spec in ws.agents()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(clean(f"{row['name']:<12} {row['spec_id']:<22} {row['source']}"))
        print(clean(f"{'':<12} nodes {', '.join(row['nodes'])}" + (f" · tools {', '.join(row['tools'])}" if row["tools"] else "")))
    return 0


COMMANDS = {"agents": cmd_agents, "run": cmd_run, "resume": cmd_resume, "fork": cmd_fork, "show": cmd_show, "list": cmd_list,
            "import": cmd_import, "export": cmd_export}
COMMANDS.update(LEARNING_COMMANDS)
COMMANDS.update(TRACE_COMMANDS)
COMMANDS.update(DEBUG_COMMANDS)
COMMANDS.update(EXPERIMENT_COMMANDS)

if __name__ == "__main__":
    sys.exit(main())
