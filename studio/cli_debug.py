"""Breakpoints on `run`/`resume`, and the `approve` subcommand that decides a paused run.

A run started with `--break-before NODE` or `--approve-tool TOOL` (or whose spec lists
`approve_tools`) stops `awaiting approval` before that step; `tape-studio approve TAPE_ID` lets it
go on, `--reject REASON` tells the agent no, `--edit JSON` runs an edited tool call on a fork.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from tape_studio.core.approvals import Breakpoints, Pause

APPROVE_EXAMPLES = """\
examples:
  tape-studio run --agent qa --task "What is 17 times 23?" --approve-tool calculator
  tape-studio approve TAPE_ID                          run the pending step as the model wrote it
  tape-studio approve TAPE_ID --reject "use lookup"    the agent reads the reason as the tool's result
  tape-studio approve TAPE_ID --edit '{"tool": "calculator", "arguments": {"expression": "17*23"}}'
"""


def add_breakpoint_options(parser: argparse.ArgumentParser) -> None:
    """The flags that make this run pause for approval (added to `run` and `resume`)."""
    parser.add_argument("--break-before", action="append", default=[], metavar="NODE",
                        help="pause before each visit of this node (repeatable); decide with `tape-studio approve`")
    parser.add_argument("--approve-tool", action="append", default=[], metavar="TOOL",
                        help="pause before each call of this tool, '*' for every tool (repeatable)")


def breakpoints_of(args: argparse.Namespace) -> Breakpoints | None:
    points = Breakpoints(nodes=tuple(getattr(args, "break_before", ())), tools=tuple(getattr(args, "approve_tool", ())))
    return points or None


def pause_lines(pause: Pause, tape_id: str, pending: str) -> list[str]:
    """What a terminal says about a run awaiting approval: what waits, and the three ways on."""
    lines = [f"awaiting approval {pause.describe()}"]
    if pending:
        lines.append(f"pending: {pending}")
    lines.append(f"decide: tape-studio approve {tape_id} [--reject REASON" + (" | --edit JSON]" if pause.before == "tool"
                                                                                else "]"))
    return lines


def add_debug_commands(sub: Any, common: argparse.ArgumentParser, llm: argparse.ArgumentParser) -> None:
    p = sub.add_parser("approve", parents=[common, llm], help="decide a run awaiting approval, and let it go on",
                       description="Approves, rejects or edits the step a paused run waits on, then continues the run "
                       "(to its end or its next pause). The decision is kept on the store, so the studio sees it too.",
                       epilog=APPROVE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tape_id")
    decision = p.add_mutually_exclusive_group()
    decision.add_argument("--reject", metavar="REASON", help="refuse: the agent reads REASON and goes on")
    decision.add_argument("--edit", metavar="JSON", help="run this tool call instead (on a fork, edited_by: user)")
    p.add_argument("--no-run", action="store_true", help="record the decision only; continue later with `resume`")
    p.add_argument("--max-iterations", type=int, help="pause again after this many moves")


def cmd_approve(args: argparse.Namespace) -> int:
    from tape_studio.core import approvals
    from tape_studio.studio.cli import _follow, _report_run, _workspace
    from tape_studio.studio.terminal import clean

    ws = _workspace(args)
    tape_id = args.tape_id
    if args.edit is not None:
        fork = approvals.edit(ws, tape_id, approvals.parse_edit(args.edit))
        tape_id, said = fork.id, f"edited on fork {fork.id}: {fork.steps[-1].summary()}"
    elif args.reject is not None:
        said = f"rejected: {approvals.reject(ws.store, tape_id, args.reject).summary()}"
    else:
        pause = approvals.approve(ws.store, tape_id)
        said = f"approved {pause.describe()}"
    if not args.json:
        print(clean(said))
    if args.no_run:
        if args.json:
            print(json.dumps({"tape_id": tape_id, "status": ws.store.summary(tape_id).status, "decision": said}))
        return 0
    events = ws.resume(tape_id, max_iterations=args.max_iterations)
    return _report_run(ws, _follow(events, args.json), args.json)


DEBUG_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"approve": cmd_approve}
