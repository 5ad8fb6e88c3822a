"""Records demo_tapes/training/: one real training run of the qa agent with the embedded model.

Run it after changing a learning prompt or the qa agent; the Train page shows this run on a fresh
store. Usage: python scripts/make_demo_training.py [--out demo_tapes/training] [--epochs 2] [--batch 8]
[--store FOLDER] [--threads N]

Defaults are the recorded run's settings (see the README's training section for the figures).
--threads sets TAPE_STUDIO_MODEL_THREADS for this run (the default leaves one core free: llama.cpp's
threads spin while they wait for each other, so two of them on two shared cores were measured
5-10x slower than one).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from tape_studio.core.learning.bundle import export_run
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Progress, Trainer
from tape_studio.core.workspace import Workspace


def report(progress: Progress) -> None:
    print(f"  [{progress.done}/{progress.total}] {progress.phase}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "demo_tapes" / "training")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--optimizers", default="demos", help="comma list (default: demos; see the README for why)")
    parser.add_argument("--store", type=Path, default=None,
                        help="store folder to use (its cache answers calls already made, e.g. by tape-studio eval)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads for the embedded model")
    args = parser.parse_args()
    if args.threads:
        from tape_studio.core.local_model import THREADS_VARIABLE

        os.environ[THREADS_VARIABLE] = str(args.threads)
    folder = args.store or Path(tempfile.mkdtemp(prefix="tape-demo-training-"))
    ws = Workspace(folder / "store.sqlite", mode="cached")
    # Default settings but epochs and minibatch size: what a user gets from `tape-studio train`.
    config = TrainConfig(agent="qa", dataset="qa", epochs=args.epochs, batch_size=args.batch,
                         optimizers=tuple(args.optimizers.split(",")))
    trainer = Trainer(ws, on_progress=report)
    started = time.perf_counter()
    run = trainer.run(trainer.start(config).id)
    summary = run.summary or {}
    print(f"run {run.id}: {run.status} in {time.perf_counter() - started:.0f} s; v0 val {summary['v0']} → "
          f"best {summary['best_spec_id']} val {summary['best_val']}; test {summary['test']}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.json"):
        old.unlink()
    path = args.out / f"qa-{args.epochs}-epochs-batch-{args.batch}.json"
    tapes = export_run(ws.store, run.id, path)
    print(f"wrote {path} ({tapes} tapes, {path.stat().st_size // 1024} KiB)", file=sys.stderr)
    return 0 if run.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
