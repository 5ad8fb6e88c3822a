"""A process for the kill test: makes tapes and an experiment, or runs it on a slow fake model.

    experiment_runner.py setup STORE        six qa tapes and a planned experiment; prints its id
    experiment_runner.py run STORE EXP_ID   runs (or resumes) it; every request the fake answers is
                                            appended to STORE.calls, one hash per line
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tape_studio.core.experiments import Experiment, Selection, create_experiment, parse_rule, run_experiment
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.learning.fake_roles import ROLE_ANSWERS, agent_role
from tape_studio.core.loop import run_to_end
from tape_studio.core.workspace import Workspace

QUESTIONS = tuple(f"What is {n} times {n + 3}?" for n in range(2, 8))
RULE = {"node": "plan", "rules": ["Always calculate arithmetic with the calculator."]}


def workspace(store: str, latency_s: float, log: Path | None) -> Workspace:
    def respond(messages: list, params: dict) -> str:
        output = ROLE_ANSWERS[agent_role(str(messages[0].get("content", "")))](messages)
        if log is not None:
            with log.open("a") as handle:
                handle.write(hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest() + "\n")
        return output

    return Workspace(Path(store), model=register_fake("kill-run", respond, latency_s), mode="cached")


def main(argv: list[str]) -> None:
    command, store = argv[0], argv[1]
    if command == "setup":
        ws = workspace(store, 0.0, None)
        spec = ws.spec("qa")
        ids = []
        for question in QUESTIONS:
            tape = ws.new_tape(spec, question).model_copy(update={"context": {"target": str(eval(question[8:-1].replace("times", "*")))}})
            agent = ws.agent(spec)
            ids.append(run_to_end(agent, ws.environment(agent), tape, ws.store).tape.id)
        experiment = Experiment(selection=Selection(ids=tuple(ids)), rule=parse_rule(RULE), scorer="exact", workers=2)
        print(create_experiment(ws, experiment)[0].id, flush=True)
    elif command == "run":
        ws = workspace(store, 0.25, Path(store + ".calls"))
        print("ready", flush=True)
        print(run_experiment(ws, argv[2]).status, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
