"""A process for the crash tests to kill: runs sessions or a training run on a slow fake model.

    crash_runner.py run STORE N_TASKS      N qa sessions, one after another
    crash_runner.py resume STORE           continue every tape that is not finished
    crash_runner.py train STORE [RUN_ID]   start (or resume) a small training run; prints its id first
    crash_runner.py import STORE FILE...   import bundle files one by one
    crash_runner.py cli STORE ARGS...      the `tape-studio` command itself, with the slow fake as `fake/crash`
    crash_runner.py train-ray STORE ADDRESS [RUN_ID]   `train` with forward passes on the Ray cluster at ADDRESS

The fake answers after a delay so that a kill lands mid-run; it prints `ready` when imports are
done, so the test's random kill delay measures work, not interpreter start-up.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from tape_studio.core.executor import ExecutorChoice
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.llm import _load_litellm
from tape_studio.core.workspace import Workspace

# 0.1 s a call: the in-process fake has no litellm overhead, so a shorter delay finishes before most kills.
LATENCY_S = float(os.environ.get("CRASH_RUNNER_LATENCY_S", "0.1"))
QUESTIONS = ("What is 12 times 7?", "What is the capital of France?", "Who wrote Hamlet?", "What is 9 plus 4?")
CONFIG = TrainConfig(agent="qa", dataset="qa-mini", epochs=1, batch_size=4, workers=2, evaluate_test=False)


def workspace(store: str) -> Workspace:
    return Workspace(Path(store), model=register_learning_fake("crash", latency_s=LATENCY_S), mode="live")


def main(argv: list[str]) -> None:
    command, store = argv[0], argv[1]
    ws = workspace(store)
    _load_litellm()
    print("ready", flush=True)
    if command == "run":
        for n in range(int(argv[2])):
            for _ in ws.run("qa", QUESTIONS[n % len(QUESTIONS)]):
                pass
    elif command == "resume":
        for tape in ws.store.list_tapes():
            for _ in ws.resume(tape.id):
                pass
    elif command in ("train", "train-ray"):
        trainer = Trainer(ws, executor=_ray(argv[2]) if command == "train-ray" else None)
        given = argv[3:] if command == "train-ray" else argv[2:]
        run_id = given[0] if given else trainer.start(CONFIG).id
        print(run_id, flush=True)
        trainer.run(run_id)
        print(rec.load_run(ws.store, run_id).status, flush=True)
    elif command == "import":
        for name in argv[2:]:
            ws.import_file(Path(name))
    elif command == "cli":
        from tape_studio.studio.cli import main as cli

        sys.exit(cli([*argv[2:], "--store", store]))


def _ray(address: str) -> ExecutorChoice:
    # Ray's tasks run in processes of their own, which must register the fake there too.
    return ExecutorChoice(kind="ray", address=address, setup=functools.partial(register_learning_fake, "crash",
                                                                                 latency_s=LATENCY_S))


if __name__ == "__main__":
    main(sys.argv[1:])
