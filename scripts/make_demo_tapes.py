"""Regenerates demo_tapes/ by running the built-in agents with the embedded model.

Run it after changing a built-in agent's prompts: the replay tests check that the demo tapes were
made by the current specs. Usage: python scripts/make_demo_tapes.py [--out demo_tapes]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from tape_studio.core.loop import RunEnded
from tape_studio.core.workspace import Workspace

QA_TASKS = [
    "What is the capital of France?",
    "What is the capital of Japan?",
    "What is the chemical symbol of gold?",
    "Who painted the Mona Lisa?",
    "What is the largest planet in the solar system?",
    "What is 17 times 23?",
]
WRITER_TASKS = ["A two-line poem about rivers", "A short thank-you note to a colleague who fixed a bug"]
TEAM_TASKS = ["What is the capital of Japan?"]


def finish(events) -> str:
    ended = [event for event in events if isinstance(event, RunEnded)][-1]
    meta = ended.tape.metadata
    print(f"  {meta.agent:<9} {meta.status:<9} {len(ended.tape.steps)} steps  {meta.title}", file=sys.stderr)
    return ended.tape.id


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "demo_tapes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tape-demo-"))
    ws = Workspace(work / "store.sqlite", mode="live")
    families: dict[str, list[str]] = {}

    for task in QA_TASKS:
        families[f"qa-{slug(task)}"] = [finish(ws.run("qa", task))]
    # The fork family: the model looked up an arithmetic question; a person replaces the action
    # with a calculator call and reruns, and an unchanged fork shows a free (cached) rerun.
    arithmetic = families["qa-what-is-17-times-23"][0]
    fixed = ws.fork(arithmetic, 2, [{"kind": "tool_call", "tool": "calculator", "arguments": {"expression": "17*23"}}])
    families["qa-what-is-17-times-23"].append(finish(ws.resume(fixed.id)))
    unchanged = ws.fork(arithmetic, 2)
    families["qa-what-is-17-times-23"].append(finish(ws.resume(unchanged.id)))

    for task in WRITER_TASKS:
        families[f"writer-{slug(task)}"] = [finish(ws.run("writer", task))]
    for task in TEAM_TASKS:
        families[f"explainer-{slug(task)}"] = [finish(ws.run("explainer", task))]
    # A failed session: the model name has a typo, so the first call fails and says why.
    typo = Workspace(work / "store.sqlite", model="local/smollm3", mode="live")
    families["qa-failed-misnamed-model"] = [finish(typo.run("qa", "What is the capital of Italy?"))]

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.json"):
        old.unlink()
    for name, tape_ids in families.items():
        ws.export(tape_ids, args.out / f"{name}.json")
    print(f"wrote {sum(map(len, families.values()))} tapes in {len(families)} files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
