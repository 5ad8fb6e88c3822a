"""The `collect` and `reask` subcommands of `tape-studio`: traces from other tools, and re-asking a model.

`collect` serves OTLP/HTTP so instrumented apps appear as tapes while they run (`--studio` opens
the studio on the same store beside it); `reask` sends a recorded model request again, edited or
to another model, and keeps the answer as a fork.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.studio.terminal import clean

COLLECT_EXAMPLES = """\
examples:
  tape-studio collect                                serve OTLP/HTTP on 127.0.0.1:4318
  tape-studio collect --studio                       ... and open the studio on the same store
  OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python my_agent.py      (in another terminal)
"""
REASK_EXAMPLES = """\
examples:
  tape-studio reask TAPE_ID --at 3 --show            print the recorded request of step 3 as JSON
  tape-studio reask TAPE_ID --at 3                   ask the same model again; the answer is a fork
  tape-studio reask TAPE_ID --at 3 --model openai/gpt-4o-mini
  tape-studio reask TAPE_ID --at 3 --edit-messages '[{"role": "user", "content": "Be brief."}]'
"""
def add_trace_commands(sub: Any, common: argparse.ArgumentParser, llm: argparse.ArgumentParser) -> None:
    from tape_studio.core.interop.traces.receiver import DEFAULT_HOST, DEFAULT_PORT

    p = sub.add_parser("collect", parents=[common], help="receive OpenTelemetry (OTLP/HTTP) from instrumented apps",
                       description="Serves POST /v1/traces and /v1/logs (protobuf or JSON, gzip) and turns spans "
                       "into tapes as they arrive: one tape per trace, or per session.id / gen_ai.conversation.id.",
                       epilog=COLLECT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST}: this machine only)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}, OTLP/HTTP's)")
    p.add_argument("--studio", action="store_true", help="also open the studio on the same store")
    p.add_argument("--studio-port", type=int, default=8501)

    p = sub.add_parser("reask", parents=[common, llm], help="ask the model of a recorded step again; the answer is a fork",
                       epilog=REASK_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("tape_id")
    p.add_argument("--at", type=int, required=True, help="index of a step a model made")
    p.add_argument("--edit-messages", metavar="JSON", help="the messages to send instead (a JSON list)")
    p.add_argument("--edit-tools", metavar="JSON", help="the tool schemas to send instead (a JSON list, or null)")
    p.add_argument("--edit-params", metavar="JSON", help="parameters to change (a JSON object merged over the recorded)")
    p.add_argument("--show", action="store_true", help="print the request that would be sent, and send nothing")


def cmd_collect(args: argparse.Namespace) -> int:
    from tape_studio.core.interop.traces.receiver import Receiver
    from tape_studio.core.workspace import Workspace

    ws = Workspace(args.store, agents=args.agents)
    printer = _BatchPrinter(ws, args.json)
    try:
        receiver = Receiver(ws.store, host=args.host, port=args.port, on_batch=printer.batch, on_reject=printer.reject)
    except OSError as exc:
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    url = receiver.start()
    print(f"receiving OTLP/HTTP on {url}/v1/traces and /v1/logs (store: {ws.store.path}); "
          f"set OTEL_EXPORTER_OTLP_ENDPOINT={url}; Ctrl+C to stop", file=sys.stderr, flush=True)
    try:
        if args.studio:
            from tape_studio.studio.launch import launch

            return launch(store=str(ws.store.path), port=args.studio_port, agents=args.agents)
        receiver.wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
        print(f"received {receiver.stats.spans} new spans, {receiver.stats.logs} log records "
              f"({receiver.stats.rejected} requests rejected)", file=sys.stderr)
    return 0


class _BatchPrinter:
    """One line per tape a batch changed (or one JSON object per batch)."""

    def __init__(self, ws: Any, as_json: bool) -> None:
        self.ws, self.as_json = ws, as_json

    def batch(self, report: Any) -> None:
        if self.as_json:
            print(report.model_dump_json(), flush=True)
            return
        for tape_id in report.tapes:
            row = self.ws.store.summary(tape_id)
            print(f"{tape_id}  {row.status:<9} {row.n_steps:>4} steps  {row.n_llm_calls:>3} calls  "
                  f"{clean(row.agent)[:20]:<20} {clean(row.title)[:60]}", flush=True)

    def reject(self, reason: str) -> None:
        print(f"rejected: {clean(reason)}", file=sys.stderr, flush=True)


def cmd_reask(args: argparse.Namespace) -> int:
    from tape_studio.core.reask import RequestEdit, recorded_request, reask
    from tape_studio.core.workspace import Workspace

    ws = Workspace(args.store, model=args.model, mode=args.llm_mode, agents=args.agents)
    edit = RequestEdit(model=args.model, messages=_json_arg("--edit-messages", args.edit_messages, list),
                       tools=_json_arg("--edit-tools", args.edit_tools, (list, type(None))),
                       params=_json_arg("--edit-params", args.edit_params, dict))
    if args.show:
        request = recorded_request(ws, args.tape_id, args.at, edit)
        print(request.model_dump_json(indent=2))
        return 0
    result = reask(ws, args.tape_id, args.at, edit)
    fork, call = result.tape, result.call
    if args.json:
        print(json.dumps({"tape_id": fork.id, "parent_id": fork.metadata.parent_id, "fork_step": fork.metadata.fork_step,
                          "model": call.model, "cached": call.cached, "error": call.error,
                          "steps": [{"index": i, "kind": s.kind, "text": s.summary()} for i, s in
                                    enumerate(fork.steps) if i >= (fork.metadata.fork_step or 0)]}, indent=2))
        return 1 if call.error else 0
    for index in range(fork.metadata.fork_step or 0, len(fork.steps)):
        step = fork.steps[index]
        print(f"{index:>4}  {step.family:<11} {clean(step.summary())}")
    source = "the cache" if call.cached else call.model
    print(f"fork {fork.id} of {args.tape_id} at step {fork.metadata.fork_step}: answered by {source}, "
          f"{call.prompt_tokens + call.completion_tokens} tokens" + (f"; error: {call.error}" if call.error else ""))
    return 1 if call.error else 0


def _json_arg(flag: str, text: str | None, kind: Any) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{flag}: invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(value, kind):
        raise InputError(f"{flag}: expected {'a list' if kind is list else 'an object' if kind is dict else 'a list or null'}")
    return value if value is not None else []


TRACE_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"collect": cmd_collect, "reask": cmd_reask}
